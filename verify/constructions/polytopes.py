"""Lattice polytopes for support-function constructions: exact vertex sets and coordinate permutations.

A polytope enters a support-function sum only through ``h_P(x) = max_{v vertex of P} <v, x>``, and two
polytopes are equal iff their vertex sets are. So every comparison of polytopes here (distinct members
of an orbit, equal blocks of two networks) is an exact comparison of vertex sets.

References
----------
.. [1] G. M. Ziegler. Lectures on Polytopes. Springer GTM 152 (1995), Lecture 1: a point of a finite set
   ``S`` is a vertex of ``conv(S)`` iff some linear functional is maximised on ``conv(S)`` exactly there,
   iff it is not a convex combination of the other points.
"""

from __future__ import annotations

import itertools
import random
from fractions import Fraction
from typing import Iterable, Sequence

from ..errors import ToolkitBugError

__all__ = ["convex_vertices", "lattice_points", "permute_vertices", "canonical_vertices", "orbit_images",
           "is_vertex_lp"]

Point = tuple  # of ints


def lattice_points(n: int, weight: int) -> list[Point]:
    """The lattice points of ``weight * Delta``: non-negative integer vectors of length ``n`` summing to ``weight``.

    For ``weight = 2`` these are ``2 e_i`` and ``e_i + e_j`` (``n (n + 1) / 2`` points).
    """
    out: list = []

    def rec(prefix: list, left: int) -> None:
        if len(prefix) == n - 1:
            out.append(tuple(prefix + [left]))
            return
        for v in range(left, -1, -1):
            rec(prefix + [v], left - v)

    if n == 1:
        return [(weight,)]
    rec([], weight)
    return out


def _functionals(d: int) -> list[tuple[int, ...]]:
    """Fixed test functionals: +-e_i, e_i - e_j, and a few seeded small random integer vectors."""
    out = []
    for i in range(d):
        out.append(tuple(1 if k == i else 0 for k in range(d)))
        out.append(tuple(-1 if k == i else 0 for k in range(d)))
    for i in range(d):
        for j in range(d):
            if i != j:
                out.append(tuple(1 if k == i else (-1 if k == j else 0) for k in range(d)))
    rnd = random.Random(1729)
    for _ in range(4 * d + 8):
        out.append(tuple(rnd.randint(-7, 7) for _ in range(d)))
    return out


_FUNCTIONAL_CACHE: dict = {}


def is_vertex_lp(p: Point, others: Sequence[Point]) -> bool:
    """Exact LP test: ``p`` is a vertex of ``conv({p} u others)`` iff ``max t`` subject to
    ``<c, q - p> + t <= 0`` for all ``q`` in ``others``, ``-1 <= c_i <= 1``, ``t <= 1`` is positive.

    Solved by :func:`verify.backends.exact_lp.solve_exact_lp` (float basis, verified in rationals).
    """
    from ..backends.exact_lp import LPStatus, solve_exact_lp

    if not others:
        return True
    d = len(p)
    A = [[Fraction(a - b) for a, b in zip(q, p)] + [Fraction(1)] for q in others]
    b = [Fraction(0)] * len(others)
    lo = [Fraction(-1)] * d + [None]
    hi = [Fraction(1)] * d + [Fraction(1)]
    res = solve_exact_lp([0] * d + [1], A, b, lo=lo, hi=hi)
    if res.status is not LPStatus.OPTIMAL:
        raise ToolkitBugError(f"vertex LP did not reach an exact optimum ({res.status}: {res.reason})")
    return res.value > 0


def convex_vertices(points: Iterable[Sequence[int]]) -> frozenset:
    """The vertex set of ``conv(points)`` for integer points, decided exactly.

    Fast exact tests first: a point that is the unique maximiser of a test functional is a vertex; the
    midpoint of two other points is not. The rest go to the exact LP of :func:`is_vertex_lp`.

    >>> sorted(convex_vertices([(2, 0), (1, 1), (0, 2)]))
    [(0, 2), (2, 0)]
    """
    pts = sorted({tuple(int(v) for v in p) for p in points})
    if len(pts) <= 2:
        return frozenset(pts)
    d = len(pts[0])
    funcs = _FUNCTIONAL_CACHE.get(d)
    if funcs is None:
        funcs = _FUNCTIONAL_CACHE[d] = _functionals(d)
    undecided = set(pts)
    verts = set()
    for c in funcs:
        vals = [sum(a * b for a, b in zip(c, p)) for p in pts]
        top = max(vals)
        winners = [p for p, v in zip(pts, vals) if v == top]
        if len(winners) == 1 and winners[0] in undecided:
            verts.add(winners[0])
            undecided.discard(winners[0])
        if not undecided:
            return frozenset(verts)
    present = set(pts)
    for p in sorted(undecided):
        twice = tuple(2 * v for v in p)
        if any(q != p and tuple(a - b for a, b in zip(twice, q)) in present for q in pts):
            undecided.discard(p)  # p = (q + q') / 2 with q, q' other points: not a vertex
    for p in sorted(undecided):
        if is_vertex_lp(p, [q for q in pts if q != p]):
            verts.add(p)
    return frozenset(verts)


def permute_vertices(vertices: Iterable[Point], perm: Sequence[int]) -> frozenset:
    """The vertex set moved by the coordinate permutation sending coordinate ``i`` to ``perm[i]``."""
    out = []
    for v in vertices:
        w = [0] * len(v)
        for i, t in enumerate(v):
            w[perm[i]] = t
        out.append(tuple(w))
    return frozenset(out)


def canonical_vertices(vertices: Iterable[Point]) -> tuple:
    """A canonical representative of the orbit of a vertex set under permutations of the coordinates.

    Columns are grouped by their sorted multiset of values (a "profile", unchanged by permuting the
    vertices), the groups put in increasing profile order, and the result is the lexicographically
    smallest sorted vertex list over all orders inside the groups. Permuting the coordinates of the input
    permutes the columns inside the groups and leaves the set of candidates unchanged, so equal outputs
    mean the same orbit, and the output is itself a member of the orbit. Usually a handful of orders.
    """
    V = [tuple(v) for v in vertices]
    if not V:
        return ()
    d = len(V[0])
    profile = [tuple(sorted(v[c] for v in V)) for c in range(d)]
    classes: dict = {}
    for c in range(d):
        classes.setdefault(profile[c], []).append(c)
    keys = sorted(classes)
    best = None
    for combo in itertools.product(*[itertools.permutations(classes[k]) for k in keys]):
        order = [c for grp in combo for c in grp]
        cand = tuple(sorted(tuple(v[c] for c in order) for v in V))
        if best is None or cand < best:
            best = cand
    return best


def orbit_images(vertices: Iterable[Point]) -> list[tuple[tuple[int, ...], frozenset]]:
    """Every distinct image of a vertex set under coordinate permutations, with the first permutation
    (in :func:`itertools.permutations` order) that produces it."""
    V = frozenset(tuple(v) for v in vertices)
    d = len(next(iter(V)))
    seen: dict = {}
    for perm in itertools.permutations(range(d)):
        img = permute_vertices(V, perm)
        if img not in seen:
            seen[img] = perm
    return [(perm, img) for img, perm in seen.items()]
