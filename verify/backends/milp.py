"""MILP backend: exact maximisation of a ReLU network over a polytope, guided by HiGHS.

:func:`maximize` computes ``sup { D(x) : x in box, A x <= b }`` for a ReLU-only network ``D`` with one
output (a difference network, :func:`verify.reductions.difference.difference_network`), exactly:

1. sound bounds: exact intervals, then LP bound tightening with exact safe dual bounds
   (:mod:`verify.backends.bounds`); ReLUs proved stable are fixed;
2. candidates: a HiGHS MILP with big-M constants from those bounds (Tjeng et al., 2019), sampled
   points and LP solutions give points; each is evaluated **exactly** and polished by an exact LP on
   its activation region (z3 in linear real arithmetic), so the incumbent is attained at its witness;
3. proof: a branch and bound over the unstable ReLUs. A node is a set of pre-activation bounds (a
   branch on ReLU ``r`` splits its pre-activation at 0, then exact interval propagation tightens the
   rest). A node is closed only by an exact argument: the safe dual bound of its triangle relaxation
   is at most the incumbent, a Farkas certificate shows it is empty, or z3 (with the node's bounds
   asserted and its stable ReLUs fixed) proves that no point of it beats the incumbent.

The float MILP optimum is never a verdict: it only proposes witnesses. A timeout gives UNKNOWN with
the incumbent (attained) and the largest exact bound of the open nodes (a sound upper bound).

References
----------
V. Tjeng, K. Xiao and R. Tedrake, "Evaluating robustness of neural networks with mixed integer
programming", ICLR 2019.
R. Bunel, I. Turkaslan, P. Torr, P. Kohli and M. P. Kumar, "A unified view of piecewise linear neural
network verification", NeurIPS 2018 (branch and bound over ReLU splits).
A. Neumaier and O. Shcherbina, "Safe bounds in linear and mixed-integer linear programming",
Math. Program. 99 (2004) 283-296.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..deadline import Deadline
from ..domain import Box
from ..numbers import near_dyadic
from ..errors import DeadlineExpired, FloatRangeError
from ..ir.graph import Network
from .. import progress
from .bounds import propagate_intervals, sound_bounds, unstable_relus
from ..status import Status
from .evaluator import evaluate_batch
from .float_range import FLOAT_LIMIT, float_range_issue
from .patterns import activation_pattern, affine_plan, forms_fit, pattern_affine_map, pattern_constraints
from .highs_session import LPStatus
from .lp_relax import ReluLP
from .milp_encoding import milp_candidate
from .z3_session import Z3Session

__all__ = ["maximize", "MaxResult", "milp_candidate"]

# Above this many unstable ReLUs a nearly closed node is split further instead of handed to z3.
Z3_LEAF_UNSTABLE = 4
# Split the input box (instead of a ReLU) while at least this many first-layer ReLUs are unstable.
INPUT_SPLIT_MIN = 3
# At most this many sampled coordinates (samples x inputs) are evaluated in floats (memory).
MAX_SAMPLE_ENTRIES = 1 << 22


@dataclass(frozen=True)
class MaxResult:
    """The answer of a maximisation: ``status`` PROVED (``value`` is the supremum, or no point exceeds
    ``floor``) or UNKNOWN (``reason`` says why).

    ``value``/``witness``: the best exact value found and a point attaining it (``None`` if no point
    beat ``floor``); ``upper``: a sound upper bound of the supremum; ``stopped``: the search ended
    early because a point above ``stop_above`` was found.
    """

    status: Status
    value: Fraction | None
    witness: tuple | None
    upper: Fraction | None
    stopped: bool = False
    reason: str = ""
    stats: dict = field(default_factory=dict)


def _satisfies(x, constraints) -> bool:
    return all(sum(a * x[i] for i, a in c.items()) <= b for c, b in constraints)


def _rationalize(v: np.ndarray, box: Box) -> tuple:
    pts = []
    for i, f in enumerate(v):
        q = near_dyadic(f, 24)
        pts.append(min(max(q, box.lo[i]), box.hi[i]))
    return tuple(pts)


class _Search:
    def __init__(self, net, box, constraints, deadline, floor, stop_above, stats):
        self.net = net
        self.box = box
        self.constraints = [({int(i): Fraction(a) for i, a in c.items()}, Fraction(b)) for c, b in constraints]
        self.deadline = deadline
        self.out_pre = net.single_pred(net.outputs[0])
        self.best = None  # the incumbent: an exact value attained at best_x (None: no point yet)
        self.best_x = None
        self.floor = floor
        self.stop_above = stop_above
        self.stats = stats
        self._polished: set = set()
        self._plan = affine_plan(net)
        self._out = self._plan.output_positions[0]
        self.upper0 = None  # the root's sound bound, once known (reported if the time runs out)

    @property
    def target(self) -> Fraction | None:
        """The value a point has to beat: the incumbent, else the floor (None: anything will do)."""
        return self.best if self.best is not None else self.floor

    def value(self, point) -> Fraction:
        """The exact output at ``point`` (integer-scaled evaluation, :mod:`verify.backends.patterns`)."""
        vals, scale = self._plan.values_at(point)
        return Fraction(vals[self._out], self._plan.den[self._out] * scale)

    # -- incumbents ------------------------------------------------------------------------------
    def offer(self, point) -> bool:
        """Evaluate ``point`` exactly; keep it if it beats the incumbent (or the floor). True if it did.

        Every point is evaluated exactly: a float estimate could discard a point that is exactly better
        (a z3 model of a leaf, whose value is above the target by construction, included).
        """
        if point is None or not self.box.contains(point) or not _satisfies(point, self.constraints):
            return False
        v = self.value(point)
        t = self.target
        if t is None or v > t:
            self.best, self.best_x = v, tuple(point)
            self.stats["incumbents"] = self.stats.get("incumbents", 0) + 1
            self._polish(point)
            return True
        return False

    def _polish(self, point):
        """Exact best point of the closed activation region of ``point`` (an LP solved by z3)."""
        net = self.net
        if not forms_fit(net):  # the dense forms of a very wide network would not fit in memory
            return
        pattern = activation_pattern(net, point)
        if pattern.key in self._polished:
            return
        self._polished.add(pattern.key)
        (a,), (c,) = pattern_affine_map(net, pattern, [net.outputs[0]])
        rows = pattern_constraints(net, pattern) + [(tuple(coefs.get(i, 0) for i in range(net.n_inputs)), b)
                                                    for coefs, b in self.constraints]
        session = Z3Session(self.deadline)
        session.reals(net.n_inputs)
        self.stats["polish_lps"] = self.stats.get("polish_lps", 0) + 1
        answer = session.maximize_affine((a, c), rows, self.box)
        if not answer.sat:
            return
        pt = answer.point
        if self.box.contains(pt) and _satisfies(pt, self.constraints):
            v = self.value(pt)
            if v > self.best:
                self.best, self.best_x = v, pt

    def done(self) -> bool:
        return self.stop_above is not None and self.best is not None and self.best > self.stop_above

    # -- exact closure of a node by z3 -----------------------------------------------------------
    def z3_leaf(self, bounds, above: Fraction) -> str:
        """"closed" if z3 proves no point of the node has a value above ``above``, "improved" (a point of
        the node beat the incumbent), or "unknown"."""
        from .intervals import relu_phases
        from .z3_backend import Z3Lowering, domain_constraints

        net = self.net
        session = Z3Session(self.deadline)
        xs = session.reals(net.n_inputs)
        low = Z3Lowering(net, xs, prefix="l", phases=relu_phases(net, bounds))
        s = session.solver()
        s.add(*(domain_constraints(xs, self.box) + low.side))
        for c, b in self.constraints:
            s.add(session.linear(c, xs) <= session.rational(b))
        for p in list(net.inputs) + [net.single_pred(r) for r in net.relu_nodes]:
            lo, hi = bounds[p]
            s.add(low.values[p] >= session.rational(lo), low.values[p] <= session.rational(hi))
        s.add(low.outputs[0] > session.rational(above))
        self.stats["z3_leaves"] = self.stats.get("z3_leaves", 0) + 1
        answer = s.check()
        if answer.unsat:
            return "closed"
        if answer.sat and self.offer(answer.point):
            return "improved"
        return "unknown"


def maximize(net: Network, box: Box, constraints: Sequence = (), *, deadline=None, floor: Fraction | None = None,
             stop_above: Fraction | None = None, bounds: dict | None = None, candidates: Sequence = (),
             samples: int = 256, seed: int = 0, milp_time: float = 5.0, node_limit: int | None = None,
             split_inputs: bool = False) -> MaxResult:
    """Exact ``sup { net(x) : x in box, sum_i a_i x_i <= b for (a, b) in constraints }``.

    Parameters
    ----------
    net : Network
        ReLU-only, one output.
    floor : Fraction, optional
        A value already attained elsewhere: only points strictly above it matter (nodes whose exact
        bound is at most ``floor`` are closed). If no point beats it, ``value`` is ``None``.
    stop_above : Fraction, optional
        Stop as soon as an exactly evaluated point has a value above this (e.g. 0 for exactness).
    candidates : sequence of exact points
        Tried first (e.g. sampled or known witnesses).

    Returns
    -------
    MaxResult
    """
    issue = float_range_issue(net, box)
    if issue is not None:
        raise FloatRangeError(f"{issue.describe()}: beyond the float range the MILP backend's HiGHS guidance "
                              f"works in (magnitudes up to 1e100); the z3 backend is exact for it")
    stats: dict = {"nodes": 0, "lps": 0}
    deadline = deadline or Deadline(None)
    s = _Search(net, box, constraints, deadline, floor, stop_above, stats)
    try:
        return _run(s, net, box, deadline, bounds, candidates, samples, seed, milp_time, node_limit, split_inputs)
    except DeadlineExpired as exc:  # between the deadline checks of the loop: the incumbent stands
        return _result(s, "UNKNOWN", s.upper0, reason=f"timeout ({exc})")


def _run(s: "_Search", net, box, deadline, bounds, candidates, samples, seed, milp_time, node_limit, split_inputs):
    """The body of :func:`maximize` (candidates, then the branch and bound); see there."""
    stats = s.stats
    floor = s.floor
    if bounds is None:
        bounds = sound_bounds(net, box, s.constraints, method="lp", deadline=deadline, stats=stats)
    upper0 = bounds[s.out_pre][1]
    s.upper0 = upper0
    deadline.check("computing sound bounds")
    stats["unstable_root"] = len(unstable_relus(net, bounds))
    if any(lo > hi for lo, hi in bounds.values()):
        return MaxResult(Status.PROVED, None, None, floor, stats=stats)  # empty region
    # Candidates: given points, box centre and vertices, samples, a float MILP solution.
    for pt in candidates:
        deadline.check("evaluating start points")
        s.offer(tuple(pt))
    pts = [box.center()]
    if box.dim <= 8:
        for k in range(2 ** box.dim):
            pts.append(tuple(box.hi[i] if (k >> i) & 1 else box.lo[i] for i in range(box.dim)))
    if samples and not deadline.expired():
        samples = min(samples, max(8, MAX_SAMPLE_ENTRIES // max(box.dim, 1)))
        rng = np.random.default_rng(seed)
        lo = np.array([float(v) for v in box.lo])
        hi = np.array([float(v) for v in box.hi])
        X = lo + (hi - lo) * rng.random((samples, box.dim))
        vals = evaluate_batch(net, X)[:, 0]
        for row in X[np.argsort(-vals)[:4]]:
            pts.append(_rationalize(row, box))
    for k, pt in enumerate(pts):
        if s.done() or (k and deadline.expired()):
            break
        s.offer(pt)
    if not s.done() and milp_time > 0 and stats["unstable_root"] > 0 and not deadline.expired():
        rem = deadline.remaining()
        t = milp_time if rem is None else min(milp_time, rem / 2)
        x = milp_candidate(net, box, s.constraints, bounds, time_limit=t, deadline=deadline)
        stats["milp_runs"] = 1
        if x is not None:
            s.offer(_rationalize(x, box))
    if s.done():
        return _result(s, "PROVED", upper0, stopped=True)

    deadline.check("evaluating start points")
    lp = ReluLP(net, box, s.constraints)
    sens = [sum(abs(float(net.graph.edges[x, v].get("weight", 1))) for v in net.graph.successors(x)) or 1.0
            for x in net.inputs]
    counter = itertools.count()
    # Heap entries: (-float LP value of the parent: guidance, tie-break, bounds, sound upper bound).
    heap = [(-float(upper0), next(counter), bounds, upper0)]
    while heap:
        if deadline.expired() or (node_limit is not None and stats["nodes"] >= node_limit):
            open_upper = max(max(ub for _, _, _, ub in heap), s.target if s.target is not None else upper0)
            stats["open_nodes"] = len(heap)
            return _result(s, "UNKNOWN", open_upper, reason="timeout")
        _, _, nb, nub = heapq.heappop(heap)
        stats["nodes"] += 1
        if stats["nodes"] % 16 == 1 and progress.active():  # the bar's bracket: incumbent, largest open bound
            progress.report(nodes=stats["nodes"], attained=s.best, upper=max([nub] + [ub for _, _, _, ub in heap]))
        target = s.target
        if target is not None and nb[s.out_pre][1] <= target:
            continue  # exact interval bound already closes it
        sol = lp.solve(nb, {s.out_pre: 1}, time_limit=deadline.remaining(), exact=False)
        stats["lps"] += 1
        if sol.status is LPStatus.INFEASIBLE and sol.empty:
            continue
        if sol.status is LPStatus.OPTIMAL:
            if s.offer(_rationalize(sol.point, box)) and s.done():
                return _result(s, "PROVED", None, stopped=True)
            target = s.target
            if target is not None and sol.value <= float(target) + 1e-6 * (1 + abs(float(target))):
                b = lp.certify(sol, target)
                if b is not None and b <= target:
                    continue  # closed by the exact safe dual bound
        unstable = unstable_relus(net, nb)
        target = s.target
        near = sol.status is LPStatus.OPTIMAL and target is not None and sol.value <= float(target) + 1e-7 * (1 + abs(float(target)))
        if not unstable or (near and len(unstable) <= Z3_LEAF_UNSTABLE) or sol.status is not LPStatus.OPTIMAL and len(unstable) <= Z3_LEAF_UNSTABLE:
            # Nothing to beat yet: ask for any point of the node (every one is above its lower bound - 1).
            # The threshold is not an incumbent: no point attains it, so it is never stored as one.
            above = target if target is not None else nb[s.out_pre][0] - 1
            verdict = s.z3_leaf(nb, above)
            if verdict == "closed":
                continue
            if verdict == "improved":
                if s.done():
                    return _result(s, "PROVED", None, stopped=True)
                heapq.heappush(heap, (-(sol.value if sol.value is not None else float(nb[s.out_pre][1])), next(counter), nb, nub))
                continue
            return _result(s, "UNKNOWN", max([nub] + ([s.target] if s.target is not None else [])
                                             + [ub for _, _, _, ub in heap]), reason="z3 unknown on a leaf")
        if not unstable:
            return _result(s, "UNKNOWN", max([nub] + [ub for _, _, _, ub in heap]), reason="no split left")
        key = sol.value if sol.value is not None else float(nb[s.out_pre][1])
        # A sound upper bound for the children (reported if the search times out): dyadic safe bound.
        ub = min(nub, nb[s.out_pre][1])
        if sol.status is LPStatus.OPTIMAL:
            b = lp.certify(sol, target=_HUGE)
            if b is not None:
                ub = min(ub, b)
        first = [r for r in unstable if net.relu_level[net.single_pred(r)] == 0]
        if split_inputs and len(first) >= INPUT_SPLIT_MIN:
            # Input splitting: in a smaller box most first-layer ReLUs become stable and every
            # bound below tightens, which ReLU splitting alone does not achieve in 9+ dimensions.
            i = max(range(net.n_inputs), key=lambda k: (nb[net.inputs[k]][1] - nb[net.inputs[k]][0]) * sens[k])
            node = net.inputs[i]
            lo, hi = nb[node]
            mid = (lo + hi) / 2
            children = ((node, (lo, mid)), (node, (mid, hi)))
        else:
            r = _choose(net, lp, sol, unstable, nb)
            p = net.single_pred(r)
            lo, hi = nb[p]
            children = ((p, (lo, Fraction(0))), (p, (Fraction(0), hi)))
        for node, child_bounds in children:
            known = dict(nb)
            known[node] = child_bounds
            cb = propagate_intervals(net, box, known)
            if any(a > b for a, b in cb.values()):
                continue
            heapq.heappush(heap, (-key, next(counter), cb, min(ub, cb[s.out_pre][1])))
    if s.best_x is None and floor is None:
        return _result(s, "UNKNOWN", upper0, reason="no point found")
    return _result(s, "PROVED", s.best)


_HUGE = Fraction(10) ** 30  # a target that skips the second rounding in certify()


def _choose(net, lp, sol, unstable, bounds):
    """Split the unstable ReLU whose relaxation is most violated at the LP optimum (widest on ties)."""
    best, best_score = unstable[0], None
    full = getattr(sol, "full", None)
    icpt = getattr(sol, "intercept", None)
    if icpt:
        cand = [(icpt.get(r, 0.0), r) for r in unstable]
        score, r = max(cand, key=lambda t: t[0])
        if score > 1e-9:
            return r
    for r in unstable:
        p = net.single_pred(r)
        lo, hi = bounds[p]
        width = float(min(-lo, hi))
        viol = 0.0
        if full is not None:
            z = full[lp.col[p]]
            a = full[lp.col[r]]
            viol = a - max(z, 0.0)
        score = (viol, width)
        if best_score is None or score > best_score:
            best, best_score = r, score
    return best


def _result(s: _Search, status, upper, *, stopped=False, reason="") -> MaxResult:
    st = dict(s.stats)
    if reason:
        st["reason"] = reason
    status = Status(status)
    if status is Status.PROVED and not stopped:
        upper = s.target
    return MaxResult(status, s.best, s.best_x, upper, stopped=stopped, reason=reason, stats=st)
