"""Linear pieces: connected components of the union of regions that share one affine map.

Adjacency is across common (d-1)-dimensional facets, decided from an exact point in the relative
interior of the facet (an LP proposes it, exact projection and z3 confirm it, emptiness needs a Motzkin
certificate or z3).

References
----------
Serra, Tjandraatmadja, Ramalingam, ICML 2018 (arXiv:1711.02114); Humayun et al., "SplineCam", CVPR 2023.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ...backends.highs_session import HighsModel, LPStatus
from ...backends.patterns import Region
from ...deadline import Deadline
from ...errors import ToolkitBugError
from .enumerate import GREY as _GREY
from .enumerate import RegionEnumerator
from .exact import norm_key

__all__ = ["linear_pieces"]


def linear_pieces(regions: list[Region], enum: RegionEnumerator, deadline: Deadline | None = None) -> int | None:
    """Number of connected components of same-map regions, adjacency across common facets.

    For a region R1 and each hyperplane h among its constraints, the pattern across h is computed
    exactly (:meth:`RegionEnumerator.neighbour_pattern`). If h is a facet of R1, the region across has
    that pattern; so a pattern that is not a region, or a region with another map, needs no further
    work. For a candidate R2 with the same map, adjacency is confirmed exactly: a rational point ``p``
    with ``h(p) = 0`` and every other constraint of R1 strictly positive (LP, exact projection, z3;
    emptiness needs a Motzkin certificate or z3), with ``p`` in the closure of R2 and R2 on the side
    ``h < 0``. Then R2 is the unique region across the relative interior of the facet (no hyperplane
    can split it: pre-activations are continuous). Union-find gives the pieces. Returns None on timeout.
    """
    d = enum.c.d
    index = {r.pattern: k for k, r in enumerate(regions)}
    parent = list(range(len(regions)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    groups: dict = {}
    for k, r in enumerate(regions):
        groups.setdefault(r.maps, []).append(k)
    for members in groups.values():
        if len(members) < 2:
            continue
        components = len(members)
        for k in members:
            if components == 1:
                break  # the whole group is one piece already
            if deadline is not None and deadline.expired():
                return None
            r1 = regions[k]
            classes: dict = {}
            for row in r1.constraints:
                classes.setdefault(norm_key(row), row)
            keys = list(classes)
            for hk in keys:
                other = index.get(enum.neighbour_pattern(r1.pattern, hk))
                if other is None or other == k or regions[other].maps != r1.maps or find(other) == find(k):
                    continue
                r2 = regions[other]
                neg = tuple(-v for v in hk)
                if not any(norm_key(row) == neg for row in r2.constraints):
                    continue
                p = _facet_point(enum, classes[hk], [classes[o] for o in keys if o != hk])
                if p is None:
                    continue  # h meets the closure of R1 in less than a facet
                if isinstance(p, str):
                    return None
                if all(sum(int(r[i]) * p[i] for i in range(d)) + int(r[d]) >= 0 for r in r2.constraints):
                    parent[find(k)] = find(other)
                    components -= 1
                else:  # pragma: no cover - would contradict the uniqueness of the region across a facet
                    raise ToolkitBugError(f"region {r2.pattern} was computed across a facet of {r1.pattern} but does not touch it")
    return len({find(k) for k in range(len(regions))})


def _facet_point(enum: RegionEnumerator, h, others):
    """Exact point with ``h = 0``, all ``others > 0`` and inside the open box; None if none exists."""
    d = enum.c.d
    hs = HighsModel()
    dom = enum.domain
    for i in range(d):
        if enum.box_den is not None:
            hs.add_var(float(dom.lo[i]), float(dom.hi[i]))
        else:
            hs.add_var(None, None)
    cap = enum.scale
    hs.add_var(None, cap)
    hs.set_cost(d, 1.0)
    hs.maximize()
    idx = np.arange(d + 1, dtype=np.int32)
    if enum.box_den is not None:
        for i in range(d):
            hs.add_row(float(dom.lo[i]), None, [i, d], [1.0, -1.0])
            hs.add_row(None, float(dom.hi[i]), [i, d], [1.0, 1.0])
    a, k = enum._float_row(h)
    scale = float(np.linalg.norm(a)) or 1.0
    hs.add_row(-k / scale, -k / scale, idx[:d], a / scale)
    for r in others:
        a, k = enum._float_row(r)
        nrm = float(np.linalg.norm(a)) or 1.0
        vals = np.append(a / nrm, -1.0)
        hs.add_row(-k / nrm, None, idx, vals)
    enum.lp_solves += 1
    candidates = []
    if hs.run() is LPStatus.OPTIMAL:
        solution = hs.solution()
        sol = solution.x
        t = sol[d]
        if t > _GREY * cap:
            candidates.append(sol[:d])
        else:
            # Empty facet: accepted only with an exact Motzkin certificate (else z3 decides below).
            rd = solution.row_dual
            nb = 2 * d if enum.box_den is not None else 0
            duals = (rd[nb + 1:], rd[:nb], solution.col_dual[:d], sol[:d])
            if enum._certified_empty(list(others), equal=h, duals=duals):
                enum.certificates += 1
                return None
    hv = [int(v) for v in h]
    hn = sum(v * v for v in hv[:d])
    for c in candidates:
        for lim in (None, 10 ** 6, 10 ** 12):
            x = [Fraction(float(v)) if lim is None else Fraction(float(v)).limit_denominator(lim) for v in c]
            # exact projection onto h = 0
            s = sum(hv[i] * x[i] for i in range(d)) + hv[d]
            x = tuple(x[i] - s * hv[i] / hn for i in range(d))
            if enum._exact_ok(x, others):
                return x
    # exact fallback: z3 with the equality
    return enum._z3_point(others, equal=h)
