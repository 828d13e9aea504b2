"""Sound pre-activation bounds: exact interval arithmetic, then LP bound tightening (OBBT).

Every bound returned here is an exact rational valid at every point of the domain (a box, optionally
cut by linear constraints). Interval arithmetic is exact already (:mod:`verify.backends.intervals`);
optimisation-based bound tightening maximises and minimises each unstable pre-activation over the
triangle relaxation of the layers below it, and keeps a float LP optimum only through its exactly
certified safe dual bound (:meth:`verify.backends.lp_relax.ReluLP.solve`). Bounds are rounded outward
to multiples of 2^-32 when their denominators grow, which keeps them sound and the arithmetic fast.

References
----------
V. Tjeng, K. Xiao and R. Tedrake, "Evaluating robustness of neural networks with mixed integer
programming", ICLR 2019 (bound tightening before MILP).
A. Neumaier and O. Shcherbina, "Safe bounds in linear and mixed-integer linear programming",
Math. Program. 99 (2004) 283-296.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

from ..domain import Box
from ..ir.graph import Network
from ..errors import VerifyError
from ..ir.ops import Op
from ..ir.walk import Handlers, plan
from .lp_relax import ReluLP, dyadic_ceil, dyadic_floor

__all__ = ["propagate_intervals", "sound_bounds", "unstable_relus"]

_BITS = 32


def _tidy_lo(q: Fraction) -> Fraction:
    return q if q.denominator <= (1 << _BITS) else dyadic_floor(q, _BITS)


def _tidy_hi(q: Fraction) -> Fraction:
    return q if q.denominator <= (1 << _BITS) else dyadic_ceil(q, _BITS)


# -- the integer plan: compiled once per network by a walk, run for every box and set of known bounds --
# Bounds are integers in units of 2^-32; each step maps (lo_, hi_) of earlier nodes to its own (lo, hi).
def _run_input(i, lo_, hi_, box, one):
    return math.floor(box.lo[i] * one), math.ceil(box.hi[i] * one)


def _run_affine(data, lo_, hi_, box, one):
    pos, neg, b, s = data
    lo = hi = b
    for p, w in pos:
        lo += w * lo_[p]
        hi += w * hi_[p]
    for p, w in neg:
        lo += w * hi_[p]
        hi += w * lo_[p]
    return lo // s, -((-hi) // s)


def _run_relu(p, lo_, hi_, box, one):
    return max(lo_[p], 0), max(hi_[p], 0)


def _run_max(preds, lo_, hi_, box, one):
    return max(lo_[p] for p in preds), max(hi_[p] for p in preds)


def _run_copy(p, lo_, hi_, box, one):
    return lo_[p], hi_[p]


def _step_input(_ctx, net, node, _values):
    return node, _run_input, net.graph.nodes[node]["index"]


def _step_affine(_ctx, net, node, _values):
    terms = net.affine_terms(node)
    s = net.bias(node).denominator
    for _, w in terms:
        s = math.lcm(s, w.denominator)
    pos = [(p, int(w * s)) for p, w in terms if w > 0]
    neg = [(p, int(w * s)) for p, w in terms if w < 0]
    return node, _run_affine, (pos, neg, int(net.bias(node) * s) << _BITS, s)


def _step_relu(_ctx, net, node, _values):
    return node, _run_relu, net.single_pred(node)


def _step_max(_ctx, net, node, _values):
    return node, _run_max, net.preds(node)


def _step_output(_ctx, net, node, _values):
    return node, _run_copy, net.single_pred(node)


INT_PLAN = Handlers("bounds.int-plan", {Op.INPUT: _step_input, Op.AFFINE: _step_affine, Op.RELU: _step_relu,
                                        Op.MAX: _step_max, Op.OUTPUT: _step_output})


class _IntPlan:
    """Integer-scaled copy of a network for fast exact interval propagation.

    Bounds are kept as integers in units of 2^-32 and rounded outward (floor for lower, ceiling for
    upper bounds) after every affine node: plain integer arithmetic, exact and sound.
    """

    def __init__(self, net: Network):
        self.steps = plan(net, INT_PLAN)

    def run(self, box: Box, known: dict) -> dict:
        one = 1 << _BITS
        lo_: dict = {}
        hi_: dict = {}
        for n, run, data in self.steps:
            lo, hi = run(data, lo_, hi_, box, one)
            if n in known:
                klo, khi = known[n]
                lo = max(lo, math.floor(klo * one))
                hi = min(hi, math.ceil(khi * one))
            lo_[n], hi_[n] = lo, hi
        return {n: (Fraction(lo_[n], one), Fraction(hi_[n], one)) for n, _, _ in self.steps}


def propagate_intervals(net: Network, box: Box, known: dict | None = None) -> dict:
    """Exact interval bounds ``node -> (lo, hi)`` for a ReLU network, intersected with ``known`` ones.

    ``known`` holds bounds already proved for the same region (e.g. by LP or by branching); the result
    is the interval image of those, so it is sound for every point of the region where ``known`` holds.
    Bounds are multiples of 2^-32, rounded outward (still sound, and cheap to compute with).
    """
    return net.memo("bounds.int-plan", lambda: _IntPlan(net)).run(box, known or {})


def unstable_relus(net: Network, bounds: dict) -> list:
    """ReLUs whose pre-activation bounds straddle 0 (the only ones a search has to split)."""
    out = []
    for r in net.relu_nodes:
        lo, hi = bounds[net.single_pred(r)]
        if lo < 0 < hi:
            out.append(r)
    return out


def sound_bounds(net: Network, box: Box, constraints: Sequence = (), *, method: str = "lp",
                 known: dict | None = None, deadline=None, stats: dict | None = None) -> dict:
    """Sound bounds for every node of a ReLU-only network over ``box`` cut by ``constraints``.

    Parameters
    ----------
    net : Network
        ReLU-only (lower ``max`` nodes first with :func:`verify.constructions.emulate.max_free`).
    box : Box
    constraints : sequence of (dict input index -> Fraction, Fraction)
        Extra linear constraints ``sum_i a_i x_i <= b``.
    method : {"interval", "lp"}
        "lp" tightens every unstable pre-activation by two LPs over the relaxation of the layers
        below it, each certified exactly; "interval" stops after interval arithmetic.
    known : dict, optional
        Bounds already known to hold on the region (intersected in).
    deadline : Deadline, optional
        When it expires, tightening stops; the bounds so far are returned (still sound).

    Returns
    -------
    dict
        ``node -> (lo, hi)`` exact Fractions.

    Examples
    --------
    >>> from verify.constructions import max_tree
    >>> from verify.constructions.emulate import max_free
    >>> net = max_free(max_tree(2))
    >>> b = sound_bounds(net, Box.cube(2))
    >>> b[net.outputs[0]]  # sound, not tight: max(x, y) on [0,1]^2 lies in [0, 1]
    (Fraction(0, 1), Fraction(2, 1))
    """
    bounds = propagate_intervals(net, box, known)
    if method == "interval":
        return bounds
    if method != "lp":
        raise VerifyError(f"unknown bounds method {method!r} (choose interval or lp)")
    st = stats if stats is not None else {}
    st.setdefault("obbt_lps", 0)
    st.setdefault("obbt_tightened", 0)
    # Pre-activations grouped by the number of ReLUs below them.
    pre = {}
    for r in net.relu_nodes:
        p = net.single_pred(r)
        pre.setdefault(net.relu_level[p], []).append(p)
    for level in sorted(pre):
        if level == 0 and not constraints:
            continue  # interval bounds of an affine function over a box are exact
        todo = [p for p in dict.fromkeys(pre[level]) if bounds[p][0] < 0 < bounds[p][1]]
        if not todo:
            continue
        anc = set(todo)
        for p in todo:
            anc |= _ancestors(net, p)
        lp = ReluLP(net, box, constraints, nodes=anc)
        changed = False
        for p in todo:
            if deadline is not None and deadline.expired():
                return bounds
            lo, hi = bounds[p]
            for sign in (1, -1):
                sol = lp.solve(bounds, {p: sign})
                st["obbt_lps"] += 1
                if sol.empty:
                    # The region is empty: any bounds are sound; keep a contradictory pair.
                    return _empty(bounds)
                if sol.bound is None:
                    continue
                if sign == 1 and sol.bound < hi:
                    hi = _tidy_hi(sol.bound)
                elif sign == -1 and -sol.bound > lo:
                    lo = _tidy_lo(-sol.bound)
            if (lo, hi) != bounds[p]:
                st["obbt_tightened"] += 1
                bounds[p] = (lo, hi)
                changed = True
        if changed:
            bounds = propagate_intervals(net, box, bounds)
    return bounds


def _empty(bounds: dict) -> dict:
    return {n: (Fraction(1), Fraction(0)) for n in bounds}


def _ancestors(net: Network, node) -> set:
    import networkx as nx

    return nx.ancestors(net.graph, node)
