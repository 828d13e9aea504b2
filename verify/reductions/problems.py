"""The problems the reductions rewrite and the solvers answer (frozen: a problem never changes).

* :class:`Equivalence`: decide ``f(x) == g(x)`` for every ``x`` of a domain (a box or all of R^d); answered
  by an :class:`~verify.analysis.results.ExactnessResult`. ``query`` names it in results ("exact" when
  ``g`` is the max reference of ``f``).
* :class:`Supremum`: ``sup { sign * (f_o(x) - g_o(x)) : x in box, a . x <= b for (a, b) in constraints }``
  for one output ``o``; answered by a :class:`~verify.backends.milp.MaxResult` (witness on ``f`` and ``g``).
* :class:`Maximize`: ``sup { net(x) : x in box, a . x <= b }`` for a ReLU-only network with one output,
  with ``floor`` (only values above it matter) and ``stop_above`` (stop at the first exact point above
  it); answered by a :class:`~verify.backends.milp.MaxResult`. This is the last step of every
  optimisation chain, and its solver is pluggable (``verify.reductions.auto.MAXIMIZER``).

Constraints are ``(dict input index -> Fraction, Fraction)`` pairs meaning ``sum_i a_i x_i <= b``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..domain import Box, RealSpace
from ..ir.graph import Network

__all__ = ["Equivalence", "Supremum", "Maximize"]


@dataclass(frozen=True)
class Equivalence:
    f: Network
    g: Network
    domain: Box | RealSpace
    query: str = "equivalent"


@dataclass(frozen=True)
class Supremum:
    f: Network
    g: Network
    box: Box
    output: int = 0
    sign: int = 1
    constraints: tuple = ()
    floor: Fraction | None = None
    stop_above: Fraction | None = None
    samples: int = 256
    seed: int = 0


@dataclass(frozen=True)
class Maximize:
    net: Network
    box: Box
    constraints: tuple = ()
    floor: Fraction | None = None
    stop_above: Fraction | None = None
    samples: int = 256
    seed: int = 0
