"""Query domains: an axis-aligned box with rational ends, or all of R^d.

Every query states its domain and reports it in its result (DESIGN.md, exactness rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from .errors import DomainError
from .numbers import parse_rational, to_text

__all__ = ["Box", "RealSpace", "Domain", "parse_box"]


@dataclass(frozen=True)
class Box:
    """The box ``prod_i [lo_i, hi_i]`` with exact rational ends (``lo_i <= hi_i``)."""

    lo: tuple[Fraction, ...]
    hi: tuple[Fraction, ...]

    def __post_init__(self):
        if len(self.lo) != len(self.hi) or not self.lo:
            raise DomainError("box ends must be two non-empty lists of the same length")
        for i, (a, b) in enumerate(zip(self.lo, self.hi)):
            if not isinstance(a, Fraction) or not isinstance(b, Fraction):
                raise DomainError(f"box coordinate {i}: ends must be exact rationals")
            if a > b:
                raise DomainError(f"box coordinate {i}: LO {to_text(a)} > HI {to_text(b)}")

    @classmethod
    def cube(cls, d: int, lo=0, hi=1) -> "Box":
        """``[lo, hi]^d``."""
        lo, hi = Fraction(lo), Fraction(hi)
        return cls((lo,) * d, (hi,) * d)

    @property
    def dim(self) -> int:
        return len(self.lo)

    def contains(self, x: Sequence[Fraction]) -> bool:
        return len(x) == self.dim and all(a <= v <= b for a, v, b in zip(self.lo, x, self.hi))

    def center(self) -> tuple[Fraction, ...]:
        return tuple((a + b) / 2 for a, b in zip(self.lo, self.hi))

    def describe(self) -> str:
        if len(set(self.lo)) == 1 and len(set(self.hi)) == 1:
            return f"[{to_text(self.lo[0])},{to_text(self.hi[0])}]^{self.dim}"
        return " x ".join(f"[{to_text(a)},{to_text(b)}]" for a, b in zip(self.lo, self.hi))

    def to_json(self) -> dict:
        return {"kind": "box", "lo": [to_text(v) for v in self.lo], "hi": [to_text(v) for v in self.hi]}


@dataclass(frozen=True)
class RealSpace:
    """All of R^d."""

    dim: int

    def contains(self, x: Sequence[Fraction]) -> bool:
        return len(x) == self.dim

    def describe(self) -> str:
        return f"R^{self.dim}"

    def to_json(self) -> dict:
        return {"kind": "reals", "dim": self.dim}


Domain = Box | RealSpace


def parse_box(text: str, dim: int) -> Box:
    """Parse the CLI syntax ``LO,HI`` (the same interval on every coordinate) into a :class:`Box`.

    ``LO`` and ``HI`` are exact decimals or fractions (``"0,1"``, ``"-1/2,0.5"``).
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2 or not all(parts):
        raise DomainError(f"box {text!r}: expected LO,HI (two numbers separated by a comma)")
    try:
        lo, hi = (parse_rational(p) for p in parts)
    except ValueError as exc:
        raise DomainError(f"box {text!r}: {exc}") from None
    if lo > hi:
        raise DomainError(f"box {text!r}: LO > HI")
    return Box.cube(dim, lo, hi)


def domain_from_json(data: dict) -> Domain:
    """Inverse of ``to_json`` of a domain."""
    try:
        if data["kind"] == "box":
            return Box(tuple(parse_rational(v) for v in data["lo"]), tuple(parse_rational(v) for v in data["hi"]))
        if data["kind"] == "reals":
            return RealSpace(int(data["dim"]))
    except (KeyError, TypeError, ValueError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise DomainError(f"malformed domain: {what}") from None
    kind = data.get("kind") if isinstance(data, dict) else None
    raise DomainError(f"unknown domain kind {kind if isinstance(kind, str) else 'that is not a string'!r}")
