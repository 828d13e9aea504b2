"""Independent re-check of a ``verify-search/1`` certificate: max_n is not in a family.

Two kinds.

``one-hidden-layer``: points ``r_i`` and integers ``y_i`` with ``sum y_i r_i = 0`` and
``v = sum y_i (max r_i + min r_i) != 0``. The functional ``f -> sum y_i (f(r_i) - f(-r_i))`` vanishes on
every bias-free one-hidden-layer function (``f(x) - f(-x)`` is linear for them) and equals ``v`` on
``max``; so no such network computes ``max_n`` (networks with biases reduce to this case through their
recession function, since ``max_n`` is positively homogeneous).

``family`` / ``symmetric-family``: points ``r_i`` and integers ``y_i``; for the symmetric kind the
functional is spread over every permutation of every point, ``Y = sum_i y_i sum_{s in S_n} delta_{s r_i}``
(for ``family`` it is ``sum_i y_i delta_{r_i}``). The checker enumerates the family again with its own
code (corner-point sets of lattice zonotopes in ``w * Delta``, closed under adding a lattice difference;
joins as unions of two corner sets; support functions as maxima over the points, no vertex sets) and
checks ``Y(h_b) = 0`` for every block ``b`` (for the symmetric kind one block per orbit suffices, as
``Y`` is invariant), ``Y(x_j) = 0`` for every coordinate, and ``Y(max) != 0``. Then
``Y(sum c_b h_b + l) = 0 != Y(max)`` for every combination, so none equals ``max_n``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["recheck_search", "recheck", "SEARCH_FORMAT"]

SEARCH_FORMAT = "verify-search/1"


class _Fails(Exception):
    pass


def _lattice(n: int, w: int) -> list[tuple[int, ...]]:
    return [p for p in itertools.product(range(w + 1), repeat=n) if sum(p) == w]


def _corner_sets(n: int, w: int) -> set:
    """All corner-point sets of lattice zonotopes with corners in ``w * Delta`` (breadth first)."""
    pts = _lattice(n, w)
    inside = set(pts)
    diffs = {tuple(a - b for a, b in zip(p, q)) for p in pts for q in pts if p != q}
    seen = {frozenset([p]) for p in pts}
    frontier = list(seen)
    while frontier:
        nxt = []
        for C in frontier:
            for g in diffs:
                moved = {tuple(a + b for a, b in zip(c, g)) for c in C}
                if moved <= inside:
                    D = C | moved
                    if D not in seen:
                        seen.add(D)
                        nxt.append(D)
        frontier = nxt
    return seen


def _family_classes(n: int, w: int, hidden: int) -> list[frozenset]:
    """One point set per orbit of blocks (zonotopes, and for two hidden layers joins of two)."""
    zs = _corner_sets(n, w)
    reps: dict = {}
    for C in zs:
        reps.setdefault(_canon_fast(C, n), C)
    out = dict(reps)
    if hidden == 2:
        for C1 in list(reps.values()):
            for C2 in zs:
                U = C1 | C2
                out.setdefault(_canon_fast(U, n), U)
    return list(out.values())


def _canon_fast(points, n: int) -> tuple:
    """Like :func:`_canon` but trying only orders that sort the columns by their sorted values."""
    P = list(points)
    prof = [tuple(sorted(p[c] for p in P)) for c in range(n)]
    groups: dict = {}
    for c in range(n):
        groups.setdefault(prof[c], []).append(c)
    best = None
    for combo in itertools.product(*[itertools.permutations(groups[k]) for k in sorted(groups)]):
        order = [c for g in combo for c in g]
        cand = tuple(sorted(tuple(p[c] for c in order) for p in P))
        if best is None or cand < best:
            best = cand
    return best


def _expand(points: list, y: list, symmetric: bool) -> tuple[np.ndarray, list[int]]:
    """The support and weights of ``Y`` (distinct permuted points with summed weights)."""
    acc: dict = {}
    for r, c in zip(points, y):
        imgs = [tuple(r[i] for i in perm) for perm in itertools.permutations(range(len(r)))] if symmetric else [tuple(r)]
        for p in imgs:
            acc[p] = acc.get(p, 0) + c
    pts = [p for p, c in acc.items() if c != 0]
    return np.array(pts, dtype=np.int64).reshape(len(pts), len(points[0])), [acc[p] for p in pts]


def recheck_search(cert: dict, *, timeout: float | None = None):
    """Re-check a search certificate; returns :class:`verify.certificates.RecheckResult`."""
    from ..certificates import CertificateError, RecheckResult

    checks: list[str] = []
    try:
        _recheck(cert, checks)
    except _Fails as exc:
        return RecheckResult(False, str(exc), checks)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, CertificateError):
            raise
        raise CertificateError(f"malformed search certificate ({type(exc).__name__}: {exc})") from None
    return RecheckResult(True, f"{len(checks)} checks passed: {cert.get('claim', '')}", checks)


def _int(v) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected an integer, got {v!r}")
    return v


def _recheck(cert: dict, checks: list) -> None:
    from ..certificates import CertificateError

    if not isinstance(cert, dict) or cert.get("format") != SEARCH_FORMAT:
        raise CertificateError(f"not a search certificate (expected format {SEARCH_FORMAT!r})")
    kind = cert["kind"]
    n = _int(cert["n"])
    if not 2 <= n <= 9:
        raise CertificateError(f"n = {n} is outside 2..9")
    points = [[_int(t) for t in r] for r in cert["points"]]
    y = [_int(t) for t in cert["y"]]
    if len(points) != len(y) or any(len(r) != n for r in points):
        raise CertificateError("points and y do not match, or a point has the wrong length")
    if kind == "one-hidden-layer":
        s = [sum(c * r[i] for c, r in zip(y, points)) for i in range(n)]
        if any(s):
            raise _Fails(f"sum y_i r_i = {s} is not zero")
        v = sum(c * (max(r) + min(r)) for c, r in zip(y, points))
        if v == 0:
            raise _Fails("the functional vanishes on max as well")
        if v != cert.get("value"):
            raise _Fails(f"the functional gives {v} on max, not the stored {cert.get('value')}")
        checks.append(f"sum y_i r_i = 0 over {len(points)} points: the functional vanishes on every one-hidden-layer function")
        checks.append(f"on max of {n} it gives {v} != 0")
        return
    if kind not in ("family", "symmetric-family"):
        raise CertificateError(f"unknown certificate kind {kind!r}")
    w = _int(cert["weight"])
    hidden = _int(cert["hidden"])
    if hidden not in (1, 2) or not 1 <= w <= 4:
        raise CertificateError("hidden must be 1 or 2 and the weight 1..4")
    symmetric = kind == "symmetric-family"
    P, Y = _expand(points, y, symmetric)
    Yo = np.array(Y, dtype=object)
    vmax = int(np.dot(Yo, P.max(axis=1).astype(object)))
    if vmax == 0:
        raise _Fails("the functional vanishes on max")
    scale = math.factorial(n) if symmetric else 1
    if vmax != cert.get("value") * scale:
        raise _Fails(f"the functional gives {vmax} on max, not the stored value times {scale}")
    checks.append(f"the functional has {len(P)} points and gives {vmax} != 0 on max of {n}")
    lin = [int(np.dot(Yo, P[:, j].astype(object))) for j in range(n)]
    if any(lin):
        raise _Fails(f"the functional does not vanish on the linear function x_{lin.index(next(v for v in lin if v)) + 1}")
    checks.append("it vanishes on every linear function")
    classes = _family_classes(n, w, hidden) if symmetric else list(_all_blocks(n, w, hidden))
    Pf = P.astype(np.float64)
    for S in classes:
        pts = np.array(sorted(S), dtype=np.float64).T  # (n, k)
        h = np.rint((Pf @ pts).max(axis=1)).astype(np.int64)  # exact: small integers
        if int(np.dot(Yo, h.astype(object))) != 0:
            raise _Fails(f"the functional does not vanish on the block with points {sorted(S)}")
    checks.append(f"it vanishes on the support function of every block: {len(classes)} "
                  f"{'orbit representatives' if symmetric else 'blocks'} of the weight-{w} family with "
                  f"{hidden} hidden layer(s), enumerated again here")


def _all_blocks(n: int, w: int, hidden: int):
    zs = _corner_sets(n, w)
    if hidden == 1:
        yield from zs
        return
    seen = set()
    zl = list(zs)
    for i, a in enumerate(zl):
        for b in zl[i:]:
            u = a | b
            if u not in seen:
                seen.add(u)
                yield u


#: The checker under the name the certificate kinds share (``verify recheck`` dispatches on the format).
recheck = recheck_search
