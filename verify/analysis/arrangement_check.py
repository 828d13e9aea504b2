"""Independent re-check of a ``verify-arrangement/1`` certificate (a PROVED ``N == max`` on R^d).

Nothing computed by :mod:`verify.analysis.arrangement` is trusted; the checker derives again, with its
own plain code, everything the argument needs:

1. the embedded network hashes to the stored SHA-256, is layered, bias-free, with at most two hidden
   layers;
2. every hyperplane the argument needs (first-layer directions in use, every linear piece of every
   second-layer unit after exact merging, the braid hyperplanes of each output's window), recomputed
   here from the weights, is among the stored hyperplanes (extra stored hyperplanes only refine the
   arrangement, which is harmless);
3. the stored ``rank``, ``pivots`` and ``lineality`` are right (exact ranks with python-flint);
4. completeness of the lines: for every stored flat ``F`` of rank ``j <= k - 2`` (rank 1: every
   hyperplane) and every hyperplane ``H`` not containing ``F``, the flat ``F n H`` is stored at rank
   ``j + 1`` (a line, at rank ``k - 1``). By induction every flat of every rank is stored: a flat ``G`` of
   rank ``j + 1`` contains ``j + 1`` independent hyperplanes; the first ``j`` cut out a flat ``F`` of rank
   ``j``, stored by induction, and ``G = F n H`` for the last one ``H``;
5. exact integer evaluation of the network at both half-lines of every stored line and at both signs of
   the lineality basis gives ``max`` there (and the stored values); a few rays are also re-run through
   the exact rational evaluator.

Given 1-5, the argument of :mod:`verify.analysis.arrangement` proves ``N == max`` on all of R^d.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np

__all__ = ["recheck_arrangement", "recheck", "ARRANGEMENT_FORMAT"]

ARRANGEMENT_FORMAT = "verify-arrangement/1"


class _Fails(Exception):
    pass


def _prim(v) -> tuple | None:
    """Primitive integer vector on the line of ``v`` (rationals), first non-zero entry positive."""
    v = [Fraction(t) for t in v]
    if all(t == 0 for t in v):
        return None
    den = math.lcm(*(t.denominator for t in v))
    w = [int(t * den) for t in v]
    g = math.gcd(*w)
    w = [t // g for t in w]
    if next(t for t in w if t) < 0:
        w = [-t for t in w]
    return tuple(w)


def _required_hyperplanes(layers, d: int, windows) -> set:
    """The hyperplanes the argument needs, from the weights (plain dictionaries and Fractions)."""
    need: set = set()
    for w in windows:
        for i in w:
            for j in w:
                if i < j:
                    need.add(tuple(1 if t == i else (-1 if t == j else 0) for t in range(d)))
    if len(layers) == 1:
        return need
    # First layer: unit r = c_r * relu(<h, x>) - [flipped] c_r <h, x> with h primitive.
    unit = []
    for row in layers[0].weights:
        h = _prim(row)
        if h is None:
            unit.append(None)
            continue
        lead = next(i for i, t in enumerate(h) if t)
        c = Fraction(row[lead]) / h[lead]
        unit.append((h, abs(c), c < 0))

    def combine(weights):
        rel: dict = {}
        lin = [Fraction(0)] * d
        for w, u in zip(weights, unit):
            if w == 0 or u is None:
                continue
            h, c, flipped = u
            rel[h] = rel.get(h, 0) + w * c
            if flipped:
                lin = [a - w * c * t for a, t in zip(lin, h)]
        return {h: v for h, v in rel.items() if v != 0}, lin

    outs = range(len(layers[-1].weights))
    if len(layers) == 2:
        for o in outs:
            rel, _ = combine(layers[1].weights[o])
            need |= set(rel)
        return need
    for o in outs:
        units: dict = {}
        rest: dict = {}
        for row, w in zip(layers[1].weights, layers[2].weights[o]):
            if w == 0:
                continue
            rel, lin = combine(row)
            coords = [rel[h] for h in sorted(rel)] + lin
            lead = next((t for t in coords if t != 0), None)
            if lead is None:
                continue
            key = (tuple(sorted((h, v / lead) for h, v in rel.items())), tuple(t / lead for t in lin))
            units[key] = units.get(key, 0) + w * abs(lead)
            if lead < 0:
                for h, v in key[0]:
                    rest[h] = rest.get(h, 0) - w * abs(lead) * v
        need |= {h for h, v in rest.items() if v != 0}
        for (rel, lin), b in units.items():
            if b == 0:
                continue
            hs = [h for h, _ in rel]
            need |= set(hs)
            coef = [v for _, v in rel]
            for mask in range(1 << len(hs)):
                form = list(lin)
                for i, (h, v) in enumerate(zip(hs, coef)):
                    if mask >> i & 1:
                        form = [a + v * t for a, t in zip(form, h)]
                p = _prim(form)
                if p is not None:
                    need.add(p)
    return need


def _int_matrix(layer) -> tuple[list[list[int]], int]:
    q = math.lcm(*(w.denominator for row in layer.weights for w in row))
    return [[int(w * q) for w in row] for row in layer.weights], q


def _forward(mats, X: np.ndarray) -> np.ndarray:
    """Integer outputs ``Q N(x)`` (``Q`` the product of layer scales): float64 when provably exact."""
    bound = int(np.abs(X).max()) if X.size else 0
    exact_float = True
    for M in mats:
        bound *= max(sum(abs(v) for v in row) for row in M)
        exact_float = exact_float and bound < 2 ** 53
    out = []
    step = 4096
    for i in range(0, len(X), step):
        Z = X[i:i + step].astype(np.float64 if exact_float else object)
        for li, M in enumerate(mats):
            Z = Z @ np.array(M, dtype=np.float64 if exact_float else object).T
            if li < len(mats) - 1:
                Z = np.maximum(Z, 0)
        out.append(Z.astype(np.int64) if exact_float else Z)
    return np.concatenate(out) if out else np.zeros((0, len(mats[-1])), dtype=np.int64)


def _kernel_basis(normals: list, k: int):
    """Integer basis (k x (k - rank)) of the common kernel of ``normals`` in R^k, via flint."""
    import flint

    M = flint.fmpz_mat([list(a) for a in normals])
    X, nullity = M.nullspace()
    return [[int(X[i, j]) for j in range(nullity)] for i in range(k)], nullity


def _line_key(v) -> tuple:
    g = 0
    for t in v:
        g = math.gcd(g, int(t))
    w = [int(t) // g for t in v]
    if next(t for t in w if t) < 0:
        w = [-t for t in w]
    return tuple(w)


def _closure_key(A: np.ndarray, U: np.ndarray) -> bytes:
    """Which hyperplanes contain the subspace spanned by the columns of ``U`` (a canonical key)."""
    return np.packbits(np.all(A @ U == 0, axis=1)).tobytes()


def _children(A: np.ndarray, U: np.ndarray):
    """Closure keys of ``F n H`` for every hyperplane ``H`` not containing the flat ``F`` spanned by ``U``."""
    C = A @ U  # (m, s)
    C = C[np.any(C != 0, axis=1)]
    s = U.shape[1]
    keys = []
    for c in C:
        p = int(np.nonzero(c)[0][0])
        K = np.zeros((s, s - 1), dtype=U.dtype)
        col = 0
        for i in range(s):
            if i != p:
                K[i, col], K[p, col] = c[p], -c[i]
                col += 1
        keys.append(_closure_key(A, U @ K))
    return keys


def _ray_children(A: np.ndarray, U: np.ndarray) -> np.ndarray:
    """Primitive sign-normalised directions of ``F n H`` for planes ``F`` (batch ``U``: (f, k, 2))."""
    C = np.einsum("mk,fks->fms", A, U)  # (f, m, 2)
    R = C[:, :, 1:2] * U[:, None, :, 0] - C[:, :, 0:1] * U[:, None, :, 1]  # (f, m, k)
    R = R.reshape(-1, U.shape[1])
    R = R[np.any(R != 0, axis=1)]
    g = np.gcd.reduce(R, axis=1)
    R = R // g[:, None]
    first = np.argmax(R != 0, axis=1)
    return R * np.sign(R[np.arange(len(R)), first])[:, None]


def _as_void(R: np.ndarray) -> np.ndarray:
    R = np.ascontiguousarray(R.astype(np.int64))
    return R.view(np.dtype((np.void, 8 * R.shape[1]))).ravel()


def recheck_arrangement(cert: dict, *, timeout: float | None = None):
    """Re-check an arrangement certificate; returns :class:`verify.certificates.RecheckResult`."""
    from ..certificates import CertificateError, RecheckResult

    checks: list[str] = []
    try:
        _recheck(cert, checks)
    except _Fails as exc:
        return RecheckResult(False, str(exc), checks)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, CertificateError):
            raise
        raise CertificateError(f"malformed arrangement certificate ({type(exc).__name__}: {exc})") from None
    return RecheckResult(True, f"{len(checks)} checks passed", checks)


def _recheck(cert: dict, checks: list) -> None:
    import flint

    from ..backends.evaluator import evaluate
    from ..certificates import CertificateError
    from ..io.json_format import network_from_mapping, network_hash
    from ..ir.layers import to_layers
    from ..numbers import parse_rational

    if not isinstance(cert, dict) or cert.get("format") != ARRANGEMENT_FORMAT:
        raise CertificateError(f"not an arrangement certificate (expected format {ARRANGEMENT_FORMAT!r})")
    net = network_from_mapping(cert["network"], source="embedded network")
    if network_hash(net) != cert.get("network_sha256"):
        raise _Fails("network hash mismatch")
    checks.append("network hash matches the embedded network")
    layers = to_layers(net)
    if layers is None or len(layers) > 3 or any(b != 0 for l in layers for b in l.bias):
        raise _Fails("the embedded network is not a bias-free layered network with at most two hidden layers")
    if net.windows is None:
        raise CertificateError("the embedded network has several outputs and no windows")
    d = net.n_inputs

    hyper = [tuple(int(t) for t in h) for h in cert["hyperplanes"]]
    if any(len(h) != d for h in hyper):
        raise CertificateError("a hyperplane has the wrong dimension")
    stored = {_prim(h) for h in hyper if _prim(h) is not None}
    need = _required_hyperplanes(layers, d, net.windows)
    missing = need - stored
    if missing:
        raise _Fails(f"{len(missing)} hyperplane(s) the network needs are missing, e.g. {sorted(missing)[0]}")
    checks.append(f"all {len(need)} hyperplanes the network needs are among the {len(hyper)} stored")

    k = int(cert["rank"])
    pivots = [int(p) for p in cert["pivots"]]
    full = flint.fmpz_mat([list(h) for h in hyper]) if hyper else None
    rank = full.rank() if full is not None else 0
    if rank != k or len(pivots) != k or len(set(pivots)) != k or not all(0 <= p < d for p in pivots):
        raise _Fails(f"stored rank {k} / pivots {pivots} do not match the hyperplanes (rank {rank})")
    if k and flint.fmpz_mat([[h[p] for p in pivots] for h in hyper]).rank() != k:
        raise _Fails("the hyperplanes restricted to the pivot coordinates lose rank")
    lin = [tuple(int(t) for t in v) for v in cert["lineality"]]
    if len(lin) != d - k or any(len(v) != d for v in lin):
        raise _Fails(f"the lineality basis must have {d - k} vectors of length {d}")
    if lin and flint.fmpz_mat([list(v) for v in lin]).rank() != len(lin):
        raise _Fails("the lineality vectors are dependent")
    if any(sum(a * b for a, b in zip(h, v)) != 0 for h in hyper for v in lin):
        raise _Fails("a lineality vector is not in every hyperplane")
    checks.append(f"rank {k}, pivots and the {d - k}-dimensional lineality space are right")

    A = np.array([[h[p] for p in pivots] for h in hyper], dtype=object).reshape(len(hyper), k)
    if A.size and int(np.abs(A).max()) < 2 ** 20:
        A = A.astype(np.int64)
    flats = {1: [(i,) for i in range(len(hyper))]}
    for key, rows in cert["flats"].items():
        flats[int(key)] = [tuple(int(t) for t in r) for r in rows]
    rays = [tuple(int(t) for t in r) for r in cert["rays"]]
    if any(len(r) != d for r in rays):
        raise CertificateError("a ray has the wrong dimension")
    pset = set(pivots)
    if any(r[i] != 0 for r in rays for i in range(d) if i not in pset):
        raise _Fails("a stored ray is not written on the pivot coordinates")
    ray_keys = {_line_key([r[p] for p in pivots]) for r in rays if any(r)}
    if k >= 2:
        level_keys: dict = {}
        for j in range(2, k - 1):
            keys = set()
            for idx in flats.get(j, []):
                U, nullity = _kernel_basis([A[i].tolist() for i in idx], k)
                if nullity != k - j:
                    raise _Fails(f"a stored flat of rank {j} is cut out by dependent hyperplanes {idx}")
                keys.add(_closure_key(A, np.array(U, dtype=A.dtype)))
            level_keys[j] = keys
        total = 0
        for j in range(1, k - 2):
            for idx in flats.get(j, []):
                U, nullity = _kernel_basis([A[i].tolist() for i in idx], k)
                if nullity != k - j:
                    raise _Fails(f"a stored flat of rank {j} is cut out by dependent hyperplanes {idx}")
                for child in _children(A, np.array(U, dtype=A.dtype)):
                    total += 1
                    if child not in level_keys[j + 1]:
                        raise _Fails(f"the flats are not closed under intersection: a flat of rank {j + 1} "
                                     f"inside the stored flat {idx} is missing")
        planes = [np.eye(k, dtype=np.int64).tolist()] if k == 2 else []
        for idx in (flats.get(k - 2, []) if k > 2 else []):
            U, nullity = _kernel_basis([A[i].tolist() for i in idx], k)
            if nullity != 2:
                raise _Fails(f"a stored flat of rank {k - 2} is cut out by dependent hyperplanes {idx}")
            planes.append(U)
        if A.dtype == object or (planes and int(np.abs(np.array(planes, dtype=object)).max()) >= 2 ** 20):
            raise CertificateError("ray closure check supports entries below 2^20 only")  # int64-safe bound
        known = np.sort(_as_void(np.array(sorted(ray_keys), dtype=np.int64).reshape(len(ray_keys), k)))
        for c0 in range(0, len(planes), 2048):
            U = np.array(planes[c0:c0 + 2048], dtype=np.int64).reshape(-1, k, 2)
            R = _as_void(_ray_children(A, U))
            total += len(R)
            pos = np.searchsorted(known, R)
            pos[pos == len(known)] = 0
            if len(R) and not np.all(known[pos] == R):
                raise _Fails(f"the flats are not closed under intersection: a line inside a stored flat of "
                             f"rank {k - 2} is not among the stored rays")
        checks.append(f"closure: {total} intersections of stored flats with hyperplanes are all stored; "
                      f"every line of rank {k - 1} is among the {len(rays)} stored rays")
    elif k == 1 and not rays:
        raise _Fails("rank 1 needs the one line modulo the lineality space")

    mats, qs = zip(*(_int_matrix(layer) for layer in layers))
    Q = math.prod(qs)
    pts = np.array([list(r) for r in rays] + [[-t for t in r] for r in rays] + [list(v) for v in lin]
                   + [[-t for t in v] for v in lin], dtype=object).reshape(-1, d)
    if pts.size and int(np.abs(pts).max()) < 2 ** 40:
        pts = pts.astype(np.int64)
    Y = _forward(list(mats), pts)
    for o, w in enumerate(net.windows):
        ref = pts[:, list(w)].max(axis=1)
        bad = np.nonzero(Y[:, o] != ref * Q)[0]
        if len(bad):
            x = [int(t) for t in pts[bad[0]]]
            raise _Fails(f"N differs from max at the point {x} (output {o})")
    values = cert.get("values", [])
    if values:
        n_out = len(net.windows)
        if len(values) != len(rays):
            raise _Fails("the stored values do not match the rays")
        for i, v in enumerate(values):
            want = [Fraction(int(Y[i, o]), Q) for o in range(n_out)] + [Fraction(int(Y[len(rays) + i, o]), Q)
                                                                        for o in range(n_out)]
            if [parse_rational(t) for t in v] != want:
                raise _Fails(f"stored values at ray {i} differ from exact evaluation")
    checks.append(f"exact integer evaluation: N == max at {len(pts)} points (both half-lines of every ray, "
                  f"both signs of the lineality basis)")
    rnd = random.Random(7)
    for r in rnd.sample(rays, min(12, len(rays))) + lin[:1]:
        x = tuple(Fraction(t) for t in r)
        y = evaluate(net, x)
        for o, w in enumerate(net.windows):
            if y[o] != max(x[i] for i in w):
                raise _Fails(f"the exact evaluator disagrees with max at {list(r)}")
    checks.append("the exact rational evaluator agrees at sampled rays")


#: The checker under the name the certificate kinds share (``verify recheck`` dispatches on the format).
recheck = recheck_arrangement
