"""Exact rational numbers read from text, and their exact text form.

A number in a network file is read from its decimal or fraction text exactly: ``"0.1"`` is 1/10,
never the nearest binary float. Binary floats (from numpy, torch, ONNX) are converted exactly with
:func:`from_float`, since every finite float is a dyadic rational.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from numbers import Rational
from typing import Any

__all__ = ["parse_rational", "from_float", "to_text", "smt_number", "near_dyadic", "MAX_EXPONENT", "MAX_DIGITS"]

# Exponents beyond this are refused: "1e999999999" would otherwise build a gigantic integer.
MAX_EXPONENT = 400
# Numbers written with more digits than this are refused (Python itself refuses int() of more than
# 4300 digits, with a message about sys.set_int_max_str_digits that means nothing to a user).
MAX_DIGITS = 4000


def check_digits(text: str) -> None:
    """Refuse number text with more than :data:`MAX_DIGITS` digits (``ValueError``)."""
    n = sum(c.isdigit() for c in text)
    if n > MAX_DIGITS:
        raise ValueError(f"number with {n} digits, more than the limit {MAX_DIGITS}")

# ASCII only: Python's int() and re's \d also read other scripts' digits ("١", "１").
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?$", re.ASCII)
_FRACTION = re.compile(r"^[+-]?\d+\s*/\s*[+-]?\d+$", re.ASCII)


def parse_rational(value: Any) -> Fraction:
    """Read one number exactly.

    Accepts an ``int``, a :class:`fractions.Fraction` (or any exact ``numbers.Rational``), or a string
    holding a decimal (``"-0.25"``, ``"1e-3"``) or a fraction (``"3/4"``). Raises ``ValueError`` with a
    short reason for anything else (booleans, NaN, infinities, ``"1/0"``, binary floats).

    >>> parse_rational("0.1")
    Fraction(1, 10)
    >>> parse_rational("-6/4")
    Fraction(-3, 2)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    if isinstance(value, float):
        # Binary floats are refused here on purpose: the JSON reader hands decimal text to this
        # function, so a float can only come from code that should have used from_float().
        raise ValueError(f"binary float {value!r} given where exact text was expected (use from_float)")
    if isinstance(value, str):
        text = value.strip()
        check_digits(text)
        if not text.isascii():
            raise ValueError(f"not a number: {value!r} (numbers are written with the ASCII digits 0-9)")
        m = _DECIMAL.match(text)
        if m:
            if m.group(1) is not None and abs(int(m.group(1))) > MAX_EXPONENT:
                raise ValueError(f"exponent too large in {value!r} (limit {MAX_EXPONENT})")
            return Fraction(text)
        if _FRACTION.match(text):
            num, den = (int(p) for p in text.split("/"))
            if den == 0:
                raise ValueError(f"zero denominator in {value!r}")
            return Fraction(num, den)
        raise ValueError(f"not a number: {value!r}")
    raise ValueError(f"expected a number, got {type(value).__name__}")


def from_float(value: float) -> Fraction:
    """The exact rational value of a finite binary float (e.g. a float32 weight)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"non-finite value {value!r}")
    return Fraction(value)


def near_dyadic(value: float, bits: int = 20) -> Fraction:
    """The multiple of ``2^-bits`` nearest to a finite float: an exact point for a float-guided guess.

    All coordinates of a point then share the denominator ``2^bits``, so exact evaluation stays cheap:
    with ``limit_denominator`` each coordinate gets its own denominator, and the sum of ``d`` weighted
    coordinates carries their least common multiple (thousands of digits for ``d = 10^4``).

    >>> near_dyadic(0.3), near_dyadic(-2.0, 4)
    (Fraction(314573, 1048576), Fraction(-2, 1))
    """
    return Fraction(round(float(value) * (1 << bits)), 1 << bits)


def to_text(value: Fraction | int) -> str:
    """Exact text: ``"3"``, ``"-1/2"``."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def smt_number(q) -> str:
    """An exact SMT-LIB real literal: ``3.0``, ``(- 3.0)``, ``(/ 1.0 3.0)``, ``(- (/ 1.0 3.0))``.

    SMT-LIB has no negative literals, so a negative number is a negation. The one printer of exact
    numbers for SMT-LIB text (queries, certificates).

    >>> smt_number(Fraction(-1, 3))
    '(- (/ 1.0 3.0))'
    """
    q = Fraction(q)
    a = abs(q)
    lit = f"{a.numerator}.0" if a.denominator == 1 else f"(/ {a.numerator}.0 {a.denominator}.0)"
    return f"(- {lit})" if q < 0 else lit
