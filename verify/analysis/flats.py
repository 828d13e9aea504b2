"""Flats of a central hyperplane arrangement, in exact integer arithmetic (vectorised with numpy).

A central arrangement is a finite set of hyperplanes ``{x : <a, x> = 0}`` with integer normals ``a``.
Its *flats* are the intersections of some of its hyperplanes; the *rank* of a flat is the dimension of
the span of the normals that vanish on it. Every flat contains the lineality space ``L`` (the common
kernel of all normals); modulo ``L`` the arrangement is *essential* of rank ``k`` and lives in R^k.

This module enumerates, for every rank ``j = 1 .. k-1``, all flats of rank ``j`` (each once), and in
particular the flats of rank ``k - 1``: the lines modulo ``L`` whose two half-lines are the rays of the
arrangement's cells (every closed cell is ``L`` plus the cone over its rays).

Method (the intersection lattice, level by level). A flat of rank ``j`` is kept as an integer basis ``U``
(``k x (k - j)``) of its subspace of R^k and as ``j`` indices of independent hyperplanes that cut it out.
Its children are ``F n H`` for the hyperplanes ``H`` not containing ``F``: with ``c = a_H U`` (non-zero),
an integer basis of ``{y : c . y = 0}`` is ``c_p e_i - c_i e_p`` (``i != p``, ``p`` a pivot with
``c_p != 0``), so ``U' = U K``. Children are deduplicated by a canonical key of their subspace: the
primitive, sign-normalised vector for a line; the primitive, sign-normalised Pluecker coordinates
(maximal minors of ``U'``) for a plane or a 3-space (two bases of one subspace have proportional minors);
the set of hyperplanes containing it for larger subspaces (a flat is the intersection of the hyperplanes
that contain it). All arithmetic is on integers: int64 where a bound computed beforehand shows that no
value can overflow, Python integers (numpy object arrays) otherwise.

References
----------
.. [1] P. Orlik, H. Terao. Arrangements of Hyperplanes. Springer (1992), chapter 2 (the intersection
   lattice, rank, essentialisation).
.. [2] R. P. Stanley. An introduction to hyperplane arrangements. IAS/Park City Math. Series 13 (2007),
   lecture 1 (faces of cells are cells of restrictions to flats).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..errors import VerifyError

__all__ = ["FlatLevels", "FlatBudgetExceeded", "MAX_FLATS", "essential_coordinates", "enumerate_flats", "primitive_rows",
           "line_keys", "subspace_keys", "safe_dtype", "INT64_SAFE"]

INT64_SAFE = 2 ** 62


class FlatBudgetExceeded(VerifyError):
    """The enumeration would exceed its candidate budget or deadline (no claim is made)."""


@dataclass
class FlatLevels:
    """All flats of ranks ``1 .. k-1`` of an essential arrangement in R^k.

    ``indices[j]`` is an ``(f_j, j)`` array of hyperplane indices (independent normals cutting out each
    flat of rank ``j``); ``bases[j]`` an ``(f_j, k, k - j)`` integer array (a basis of each flat).
    ``rays`` is the ``(f_{k-1}, k)`` array of primitive directions of the rank ``k - 1`` flats (one per
    line; both half-lines are rays). ``candidates`` counts the intersections computed.
    """

    k: int
    indices: dict = field(default_factory=dict)
    bases: dict = field(default_factory=dict)
    rays: np.ndarray | None = None
    candidates: int = 0

    def counts(self) -> dict:
        return {j: len(v) for j, v in self.indices.items()}


def safe_dtype(bound: int):
    """``np.int64`` if every value is known to stay below ``INT64_SAFE`` in absolute value, else ``object``."""
    return np.int64 if bound < INT64_SAFE else object


def _maxabs(a: np.ndarray) -> int:
    return int(np.abs(a).max()) if a.size else 0


def primitive_rows(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows divided by their gcd and signed so that the first non-zero entry is positive.

    Returns ``(rows, nonzero)``: the normalised non-zero rows and the mask of rows that were non-zero.
    """
    if K.size == 0:
        return K.reshape(0, K.shape[1] if K.ndim == 2 else 0), np.zeros(len(K), dtype=bool)
    g = np.gcd.reduce(K, axis=1)
    nz = g != 0
    K = K[nz] // g[nz, None]
    if len(K):
        first = np.argmax(K != 0, axis=1)
        s = np.sign(K[np.arange(len(K)), first])
        K = K * s[:, None]
    return K, nz


def _perm_sign(p) -> int:
    p, s = list(p), 1
    for i in range(len(p)):
        while p[i] != i:
            j = p[i]
            p[i], p[j] = p[j], p[i]
            s = -s
    return s


def _minors(U: np.ndarray) -> np.ndarray:
    """All maximal minors of a batch ``(b, k, s)`` (rows chosen from ``k``), by Leibniz' formula (s <= 3)."""
    b, k, s = U.shape
    rows = list(itertools.combinations(range(k), s))
    perms = [(p, _perm_sign(p)) for p in itertools.permutations(range(s))]
    out = np.zeros((b, len(rows)), dtype=U.dtype)
    for ci, rs in enumerate(rows):
        acc = None
        for p, sg in perms:
            t = U[:, rs[0], p[0]]
            for i in range(1, s):
                t = t * U[:, rs[i], p[i]]
            acc = sg * t if acc is None else acc + sg * t
        out[:, ci] = acc
    return out


def line_keys(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical keys of lines spanned by the rows of ``V`` (primitive, sign-normalised); ``(keys, nonzero)``."""
    return primitive_rows(V)


def subspace_keys(U: np.ndarray, A: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Canonical keys of the subspaces spanned by the columns of each ``U[b]`` (``(b, k, s)``).

    ``s = 1``: the primitive direction; ``s = 2, 3``: primitive sign-normalised Pluecker coordinates;
    larger ``s``: the 0/1 pattern of the hyperplanes (rows of ``A``) that contain the subspace.
    Returns ``(keys, valid)``; ``valid`` is False where the columns are dependent (zero minors).
    """
    b, k, s = U.shape
    if s == 1:
        return primitive_rows(U[:, :, 0])
    if s <= 3:
        bound = _maxabs(U) ** s * 6
        M = _minors(U if U.dtype == object or bound < INT64_SAFE else U.astype(object))
        return primitive_rows(M)
    if A is None:
        raise VerifyError("subspace keys of dimension > 3 need the arrangement's normals")
    C = np.einsum("mk,bks->bms", A, U)
    keys = np.all(C == 0, axis=2).astype(np.int64)
    return keys, np.ones(b, dtype=bool)


def _unique_rows(K: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct row."""
    if len(K) == 0:
        return np.zeros(0, dtype=np.int64)
    if K.dtype == object:
        seen: dict = {}
        for i, row in enumerate(map(tuple, K.tolist())):
            seen.setdefault(row, i)
        return np.fromiter(sorted(seen.values()), dtype=np.int64)
    K = np.ascontiguousarray(K)
    view = K.view(np.dtype((np.void, K.dtype.itemsize * K.shape[1]))).ravel()
    _, idx = np.unique(view, return_index=True)
    return np.sort(idx)


def essential_coordinates(normals: list[tuple[int, ...]], d: int) -> tuple[list[int], int, list[tuple[int, ...]]]:
    """``(pivots, k, lineality)`` of the arrangement with these integer normals in R^d, exactly (flint).

    ``k`` is the rank of the normals; ``pivots`` are ``k`` coordinates on which they have rank ``k``, so
    that vectors supported on the pivots represent R^d modulo the lineality space ``L`` one to one;
    ``lineality`` is an integer basis of ``L`` (``d - k`` vectors).
    """
    import flint

    if not normals:
        return [], 0, [tuple(1 if i == j else 0 for i in range(d)) for j in range(d)]
    M = flint.fmpz_mat([list(a) for a in normals])
    R, _den, rank = M.rref()
    pivots = []
    for r in range(rank):
        for c in range(d):
            if R[r, c] != 0:
                pivots.append(c)
                break
    X, nullity = M.nullspace()
    lineality = []
    for j in range(nullity):
        v = [int(X[i, j]) for i in range(d)]
        import math

        g = math.gcd(*v)
        v = [t // g for t in v]
        lineality.append(tuple(v))
    return pivots, rank, lineality


MAX_FLATS = 1_000_000  # flats kept at one level (below ~2 GB at rank 6); more is refused, not attempted


def enumerate_flats(A: np.ndarray, *, deadline=None, max_candidates: int | None = None,
                    max_flats: int = MAX_FLATS, chunk: int = 2048) -> FlatLevels:
    """Every flat of rank ``1 .. k-1`` of the essential arrangement with normals ``A`` (``m x k``, rank k).

    Raises :class:`FlatBudgetExceeded` when ``deadline`` expires, more than ``max_candidates``
    intersections would be computed, or a level would hold more than ``max_flats`` flats (checked before
    each level and between chunks, so memory stays bounded).
    """
    A = np.asarray(A)
    m, k = A.shape
    out = FlatLevels(k)
    if k <= 1:
        # The only line modulo L is the whole (1-dimensional) essential space.
        out.rays = np.ones((1, k), dtype=np.int64) if k == 1 else np.zeros((0, 0), dtype=np.int64)
        return out
    amax = _maxabs(A)
    # Rank 1: the hyperplanes themselves (assumed distinct), as subspaces.
    base = np.eye(k, dtype=np.int64)[None]
    idx = np.zeros((1, 0), dtype=np.int64)
    for j in range(1, k):
        s = k - j + 1  # dimension of the parent flats
        if max_candidates is not None and out.candidates + len(base) * m > max_candidates:
            raise FlatBudgetExceeded(f"flats of rank {j}: {len(base)} parents x {m} hyperplanes exceed the budget "
                                     f"of {max_candidates} intersections")
        keys_all, bases_all, idx_all = [], [], []
        for c0 in range(0, len(base), chunk):
            if deadline is not None and deadline.expired():
                raise FlatBudgetExceeded(f"deadline reached while enumerating flats of rank {j}")
            U = base[c0:c0 + chunk]
            P = idx[c0:c0 + chunk]
            umax = _maxabs(U)
            cmax = k * amax * umax  # bound on c = a_H U, then on U K
            dt = safe_dtype(max(cmax, s * umax * cmax))
            Aw = A.astype(dt) if A.dtype != dt else A
            Uw = U.astype(dt) if U.dtype != dt else U
            C = np.einsum("mk,fks->fms", Aw, Uw)  # (f, m, s)
            f = len(U)
            C = C.reshape(f * m, s)
            parent = np.repeat(np.arange(f), m)
            hyper = np.tile(np.arange(m), f)
            nz = np.any(C != 0, axis=1)
            C, parent, hyper = C[nz], parent[nz], hyper[nz]
            out.candidates += len(C)
            if len(C) == 0:
                continue
            rows = np.arange(len(C))
            piv = s - 1 - np.argmax(C[:, ::-1] != 0, axis=1)  # last non-zero entry
            cp = C[rows, piv]
            K = np.zeros((len(C), s, s - 1), dtype=C.dtype)
            for t in range(s - 1):
                it = np.where(t < piv, t, t + 1)  # the t-th index different from the pivot
                K[rows, it, t] = cp
                K[rows, piv, t] = -C[rows, it]
            Un = np.matmul(Uw[parent], K)  # (n, k, s-1)
            g = np.gcd.reduce(Un, axis=1)
            Un = Un // g[:, None, :]
            key, ok = subspace_keys(Un, Aw)
            Un, parent, hyper = Un[ok], parent[ok], hyper[ok]
            first = _unique_rows(key)
            keys_all.append(key[first])
            bases_all.append(Un[first])
            idx_all.append(np.concatenate([P[parent[first]], hyper[first][:, None]], axis=1))
            if sum(len(kk) for kk in keys_all) > max_flats:  # chunk-wise distinct, not yet merged
                merged = len(_unique_rows(np.concatenate(keys_all)))
                if merged > max_flats:
                    raise FlatBudgetExceeded(f"more than {max_flats} flats of rank {j}")
                keys_all = [np.concatenate(keys_all)]
                keep = _unique_rows(keys_all[0])
                keys_all = [keys_all[0][keep]]
                bases_all = [np.concatenate(bases_all)[keep]]
                idx_all = [np.concatenate(idx_all)[keep]]
        if not keys_all:
            raise VerifyError(f"no flat of rank {j} found: the normals do not have rank {k}")  # pragma: no cover
        dtype = object if any(kk.dtype == object for kk in keys_all) else np.int64
        key = np.concatenate([kk.astype(dtype) for kk in keys_all])
        basis = np.concatenate([bb.astype(dtype) for bb in bases_all])
        ind = np.concatenate(idx_all)
        first = _unique_rows(key)
        if len(first) > max_flats:
            raise FlatBudgetExceeded(f"more than {max_flats} flats of rank {j}")
        base, idx = basis[first], ind[first]
        if base.dtype == object and _maxabs(base) < 2 ** 40:
            base = base.astype(np.int64)
        out.indices[j] = idx
        out.bases[j] = base
    rays, _ = primitive_rows(out.bases[k - 1][:, :, 0])
    out.rays = rays
    return out
