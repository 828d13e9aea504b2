"""The ``support-sum/1`` format: a function written as a signed sum of polytope support functions.

::

    {"format": "support-sum/1", "dim": d, "orbits": false,
     "terms": [{"coeff": "p/q", "blocks": [{"base": [..d ints..], "generators": [[..d ints..], ...]}, ...]}],
     "linear": [..d numbers..],                  # optional (default 0)
     "source": "citation text"}                 # optional

A block ``{"base": p, "generators": [g1, ...]}`` is the lattice zonotope ``Z = p + [0, g1] + ...``, with
support function ``h_Z(x) = <p, x> + sum_g relu(<g, x>)`` (one hidden ReLU layer). A term with one block
stands for ``coeff * h_Z``; a term with two blocks for ``coeff * h_conv(Z1 u Z2) = coeff * max(h_Z1, h_Z2)
= coeff * (h_Z2 + relu(h_Z1 - h_Z2))`` (two hidden layers). The whole file is the function
``sum_t coeff_t h_t(x) + <linear, x>``. With ``"orbits": true`` every term stands for the sum over its
orbit under permutations of the coordinates (each distinct polytope once, see
:func:`verify.constructions.support_sum.expand_orbits`); ``linear`` is not expanded.

The reader is strict: unknown keys, numbers that are not exact (``coeff`` and ``linear`` are integers, or
decimal or ``"p/q"`` strings; ``base`` and generators are JSON integers), and vectors of the wrong length
give one :class:`SupportSumFormatError` naming the file and the place (``term 3, block 2, generator 1``).

References
----------
.. [1] C. Haase, C. Hertrich, G. Loho. ICLR 2023, arXiv:2302.12553; K. Bakaev et al., arXiv:2505.14338:
   two-hidden-layer networks compute exactly the signed sums of support functions of joins of two
   zonotopes (up to a linear term), which is what a file in this format describes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import NetworkFormatError
from ..numbers import parse_rational, to_text
from .files import atomic_write_text
from .reading import load_json, show

__all__ = ["SUPPORT_SUM_FORMAT", "SupportSumFormatError", "Zonotope", "Term", "SupportSum",
           "support_sum_from_mapping", "support_sum_to_mapping", "loads_support_sum", "load_support_sum",
           "dumps_support_sum", "save_support_sum", "MAX_DIM", "MAX_GENERATORS", "MAX_TERMS"]

SUPPORT_SUM_FORMAT = "support-sum/1"
MAX_DIM = 64
MAX_GENERATORS = 16  # a zonotope with g generators has up to 2^g corner points
MAX_TERMS = 2_000_000
_TOP_KEYS = {"format", "dim", "orbits", "terms", "linear", "source"}
_TERM_KEYS = {"coeff", "blocks"}
_BLOCK_KEYS = {"base", "generators"}


class SupportSumFormatError(NetworkFormatError):
    """A ``support-sum/1`` file or mapping does not follow the format (the message names the place)."""


@dataclass(frozen=True)
class Zonotope:
    """``base + [0, g_1] + ... + [0, g_k]`` with integer vectors."""

    base: tuple[int, ...]
    generators: tuple[tuple[int, ...], ...] = ()

    def corners(self) -> frozenset[tuple[int, ...]]:
        """The points ``base + sum_{g in S} g`` over subsets ``S`` of the generators (they contain every vertex)."""
        pts = {self.base}
        for g in self.generators:
            pts |= {tuple(a + b for a, b in zip(p, g)) for p in pts}
        return frozenset(pts)

    def support(self, x) -> Fraction:
        """``h_Z(x) = <base, x> + sum_g relu(<g, x>)``, exactly."""
        total = sum((Fraction(a) * v for a, v in zip(self.base, x)), Fraction(0))
        for g in self.generators:
            s = sum((Fraction(a) * v for a, v in zip(g, x)), Fraction(0))
            if s > 0:
                total += s
        return total

    def permuted(self, perm) -> "Zonotope":
        """The image under the coordinate permutation sending coordinate ``i`` to ``perm[i]``."""
        return Zonotope(_move(self.base, perm), tuple(_move(g, perm) for g in self.generators))


def _move(v, perm) -> tuple[int, ...]:
    out = [0] * len(v)
    for i, t in enumerate(v):
        out[perm[i]] = t
    return tuple(out)


@dataclass(frozen=True)
class Term:
    """``coeff * h_Z1`` (one block) or ``coeff * h_conv(Z1 u Z2)`` (two blocks)."""

    coeff: Fraction
    blocks: tuple[Zonotope, ...]

    def support(self, x) -> Fraction:
        """``h`` of the term's polytope at ``x`` (without the coefficient), exactly."""
        return max(b.support(x) for b in self.blocks)


@dataclass(frozen=True)
class SupportSum:
    """``sum_t coeff_t h_t(x) + <linear, x>`` on R^dim; ``orbits`` as in the module docstring."""

    dim: int
    terms: tuple[Term, ...]
    orbits: bool = False
    linear: tuple[Fraction, ...] = ()
    source: str = field(default="", compare=False)

    def __post_init__(self):
        if not self.linear:
            object.__setattr__(self, "linear", (Fraction(0),) * self.dim)

    @property
    def hidden_layers(self) -> int:
        """2 if some term joins two zonotopes, 1 if only zonotopes (with generators), else 0."""
        if any(len(t.blocks) == 2 for t in self.terms):
            return 2
        return 1 if any(b.generators for t in self.terms for b in t.blocks) else 0


# -- reading ----------------------------------------------------------------------------------------
def _err(message: str, where: str | None = None) -> SupportSumFormatError:
    return SupportSumFormatError(message, where=where)


def _keys(data: dict, allowed: set, required: tuple, where: str | None) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _err(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})", where)
    for key in required:
        if key not in data:
            raise _err(f"missing key {key!r}", where)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(f"expected an integer, got {show(value)}", where)
    return value


def _rational(value: Any, where: str) -> Fraction:
    if isinstance(value, (list, dict)) or value is None:
        raise _err(f"expected a number, got {show(value)}", where)
    try:
        return parse_rational(value)
    except ValueError as exc:
        raise _err(str(exc), where) from None


def _int_vector(value: Any, dim: int, where: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _err(f"expected a list of {dim} integers", where)
    if len(value) != dim:
        raise _err(f"has {len(value)} entries, expected dim = {dim}", where)
    return tuple(_int(v, f"{where}, entry {k + 1}") for k, v in enumerate(value))


def support_sum_from_mapping(data: Any, source: str | None = None) -> SupportSum:
    """Build a :class:`SupportSum` from a parsed JSON mapping; errors name ``source`` and the place."""
    try:
        return _from_mapping(data)
    except SupportSumFormatError as exc:
        raise SupportSumFormatError(exc.message, where=exc.where, source=source) from None


def _from_mapping(data: Any) -> SupportSum:
    if not isinstance(data, dict):
        raise _err(f"expected a JSON object, got {show(data)}")
    if data.get("format") != SUPPORT_SUM_FORMAT:
        raise _err(f"format must be {SUPPORT_SUM_FORMAT!r}, got {show(data.get('format'))}")
    _keys(data, _TOP_KEYS, ("format", "dim", "terms"), None)
    dim = _int(data["dim"], "dim")
    if not 1 <= dim <= MAX_DIM:
        raise _err(f"must be between 1 and {MAX_DIM}, got {dim}", "dim")
    orbits = data.get("orbits", False)
    if not isinstance(orbits, bool):
        raise _err("must be true or false", "orbits")
    src = data.get("source", "")
    if not isinstance(src, str):
        raise _err("must be a string", "source")
    terms_raw = data["terms"]
    if not isinstance(terms_raw, list):
        raise _err("must be a list of terms", "terms")
    if len(terms_raw) > MAX_TERMS:
        raise _err(f"{len(terms_raw)} terms, more than the limit {MAX_TERMS}", "terms")
    terms = []
    for t, raw in enumerate(terms_raw, start=1):
        where = f"term {t}"
        if not isinstance(raw, dict):
            raise _err("must be an object with keys coeff and blocks", where)
        _keys(raw, _TERM_KEYS, ("coeff", "blocks"), where)
        coeff = _rational(raw["coeff"], f"{where}, coeff")
        blocks_raw = raw["blocks"]
        if not isinstance(blocks_raw, list) or len(blocks_raw) not in (1, 2):
            raise _err("blocks must be a list of one or two zonotopes", where)
        blocks = []
        for b, braw in enumerate(blocks_raw, start=1):
            bw = f"{where}, block {b}"
            if not isinstance(braw, dict):
                raise _err("must be an object with keys base and generators", bw)
            _keys(braw, _BLOCK_KEYS, ("base",), bw)
            base = _int_vector(braw["base"], dim, f"{bw}, base")
            gens_raw = braw.get("generators", [])
            if not isinstance(gens_raw, list):
                raise _err("must be a list of integer vectors", f"{bw}, generators")
            if len(gens_raw) > MAX_GENERATORS:
                raise _err(f"{len(gens_raw)} generators, more than the limit {MAX_GENERATORS}", f"{bw}, generators")
            gens = tuple(_int_vector(g, dim, f"{bw}, generator {k + 1}") for k, g in enumerate(gens_raw))
            blocks.append(Zonotope(base, gens))
        terms.append(Term(coeff, tuple(blocks)))
    linear: tuple = ()
    if "linear" in data and data["linear"] is not None:
        raw = data["linear"]
        if not isinstance(raw, list) or len(raw) != dim:
            raise _err(f"must be a list of dim = {dim} numbers", "linear")
        linear = tuple(_rational(v, f"linear, entry {k + 1}") for k, v in enumerate(raw))
    return SupportSum(dim, tuple(terms), orbits, linear, src)


def _json_load(text: str, source: str | None) -> Any:
    """The shared strict reading (:mod:`verify.io.reading`: duplicate keys, ASCII digits, finite numbers);
    bare JSON numbers must be integers in this format."""
    return load_json(text, source, error=SupportSumFormatError,
                     no_fractions="is not an integer; write non-integer numbers as strings (\"1/3\", \"0.5\")")


def loads_support_sum(text: str, source: str | None = None) -> SupportSum:
    """Parse ``support-sum/1`` JSON text."""
    return support_sum_from_mapping(_json_load(text, source), source)


def load_support_sum(path: str | os.PathLike) -> SupportSum:
    """Read a ``support-sum/1`` file; errors name the file and the place in it."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise SupportSumFormatError(f"cannot read file ({exc.strerror or exc})", source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SupportSumFormatError("not UTF-8 text", source=source) from None
    return loads_support_sum(text, source)


# -- writing ----------------------------------------------------------------------------------------
def support_sum_to_mapping(s: SupportSum) -> dict:
    """The JSON mapping of ``s`` (coefficients as exact ``"p/q"`` strings); reading it back gives ``s``."""
    out: dict = {"format": SUPPORT_SUM_FORMAT, "dim": s.dim, "orbits": s.orbits}
    if s.source:
        out["source"] = s.source
    out["terms"] = [{"coeff": to_text(t.coeff),
                     "blocks": [{"base": list(b.base), "generators": [list(g) for g in b.generators]}
                                for b in t.blocks]} for t in s.terms]
    if any(v != 0 for v in s.linear):
        out["linear"] = [to_text(v) for v in s.linear]
    return out


def dumps_support_sum(s: SupportSum) -> str:
    """JSON text, one term per line."""
    m = support_sum_to_mapping(s)
    terms = m.pop("terms")
    head = json.dumps(m)[:-1]
    body = ",\n  ".join(json.dumps(t, separators=(", ", ": ")) for t in terms)
    return head + ',\n "terms": [\n  ' + body + "\n ]}\n" if terms else head + ', "terms": []}\n'


def save_support_sum(s: SupportSum, path: str | os.PathLike) -> None:
    atomic_write_text(path, dumps_support_sum(s))
