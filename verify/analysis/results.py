"""Result objects with fixed statuses (DESIGN.md, habit 6), frozen once made.

A solver's ``unknown`` or a timeout is :attr:`Status.UNKNOWN`, never a verdict. Witnesses and
counterexamples stored here have been re-run by the exact evaluator before the result was made. A
result is never changed after it is made: a later step that knows more (the total time of a chain, a
reduction's note) makes a new one with :func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..domain import Box, RealSpace
from ..numbers import to_text
from ..status import Status

__all__ = ["ExactnessResult", "ErrorResult", "SupResult", "EXIT_CODES"]


# CLI exit codes: 0 ok/proved, 1 refuted, 2 bad input or usage, 3 unknown/timeout.
EXIT_CODES = {Status.PROVED: 0, Status.REFUTED: 1, Status.UNKNOWN: 3}


def _vec(x) -> list[str] | None:
    return None if x is None else [to_text(v) for v in x]


def _num(v) -> str | None:
    return None if v is None else to_text(v)


@dataclass(frozen=True)
class ExactnessResult:
    """Outcome of ``N == reference`` on a domain.

    For REFUTED, ``counterexample`` is an exact rational point where the exact evaluator found
    ``network_value != reference_value`` on output ``output_index``.
    """

    status: Status
    domain: Box | RealSpace
    seconds: float
    counterexample: tuple[Fraction, ...] | None = None
    output_index: int | None = None
    network_value: Fraction | None = None
    reference_value: Fraction | None = None
    reason: str = ""
    backend: str = "z3"
    query: str = "exact"
    proved_outputs: tuple[int, ...] = ()  # with UNKNOWN: the outputs already proved equal before it stopped
    # with UNKNOWN from the engine: a sound bound of max_o |f_o - g_o| on the box it searched
    # (on R^d, [-1, 1]^d: by positive homogeneity the difference is at most upper * max |x_i|)
    upper: Fraction | None = None
    stats: dict = field(default_factory=dict, compare=False)
    # What a PROVED result rests on when its route makes its own certificate kind (e.g. the arrangement
    # proof of verify.analysis.arrangement); verify.certificates.certificate_for reads it.
    proof: Any = field(default=None, compare=False, repr=False)

    def __bool__(self) -> bool:
        return self.status is Status.PROVED

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "status": self.status.value,
            "domain": self.domain.to_json(),
            "counterexample": _vec(self.counterexample),
            "output_index": self.output_index,
            "network_value": _num(self.network_value),
            "reference_value": _num(self.reference_value),
            "proved_outputs": list(self.proved_outputs),
            "upper": _num(self.upper),
            "seconds": round(self.seconds, 6),
            "backend": self.backend,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ErrorResult:
    """Exact worst-case errors of a network against max on a box.

    ``sup_over`` = sup (N - max), ``sup_under`` = sup (max - N), ``sup_abs`` the larger. Each comes with
    a witness in the box at which the exact evaluator attains it. With status UNKNOWN (a timeout),
    the values are the best lower bounds found (still attained at their witnesses) and
    ``upper_over`` / ``upper_under`` hold sound upper bounds.
    """

    status: Status
    domain: Box
    seconds: float
    sup_over: Fraction
    sup_under: Fraction
    witness_over: tuple[Fraction, ...]
    witness_under: tuple[Fraction, ...]
    output_over: int = 0
    output_under: int = 0
    upper_over: Fraction | None = None
    upper_under: Fraction | None = None
    reason: str = ""
    backend: str = "z3"
    stats: dict = field(default_factory=dict)
    # What a PROVED answer rests on when its route has its own certificate kind (the engine's closed trees,
    # verify.engine.certificate); verify.certificates.certificate_for reads it.
    proof: Any = field(default=None, compare=False, repr=False)

    @property
    def sup_abs(self) -> Fraction:
        return max(self.sup_over, self.sup_under)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": "error",
            "status": self.status.value,
            "domain": self.domain.to_json(),
            "sup_over": to_text(self.sup_over),
            "sup_under": to_text(self.sup_under),
            "sup_abs": to_text(self.sup_abs),
            "witness_over": _vec(self.witness_over),
            "witness_under": _vec(self.witness_under),
            "output_over": self.output_over,
            "output_under": self.output_under,
            "upper_over": _num(self.upper_over),
            "upper_under": _num(self.upper_under),
            "seconds": round(self.seconds, 6),
            "backend": self.backend,
            "reason": self.reason,
            "stats": self.stats,
        }


@dataclass(frozen=True)
class SupResult:
    """``sup_{x in box} max_o (f_o(x) - g_o(x))`` (one side of a worst-case error or difference).

    ``value`` is attained at ``witness`` on output ``output`` (checked by exact evaluation); PROVED means
    no point of the box exceeds it, UNKNOWN that the search stopped (``upper`` is then a sound upper
    bound, ``reason`` says why).
    """

    status: Status
    value: Fraction
    witness: tuple[Fraction, ...]
    output: int
    upper: Fraction
    stats: dict = field(default_factory=dict, compare=False)
    reason: str = ""
    proof: Any = field(default=None, compare=False, repr=False)  # e.g. verify.engine.certificate.SideTrees

