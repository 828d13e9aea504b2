"""Finite candidate families of blocks for the construction search, and the points that suffice.

The family ``B(n, w, hidden)``: lattice zonotopes ``Z = p + sum [0, g]`` all of whose corner points are
lattice points of ``w * Delta`` (non-negative integer vectors with coordinate sum ``w``; the generators
``g`` are differences of such points), including single points; for ``hidden = 2`` also the joins
``conv(Z1 u Z2)``. Polytopes are compared by exact vertex sets, and grouped into orbits under
permutations of the coordinates. For ``w = 2`` and ``n = 6`` this is the complete weight-2 family of
msun170/relu-max6 (M. Sun 2026, "Two hidden layers compute the maximum of six numbers", section 5).

Points that suffice. Every block's support function is ``max_v <v, x>`` over lattice points ``v``, so it is
linear on every cell of the arrangement of the hyperplanes ``<u - v, x> = 0`` (``u, v`` lattice points),
which contains the braid arrangement; so is ``max``. By the argument of
:mod:`verify.analysis.arrangement`, a combination of blocks and a linear term equals ``max`` on R^n iff
it does on the lineality space (the line through ``(1, ..., 1)``) and at the rays of that arrangement. If
the combination is symmetric under permuting the coordinates, the rays in the closed sorted chamber
``x_1 >= ... >= x_n`` suffice (every ray is a permutation of one of them). Those are found in gap
coordinates ``y_k = x_k - x_{k+1} >= 0``, where only the hyperplanes whose prefix sums of ``u - v`` change
sign cut the chamber (msun170/relu-max6, "forced directions"); the chamber's walls ``y_k = 0`` are added.

References
----------
.. [1] M. Sun. Two hidden layers compute the maximum of six numbers. Public repository
   github.com/msun170/relu-max6 (2026, not peer reviewed): the weight-2 family, symmetrisation, the
   gap-coordinate reduction.
.. [2] K. Bakaev, F. Brunck, C. Hertrich, J. Stade, A. Yehudayoff. arXiv:2505.14338 (the classes P_k).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..constructions.polytopes import canonical_vertices, convex_vertices, lattice_points
from ..errors import VerifyError
from ..io.support_sum import Term, Zonotope
from .flats import enumerate_flats, essential_coordinates, primitive_rows

__all__ = ["BlockOrbit", "Family", "block_family", "lattice_vertices", "difference_normals", "sorted_rays",
           "all_rays", "orbit_members", "orbit_values"]


def lattice_vertices(points, weight: int) -> frozenset:
    """Vertex set of ``conv(points)`` for lattice points of ``weight * Delta``.

    For weight 1 every point is a vertex (the points are unit vectors). For weight 2 (Bakaev et al.'s
    lattice): ``2 e_i`` is always a vertex (the only point with ``x_i = 2``), and ``e_i + e_j`` is one
    unless ``2 e_i`` and ``2 e_j`` are both present (a convex combination equal to ``e_i + e_j`` can use
    only points supported on ``{i, j}``, coordinates being non-negative). Other weights: exact LP
    (:func:`verify.constructions.polytopes.convex_vertices`).
    """
    pts = frozenset(points)
    if weight == 1:
        return pts
    if weight != 2:
        return convex_vertices(pts)
    out = []
    for v in pts:
        supp = [i for i, t in enumerate(v) if t]
        if len(supp) == 2:
            i, j = supp
            two_i = tuple(2 if k == i else 0 for k in range(len(v)))
            two_j = tuple(2 if k == j else 0 for k in range(len(v)))
            if two_i in pts and two_j in pts:
                continue
        out.append(v)
    return frozenset(out)


@dataclass
class BlockOrbit:
    """One orbit of the family: a representative term (its zonotopes), its vertex set and size."""

    term: Term
    vertices: frozenset
    size: int = 0
    two_block: bool = False


@dataclass
class Family:
    n: int
    weight: int
    hidden: int
    orbits: list = field(default_factory=list)
    zonotopes: int = 0
    blocks: int = 0


def _zonotopes(n: int, weight: int) -> dict:
    """Every lattice zonotope with all corners in ``weight * Delta``: vertex set -> (base, generators)."""
    pts = lattice_points(n, weight)
    present = set(pts)
    gens = sorted({tuple(a - b for a, b in zip(p, q)) for p in pts for q in pts if p != q})
    gens = [g for g in gens if g > tuple(-t for t in g)]  # one sign per difference
    found: dict = {}

    def grow(corners: frozenset, base, used: tuple, start: int) -> None:
        key = lattice_vertices(corners, weight)
        found.setdefault(key, (base, used))
        for j in range(start, len(gens)):
            g = gens[j]
            moved = {tuple(a + b for a, b in zip(c, g)) for c in corners}
            if moved <= present:
                grow(corners | moved, base, used + (g,), j + 1)

    for p in pts:
        grow(frozenset([p]), p, (), 0)
    return found


def block_family(n: int, weight: int = 2, hidden: int = 2, *, max_blocks: int = 5_000_000) -> Family:
    """The family's orbits under coordinate permutations (each with a representative decomposition).

    ``hidden = 1``: zonotopes (and points); ``hidden = 2``: also joins of two zonotopes. An orbit is
    found from the joins ``conv(Z1 u Z2)`` with ``Z1`` one representative per zonotope orbit and ``Z2``
    any zonotope (every join is a permuted copy of one of those).
    """
    if n < 1 or weight < 1:
        raise VerifyError("the family needs n >= 1 and weight >= 1")
    if hidden not in (1, 2):
        raise VerifyError("the family has one or two hidden layers")
    zon = _zonotopes(n, weight)
    fam = Family(n, weight, hidden, zonotopes=len(zon))
    zreps: dict = {}
    for verts, dec in zon.items():
        zreps.setdefault(canonical_vertices(verts), (verts, dec))
    orbits: dict = {}
    for verts, (base, gens) in zreps.values():
        orbits.setdefault(canonical_vertices(verts), BlockOrbit(Term(1, (Zonotope(base, gens),)), verts))
    if hidden == 2:
        corners = {v: Zonotope(b, g).corners() for v, (b, g) in zon.items()}
        for v1, (b1, g1) in zreps.values():
            z1 = Zonotope(b1, g1)
            c1 = corners[v1]
            for v2, (b2, g2) in zon.items():
                verts = lattice_vertices(c1 | corners[v2], weight)
                key = canonical_vertices(verts)
                if key not in orbits:
                    orbits[key] = BlockOrbit(Term(1, (z1, Zonotope(b2, g2))), verts, two_block=True)
    fam.orbits = list(orbits.values())
    for o in fam.orbits:
        o.size = len(orbit_members(o.vertices, n))
    fam.blocks = sum(o.size for o in fam.orbits)
    if fam.blocks > max_blocks:
        raise VerifyError(f"the family has {fam.blocks} blocks, more than the limit {max_blocks}")
    return fam


def orbit_members(vertices, n: int) -> list[np.ndarray]:
    """The distinct images of a vertex set under all coordinate permutations, as integer arrays."""
    V = np.array(sorted(vertices), dtype=np.int64).reshape(len(vertices), n)
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
    imgs = V[:, perms].transpose(1, 0, 2)  # (n!, k, n): image vertices v[perm]
    base = int(V.max()) + 1 if V.size else 1
    codes = (imgs * (base ** np.arange(n, dtype=np.int64))[None, None, :]).sum(axis=2)
    codes.sort(axis=1)
    _, first = np.unique(codes, axis=0, return_index=True)
    return [imgs[i] for i in sorted(first)]


def orbit_values(fam: Family, X: np.ndarray, *, symmetric: bool = True, only=None) -> tuple[np.ndarray, list]:
    """Values at the rows of ``X`` (integers): one column per orbit (the sum of ``h_b`` over its members)
    when ``symmetric``, else one column per block; ``only`` restricts to some orbit indices.
    Returns ``(matrix, column labels)``.
    """
    cols = []
    labels = []
    Xf = X.astype(np.float64)  # small integers: products, maxima and sums are exact in float64
    if X.size and float(np.abs(Xf).max()) * fam.n * fam.weight * fam.blocks >= 2 ** 52:
        raise VerifyError("points too large for exact float64 evaluation of the family")
    for oi, o in enumerate(fam.orbits):
        if only is not None and oi not in only:
            continue
        members = orbit_members(o.vertices, fam.n)
        if symmetric:
            stack = np.concatenate(members).T.astype(np.float64)  # (n, sum k)
            lens = [len(m) for m in members]
            starts = np.cumsum([0] + lens[:-1])
            step = max(1, (1 << 23) // stack.shape[1])
            col = np.empty(len(X))
            for r0 in range(0, len(X), step):
                vals = Xf[r0:r0 + step] @ stack  # (rows, sum k)
                col[r0:r0 + step] = np.maximum.reduceat(vals, starts, axis=1).sum(axis=1)
            cols.append(col)
            labels.append(oi)
        else:
            for mi, m in enumerate(members):
                cols.append((Xf @ m.T.astype(np.float64)).max(axis=1))
                labels.append((oi, mi))
    M = np.rint(np.stack(cols, axis=1)).astype(np.int64) if cols else np.zeros((len(X), 0), dtype=np.int64)
    return M, labels


def difference_normals(n: int, weight: int) -> list[tuple[int, ...]]:
    """Primitive normals ``u - v`` (first non-zero entry positive) over lattice points of ``weight * Delta``."""
    pts = lattice_points(n, weight)
    D = np.array([tuple(a - b for a, b in zip(p, q)) for p in pts for q in pts if p != q], dtype=np.int64)
    rows, _ = primitive_rows(D.reshape(-1, n))
    return sorted({tuple(int(t) for t in r) for r in rows})


def sorted_rays(n: int, weight: int, *, deadline=None) -> np.ndarray:
    """The rays of the weight-``w`` difference arrangement in the closed chamber ``x_1 >= ... >= x_n``
    (with ``x_n = 0``), as integer rows, plus nothing else (the lineality line is added by the caller)."""
    if n == 1:
        return np.zeros((0, 1), dtype=np.int64)
    normals = difference_normals(n, weight)
    prefix = [tuple(int(v) for v in np.cumsum(h)[:-1]) for h in normals]
    cut = sorted({p for p in prefix if min(p) < 0 < max(p)})
    walls = [tuple(1 if i == k else 0 for i in range(n - 1)) for k in range(n - 1)]
    A = [tuple(r) for r in primitive_rows(np.array(cut + walls, dtype=np.int64))[0].tolist()]
    A = sorted(set(A))
    pivots, k, _ = essential_coordinates(A, n - 1)
    if k != n - 1:  # pragma: no cover - the walls alone have full rank
        raise VerifyError("the chamber arrangement is not essential")
    flats = enumerate_flats(np.array(A, dtype=np.int64), deadline=deadline)
    Y = flats.rays
    pos = np.all(Y >= 0, axis=1)
    neg = np.all(Y <= 0, axis=1)
    Y = np.concatenate([Y[pos], -Y[neg]])
    # x_i = sum_{k >= i} y_k (i = 1..n-1), x_n = 0.
    X = np.zeros((len(Y), n), dtype=np.int64)
    X[:, :n - 1] = np.cumsum(Y[:, ::-1], axis=1)[:, ::-1]
    return X


def all_rays(n: int, weight: int, *, deadline=None) -> np.ndarray:
    """All rays (both half-lines of every line) of the difference arrangement, with ``x_n = 0``."""
    normals = difference_normals(n, weight)
    pivots, k, _ = essential_coordinates(normals, n)
    A = np.array([[h[p] for p in pivots] for h in normals], dtype=np.int64)
    flats = enumerate_flats(A, deadline=deadline)
    R = np.zeros((len(flats.rays), n), dtype=np.int64)
    R[:, pivots] = flats.rays
    # represent modulo the line through (1, ..., 1) with x_n = 0
    R = R - R[:, -1:]
    return np.concatenate([R, -R])

