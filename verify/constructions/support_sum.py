"""Support-function sums (``support-sum/1``) compiled to bias-free ReLU networks, and the shipped ones.

A two-hidden-layer ReLU network computes, up to a linear term, a signed sum of support functions of
joins ``conv(Z1 u Z2)`` of two zonotopes, and every such sum is computed by one (Haase, Hertrich, Loho
2023; Bakaev et al. 2025). :func:`compile_support_sum` builds that network:

* layer 1: ``relu(x_i)`` and ``relu(-x_i)`` for every coordinate a linear part needs (so that
  ``x_i = relu(x_i) - relu(-x_i)`` passes through exactly), then one ``relu(<u, x>)`` per generator
  *direction* ``u`` (the primitive integer vector of a generator; ``relu(<m u, x>) = m relu(<u, x>)`` for
  ``m > 0``, so generators that are positive multiples of each other share a unit);
* layer 2: one ``relu(h_Z1 - h_Z2)`` per two-block term, and ``relu(y)``, ``relu(-y)`` with ``y`` the
  layer-1 function ``sum_{two-block} c h_Z2 + sum_{one-block} c h_Z + <linear, x>``;
* output: ``sum c relu(h_Z1 - h_Z2) + relu(y) - relu(-y)``, which is ``sum c max(h_Z1, h_Z2) + ...``
  since ``relu(a - b) + b = max(a, b)``.

No biases anywhere. A sum with no two-block term compiles to one hidden layer.

Shipped sums (package data, each with its citation in the file):

* ``max6_support_sum.json``: max(x1..x6) as six S6-orbits of weight-2 blocks, the construction of the
  public repository msun170/relu-max6 (M. Sun, 2026, not peer reviewed), orbit representatives read from
  its ``results/p2_decompositions_max6.json``, coefficients and orbit sizes as in LITERATURE.md
  section 6, in the public layout of 1,530 blocks: a 6-42-1532-1 network. The public orbit sizes count
  corner-point sets; the third orbit's 360 point sets are 180 distinct polytopes with two zonotope
  decompositions each, so that orbit is written as two terms (one per decomposition).
* ``max6_orbits_support_sum.json``: the same function with every distinct polytope once (orbit sizes
  360, 360, 180, 180, 180, 90; the third coefficient doubled to 1/180): 1,350 blocks, 6-42-1352-1.
* ``max5_support_sum.json``: the project's max-of-5 construction (shared/data/README.md), which compiles
  to a network computing the same function as ``max5_depth2.json``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from importlib import resources
from typing import Sequence

from ..errors import VerifyError
from ..io.support_sum import SupportSum, Term, Zonotope, loads_support_sum
from ..ir.graph import Network
from ..ir.layers import Layer, from_layers
from .polytopes import convex_vertices, orbit_images

__all__ = ["term_vertices", "expand_orbits", "orbit_sizes", "support_sum_value", "compile_support_sum",
           "load_shipped_support_sum", "max6_two_hidden", "SHIPPED_SUMS", "MAX_ORBIT_DIM"]

SHIPPED_SUMS = {"max6": "max6_support_sum.json", "max6-orbits": "max6_orbits_support_sum.json",
                "max5": "max5_support_sum.json"}
MAX_ORBIT_DIM = 9  # orbit expansion walks all d! permutations


def term_vertices(term: Term) -> frozenset:
    """The vertex set of the term's polytope (``Z1`` or ``conv(Z1 u Z2)``), decided exactly."""
    pts = set()
    for b in term.blocks:
        pts |= b.corners()
    return convex_vertices(pts)


def _orbit_terms(term: Term) -> list[Term]:
    """The term moved by every coordinate permutation giving a distinct polytope (first permutation kept)."""
    verts = term_vertices(term)
    out = []
    for perm, _ in orbit_images(verts):
        out.append(Term(term.coeff, tuple(b.permuted(perm) for b in term.blocks)))
    return out


def expand_orbits(s: SupportSum) -> SupportSum:
    """The same function with ``orbits = false``: every term replaced by its distinct images.

    Two permutations give the same polytope iff they give the same vertex set (exact); each distinct
    polytope is kept once, with the zonotopes of the first such permutation. ``linear`` is unchanged.
    """
    if not s.orbits:
        return s
    if s.dim > MAX_ORBIT_DIM:
        raise VerifyError(f"orbit expansion walks all {s.dim}! permutations; dimension {s.dim} is above the "
                          f"limit {MAX_ORBIT_DIM}")
    terms = []
    for t in s.terms:
        terms.extend(_orbit_terms(t))
    return SupportSum(s.dim, tuple(terms), False, s.linear, s.source)


def orbit_sizes(s: SupportSum) -> list[int]:
    """Number of distinct polytopes in the orbit of each term (1 each when ``orbits`` is false)."""
    if not s.orbits:
        return [1] * len(s.terms)
    return [len(orbit_images(term_vertices(t))) for t in s.terms]


def support_sum_value(s: SupportSum, x: Sequence) -> Fraction:
    """``sum_t c_t h_t(x) + <linear, x>`` exactly (orbits expanded first).

    Support functions are positively homogeneous, so ``x`` is scaled to an integer vector ``L x`` and
    the sum is taken in integers per coefficient, then divided by ``L``.
    """
    s = expand_orbits(s)
    if len(x) != s.dim:
        raise VerifyError(f"point has {len(x)} coordinates, the sum is on R^{s.dim}")
    xs = [Fraction(v) for v in x]
    scale = math.lcm(*(v.denominator for v in xs))
    xi = [int(v * scale) for v in xs]
    by_c: dict = {}
    for t in s.terms:
        best = None
        for b in t.blocks:
            h = sum(a * v for a, v in zip(b.base, xi))
            for g in b.generators:
                u = sum(a * v for a, v in zip(g, xi))
                if u > 0:
                    h += u
            best = h if best is None or h > best else best
        by_c[t.coeff] = by_c.get(t.coeff, 0) + best
    total = sum((c * v for c, v in by_c.items()), Fraction(0)) + sum((a * v for a, v in zip(s.linear, xi)), Fraction(0))
    return total / scale


def _direction(g: Sequence[int]) -> tuple[tuple[int, ...], int] | None:
    """``g = m u`` with ``u`` primitive (gcd 1) and ``m > 0``; ``None`` for ``g = 0``."""
    m = math.gcd(*g)
    if m == 0:
        return None
    return tuple(v // m for v in g), m


def compile_support_sum(s: SupportSum, name: str = "") -> Network:
    """The bias-free ReLU network of a support-function sum (module docstring for the layout)."""
    s = expand_orbits(s)
    d = s.dim
    dirs: dict = {}
    for t in s.terms:
        for b in t.blocks:
            for g in b.generators:
                split = _direction(g)
                if split is not None:
                    dirs.setdefault(split[0], len(dirs))

    # Layer-1 functions as {("x", i): coef} (the linear coordinate x_i) and {("u", k): coef} (unit k).
    def h_form(z: Zonotope, coef: Fraction, acc: dict) -> None:
        for i, p in enumerate(z.base):
            if p:
                acc[("x", i)] = acc.get(("x", i), 0) + coef * p
        for g in z.generators:
            split = _direction(g)
            if split is not None:
                key = ("u", dirs[split[0]])
                acc[key] = acc.get(key, 0) + coef * split[1]

    rows2: list[dict] = []
    out2: list[Fraction] = []
    y: dict = {}
    for t in s.terms:
        if len(t.blocks) == 2 and t.blocks[0] != t.blocks[1]:
            row: dict = {}
            h_form(t.blocks[0], Fraction(1), row)
            h_form(t.blocks[1], Fraction(-1), row)
            row = {k: v for k, v in row.items() if v != 0}
            h_form(t.blocks[1], t.coeff, y)
            if row:
                rows2.append(row)
                out2.append(Fraction(t.coeff))
        else:
            h_form(t.blocks[0], t.coeff, y)
    for i, v in enumerate(s.linear):
        if v:
            y[("x", i)] = y.get(("x", i), 0) + v
    y = {k: Fraction(v) for k, v in y.items() if v != 0}
    carried = sorted({k[1] for r in rows2 + [y] for k in r if k[0] == "x"})
    col: dict = {}
    rows1 = []
    for i in carried:
        unit = tuple(Fraction(1 if k == i else 0) for k in range(d))
        col[("x+", i)] = len(rows1)
        rows1.append(unit)
        col[("x-", i)] = len(rows1)
        rows1.append(tuple(-v for v in unit))
    for u, k in dirs.items():
        col[("u", k)] = len(rows1)
        rows1.append(tuple(Fraction(v) for v in u))

    def dense(form: dict) -> tuple:
        row = [Fraction(0)] * len(rows1)
        for key, v in form.items():
            if key[0] == "x":  # x_i = relu(x_i) - relu(-x_i)
                row[col[("x+", key[1])]] += v
                row[col[("x-", key[1])]] -= v
            else:
                row[col[key]] += v
        return tuple(row)

    label = name or "support-function sum"
    if not rows1:  # no generators and no linear part: the zero function
        return from_layers(d, [Layer(((Fraction(0),) * d,), (Fraction(0),), "linear")], name=label)
    if not rows2:
        layers = [Layer(tuple(rows1), (Fraction(0),) * len(rows1), "relu"),
                  Layer((dense(y),), (Fraction(0),), "linear")]
        return from_layers(d, layers, name=label)
    w2 = [dense(r) for r in rows2]
    outw = list(out2)
    if y:
        w2 += [dense(y), tuple(-v for v in dense(y))]
        outw += [Fraction(1), Fraction(-1)]
    layers = [Layer(tuple(rows1), (Fraction(0),) * len(rows1), "relu"),
              Layer(tuple(w2), (Fraction(0),) * len(w2), "relu"),
              Layer((tuple(outw),), (Fraction(0),), "linear")]
    return from_layers(d, layers, name=label)


def load_shipped_support_sum(key: str) -> SupportSum:
    """A shipped support-function sum: ``"max6"``, ``"max6-orbits"`` or ``"max5"`` (module docstring)."""
    if key not in SHIPPED_SUMS:
        raise VerifyError(f"no shipped support sum {key!r} (known: {', '.join(SHIPPED_SUMS)})")
    path = resources.files("verify").joinpath("data", SHIPPED_SUMS[key])
    return loads_support_sum(path.read_text(), source=SHIPPED_SUMS[key])


def max6_two_hidden(layout: str = "public") -> Network:
    """The max-of-6 network of msun170/relu-max6, compiled exactly: ``layout="public"`` gives the
    6-42-1532-1 network (1,530 blocks), ``"distinct"`` the 6-42-1352-1 one (each polytope once)."""
    key = {"public": "max6", "distinct": "max6-orbits"}.get(layout)
    if key is None:
        raise VerifyError(f"unknown layout {layout!r}: expected 'public' or 'distinct'")
    return compile_support_sum(load_shipped_support_sum(key), name=f"max6 two hidden layers ({layout} layout)")

