"""The exact branch and bound: ``maximize(net, box)`` = exact sup of a one-output ReLU network.

A node is a dyadic sub-box of the input box with some ReLUs split (``z >= 0`` or ``z <= 0``) and sound
bounds on every pre-activation. Nodes are bounded in batches (:func:`verify.engine.bounding.bound_nodes`).
A node is closed only by an exact argument:

* its rigorous output bound (an upper bound of the exact CROWN value, :mod:`verify.backends.linear_bounds`)
  is ``<=`` the incumbent (or the floor), compared exactly;
* it is empty (a bound ``l > u``, or an empty cone);
* it is fully stable (every ReLU's phase known on it), so the network is affine on it, and the exact LP
  over it (:func:`verify.backends.exact_lp.solve_exact_lp`) gives its exact maximum; this is the only way
  the node holding the maximiser closes (at bound == incumbent exactly).

Otherwise it is split: on a ReLU or on an input coordinate, whichever a one-step look-ahead on the
candidates with the best heuristic scores (BaBSR-style intercept scores for ReLUs, range times
coefficient for inputs) says lowers the worse child's bound most (filtered smart branching, De Palma et
al., 2021). Incumbents come from sampling and projected gradient ascent, from the nodes' support
maximisers, and from leaf LPs, each evaluated exactly and polished on its activation region.

The frontier is best-first by the parent's bound, and depth-first once it holds more than
``frontier_cap`` nodes, so memory stays bounded. A timeout or node limit gives UNKNOWN with the sound
bracket ``[value, upper]`` (``upper`` = the largest bound of an open node, or the incumbent).

References
----------
R. Bunel, J. Lu, I. Turkaslan, P. Torr, P. Kohli, M. P. Kumar, "Branch and bound for piecewise linear
neural network verification", JMLR 21 (2020) (BaBSR).
A. De Palma, R. Bunel, A. Desmaison, K. Dvijotham, P. Kohli, P. Torr, M. P. Kumar, "Improved branch and
bound for neural network verification via Lagrangian decomposition", arXiv:2104.06718 (2021) (FSB).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np

from .. import progress
from ..deadline import Deadline
from ..status import Status
from ..backends.linear_bounds import Objectives, check_fpu
from ..backends.linear_bounds_fast import float_bound, relax_for
from ..domain import Box
from ..ir.graph import Network
from .bounding import BoundConfig, bound_nodes
from .incumbents import Incumbent, initial_points, pgd
from .problem import Problem, prepare_network

__all__ = ["maximize_serial", "MaxResult", "TreeRecord", "SearchConfig"]


@dataclass(frozen=True)
class MaxResult:
    """Outcome of :func:`maximize`.

    ``status`` PROVED: ``value`` is the exact supremum (or, with a ``floor``, no point exceeds the floor
    and ``value`` is ``None``), attained at ``witness``; UNKNOWN: ``value`` (attained at ``witness``, or
    ``None``) and ``upper`` bracket the supremum. ``stopped``: a point above ``stop_above`` was found.
    """

    status: Status
    value: Fraction | None
    witness: tuple | None
    upper: Fraction | None
    stopped: bool = False
    stats: dict = field(default_factory=dict)
    reason: str = ""
    record: object = None


@dataclass
class TreeRecord:
    """The bounded tree of a run (``record_tree=True``), for :func:`verify.engine.recheck.recheck_tree`."""

    root: int
    domain: tuple
    box_lo: tuple
    box_hi: tuple
    nodes: dict = field(default_factory=dict)


@dataclass
class SearchConfig:
    """Knobs of the search (all guidance: none affects soundness)."""

    batch: int = 64
    frontier_cap: int = 20000
    samples: int = 2048
    pgd_starts: int = 16
    pgd_steps: int = 40
    fsb_relu: int = 2
    fsb_input: int = 1
    relu_below: int = 6  # with at most this many unstable ReLUs a node splits ReLUs only
    fsb_score: str = "product"  # "product" of the children's improvements, or the "worst" child
    branching: str = "fsb"  # "fsb" (look-ahead between candidates), "relu" or "input" (scores only)
    milp_time: float = 0.0
    bounds: BoundConfig = field(default_factory=BoundConfig)


# Memory of the open nodes: the frontier's arrays start small and the search turns depth-first beyond
# SearchConfig.frontier_cap nodes or this many bytes, whichever comes first (a node of a 10^5-input
# problem takes 1.6 MB: 1024 of them, the old fixed start, took 1.6 GB before the first split).
FRONTIER_BYTES = 256 * 2 ** 20


def node_bytes(d: int, N: int) -> int:
    """Bytes of one open node in the frontier's arrays (see :meth:`Frontier._alloc`)."""
    return 16 * d + 21 * N + 24


class Frontier:
    """Open nodes in structure-of-arrays form (swap-remove on pop)."""

    def __init__(self, d, N, cap=1024):
        self.d, self.N = d, N
        self.n = 0
        self._alloc(max(1, min(cap, FRONTIER_BYTES // 16 // node_bytes(d, N))))

    def _alloc(self, cap):
        old = getattr(self, "lo", None)
        new = dict(lo=np.empty((cap, self.d)), hi=np.empty((cap, self.d)), L=np.empty((cap, self.N)),
                   U=np.empty((cap, self.N)), split=np.empty((cap, self.N), dtype=np.int8),
                   alpha=np.empty((cap, self.N), dtype=np.float32), key=np.empty(cap), depth=np.empty(cap, dtype=np.int32),
                   nid=np.empty(cap, dtype=np.int64), fresh=np.empty(cap, dtype=np.int16))
        if old is not None:
            for k, arr in new.items():
                arr[: self.n] = getattr(self, k)[: self.n]
        for k, arr in new.items():
            setattr(self, k, arr)
        self.cap = cap

    def push(self, **cols):
        m = len(cols["key"])
        if m == 0:
            return
        while self.n + m > self.cap:
            self._alloc(self.cap * 2)
        for k, v in cols.items():
            getattr(self, k)[self.n:self.n + m] = v
        self.n += m

    def pop(self, B, dfs: bool):
        n = self.n
        if n <= B:
            idx = np.arange(n)
        elif dfs:
            score = self.depth[:n].astype(np.float64) * 1e6 + np.clip(self.key[:n], -1e5, 1e5)
            idx = np.argpartition(-score, B - 1)[:B]
        else:
            idx = np.argpartition(-self.key[:n], B - 1)[:B]
        names = ("lo", "hi", "L", "U", "split", "alpha", "key", "depth", "nid", "fresh")
        out = {k: getattr(self, k)[idx].copy() for k in names}
        # swap-remove: the surviving entries of the tail move into the holes left below it
        m = len(idx)
        tail = n - m
        popped = np.zeros(n, dtype=bool)
        popped[idx] = True
        holes = np.nonzero(popped[:tail])[0]
        movers = np.nonzero(~popped[tail:])[0] + tail
        for k in names:
            arr = getattr(self, k)
            arr[holes] = arr[movers]
        self.n = tail
        return out

    def max_key(self):
        return float(self.key[: self.n].max()) if self.n else -np.inf


def _display_upper(fr, thr):
    """The largest open bound as a float for the progress bar (None when unbounded); not a verdict."""
    up = fr.max_key()
    if not np.isfinite(up):
        return None
    return max(float(up), float(thr)) if thr is not None else float(up)


def _le(bound: float, thr: Fraction | None) -> bool:
    """Exact ``bound <= thr`` for a float bound (``-inf``: an empty node)."""
    if bound == -np.inf:
        return True
    if thr is None or not np.isfinite(bound):
        return False
    return Fraction(float(bound)) <= thr


def maximize_serial(net: Network, box: Box, constraints: Sequence = (), *, deadline=None,
                    floor: Fraction | None = None, stop_above: Fraction | None = None,
                    candidates: Sequence = (), node_limit: int | None = None,
                    config: SearchConfig | None = None, record_tree: bool = False, seed: int = 0) -> MaxResult:
    """:func:`verify.engine.entry.maximize` on this process alone (its parameters, without farming)."""
    check_fpu()
    if not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    cfg = config or SearchConfig()
    t_start = time.monotonic()
    prob = Problem(prepare_network(net), box, constraints)
    s = _Search(prob, cfg, deadline, floor, stop_above, record_tree, seed)
    for pt in candidates:
        s.inc.offer(tuple(Fraction(v) for v in pt))
    res = s.run(node_limit)
    # The witness counts only after the toolkit's exact evaluator re-runs the user's network on it.
    if res.witness is not None:
        from ..backends.evaluator import evaluate

        v = evaluate(net, res.witness)[0]
        if v != res.value or not box.contains(res.witness):
            raise AssertionError(f"engine witness does not reproduce: {v} != {res.value}")  # pragma: no cover
    res.stats["seconds"] = time.monotonic() - t_start
    return res


class _Search:
    def __init__(self, prob: Problem, cfg: SearchConfig, deadline: Deadline, floor, stop_above, record, seed):
        self.prob = prob
        self.cfg = cfg
        self.deadline = deadline
        # depth-first beyond this many open nodes (the configured count, or fewer on wide inputs)
        self.frontier_cap = min(cfg.frontier_cap, max(4 * cfg.batch, FRONTIER_BYTES // node_bytes(prob.d, prob.lv.N)))
        self.inc = Incumbent(prob, floor=None if floor is None else Fraction(floor), deadline=deadline)
        self.floor = None if floor is None else Fraction(floor)
        self.stop_above = None if stop_above is None else Fraction(stop_above)
        self.rng = np.random.default_rng(seed)
        self.stats = {"nodes": 0, "closed_bound": 0, "closed_empty": 0, "closed_lp": 0, "closed_parent": 0,
                      "splits_relu": 0, "splits_input": 0, "peak_frontier": 0, "batches": 0,
                      "t_bound": 0.0, "t_branch": 0.0, "t_lp": 0.0, "t_incumbent": 0.0}
        self.record = None
        if record:
            self.record = TreeRecord(0, prob.domspec, tuple(prob.box.lo), tuple(prob.box.hi))
        self.next_id = 1
        self.lp_upper = None

    # -- helpers ------------------------------------------------------------------------------------
    def done(self) -> bool:
        return self.stop_above is not None and self.inc.value is not None and self.inc.value > self.stop_above

    def thr(self):
        return self.inc.threshold()

    def result(self, status, upper, reason="", stopped=False):
        st = dict(self.stats)
        st.update(self.inc.stats)
        value = self.inc.value
        x = self.inc.x
        if self.floor is not None and value is not None and value <= self.floor:
            value, x = None, None
        if status is Status.PROVED and not stopped:
            upper = self.inc.threshold()
        if upper is not None and not isinstance(upper, Fraction):
            upper = Fraction(upper)
        return MaxResult(status, value, x, upper, stopped=stopped, stats=st, reason=reason, record=self.record)

    # -- the search -----------------------------------------------------------------------------
    def root_frontier(self) -> Frontier:
        prob = self.prob
        N, d = prob.lv.N, prob.d
        fr = Frontier(d, N)
        from ..backends.bounds import propagate_intervals

        root_up = float(propagate_intervals(prob.net, prob.box)[prob.net.outputs[0]][1])
        fr.push(lo=prob.root_lo[None], hi=prob.root_hi[None], L=np.full((1, N), -np.inf), U=np.full((1, N), np.inf),
                split=np.zeros((1, N), dtype=np.int8), alpha=np.full((1, N), np.nan, dtype=np.float32),
                key=np.array([np.nextafter(root_up, np.inf)]), depth=np.array([0]), nid=np.array([0]),
                fresh=np.array([1]))
        if self.record is not None:
            self.record.nodes[0] = dict(parent=None, how=None, lo=tuple(prob.root_lo), hi=tuple(prob.root_hi),
                                        split=tuple([0] * N), L=None, U=None, bounds={}, close=None)
        return fr

    def run(self, node_limit, fr: Frontier | None = None, incumbents: bool = True, handoff=None):
        """Search until done, or until ``handoff(self)`` says to stop (returns None; ``self.fr`` holds
        the open nodes), or the deadline or ``node_limit`` (UNKNOWN with a sound upper bound)."""
        st = self.stats
        if incumbents:
            t0 = time.monotonic()
            self._initial_incumbents()
            st["t_incumbent"] += time.monotonic() - t0
            if self.done():
                return self.result(Status.PROVED, self.inc.value, stopped=True)
        first = fr is None
        if fr is None:
            fr = self.root_frontier()
        self.fr = fr
        while fr.n:
            st["peak_frontier"] = max(st["peak_frontier"], fr.n)
            if self.deadline.expired() or (node_limit is not None and st["nodes"] >= node_limit):
                return self.result(Status.UNKNOWN, self._open_upper(fr),
                                   reason="timeout" if self.deadline.expired() else "node limit")
            if handoff is not None and handoff(self):
                return None
            if progress.active():  # the bar's bracket (display only): incumbent, largest open node's bound
                progress.report(nodes=st["nodes"], attained=self.inc.value, upper=_display_upper(fr, self.thr()))
            nodes = fr.pop(self.cfg.batch, dfs=fr.n > self.frontier_cap)
            thr = self.thr()
            # prune by the parent's bound (valid on the child)
            keep = np.array([not _le(k, thr) for k in nodes["key"]])
            if self.record is not None:
                for nid in nodes["nid"][~keep]:
                    self.record.nodes[int(nid)]["close"] = ("parent",)
            st["closed_parent"] += int((~keep).sum())
            if not keep.any():
                continue
            nodes = {k: v[keep] for k, v in nodes.items()}
            try:
                self._process(nodes, fr, root=first)
            except _LeafUnknown as exc:
                fr.push(**nodes)  # still open
                return self.result(Status.UNKNOWN, self._open_upper(fr), reason=str(exc))
            first = False
            if self.done():
                return self.result(Status.PROVED, self.inc.value, stopped=True)
        if self.inc.value is None and self.floor is None:
            return self.result(Status.PROVED, None, reason="empty domain")
        return self.result(Status.PROVED, self.thr())

    def _open_upper(self, fr):
        """A sound upper bound of the supremum: the largest bound of an open node, or the incumbent."""
        up = fr.max_key()
        if up == np.inf:
            return None
        vals = [Fraction(float(up))] if np.isfinite(up) else []
        if self.thr() is not None:
            vals.append(self.thr())
        return max(vals) if vals else None

    def _initial_incumbents(self):
        prob, cfg = self.prob, self.cfg
        X = initial_points(prob, cfg.samples, self.rng)
        from .incumbents import float_grad

        if self.deadline.expired():
            # No time left (a later side or sub-problem of a query that used it all): one exactly
            # evaluated point, so that the bracket [attained, upper] still has its attained end.
            self.inc.offer_float(X, polish=False, limit=1)
            return
        v, _ = float_grad(prob.lv, X)
        top = X[np.argsort(-v)[: cfg.pgd_starts]]
        Y = pgd(prob, top, cfg.pgd_steps)
        self.inc.offer_float(np.vstack([Y, top]), limit=6)
        if cfg.milp_time > 0 and not self.done():
            from .incumbents import milp_point

            x = milp_point(prob, cfg.milp_time)
            if x is not None:
                self.inc.offer_float(np.atleast_2d(x), limit=1)

    def _process(self, nd, fr, root=False):
        prob, cfg, st = self.prob, self.cfg, self.stats
        lv = prob.lv
        B = len(nd["key"])
        st["nodes"] += B
        st["batches"] += 1
        t0 = time.monotonic()
        alpha = None if root else np.where(np.isnan(nd["alpha"]), 0.5, nd["alpha"])
        nb = bound_nodes(prob, nd["lo"], nd["hi"], nd["L"], nd["U"], nd["split"], alpha, cfg.bounds,
                         root=root, record=self.record is not None, fresh_from=nd["fresh"],
                         thr=None if self.thr() is None else float(self.thr()), deadline=self.deadline)
        st["t_bound"] += time.monotonic() - t0
        t0 = time.monotonic()
        live = ~nb.empty
        if live.any():
            self.inc.offer_float(nb.xhat[live], limit=2)
        st["t_incumbent"] += time.monotonic() - t0
        thr = self.thr()
        unstable = (nb.L < 0) & (nb.U > 0) & (nd["split"] == 0)
        n_unst = unstable.sum(axis=1)
        to_split = []
        for b in range(B):
            nid = int(nd["nid"][b])
            rec = None
            if self.record is not None:
                rec = self.record.nodes[nid]
                rec["L"] = tuple(nb.L[b].tolist())
                rec["U"] = tuple(nb.U[b].tolist())
                rec["bounds"] = nb.records[b]["bounds"]
                rec["out"] = nb.records[b].get("out")
            if nb.empty[b] or nb.out[b] == -np.inf:
                st["closed_empty"] += 1
                if rec is not None:
                    rec["close"] = ("empty",)
                continue
            if _le(nb.out[b], thr):
                st["closed_bound"] += 1
                if rec is not None:
                    rec["close"] = ("crown", rec["out"])
                continue
            if n_unst[b] == 0:
                t1 = time.monotonic()
                self._lp_leaf(nd, nb, b, rec)
                st["t_lp"] += time.monotonic() - t1
                thr = self.thr()
                if self.done():
                    return
                continue
            to_split.append(b)
        if not to_split:
            return
        idx = np.array(to_split)
        if self.deadline.expired():
            # No time to branch (the look-ahead bounds every candidate): the nodes stay open with their
            # new bounds, and the run ends with UNKNOWN and the largest of them as its upper end.
            fr.push(**{**{k: v[idx] for k, v in nd.items()}, "key": nb.out[idx], "L": nb.L[idx], "U": nb.U[idx]})
            return
        t0 = time.monotonic()
        choice = self._branch(nd, nb, idx, unstable)
        st["t_branch"] += time.monotonic() - t0
        self._push_children(nd, nb, idx, choice, fr)

    # -- fully stable leaves ---------------------------------------------------------------------
    def _lp_leaf(self, nd, nb, b, rec):
        prob = self.prob
        if self.deadline.expired():
            raise _LeafUnknown("timeout")  # the batch goes back to the frontier, open
        pattern = (nb.L[b] >= 0).astype(np.int8)
        pattern[nb.U[b] <= 0] = 0
        out = prob.leaf(nd["lo"][b], nd["hi"][b], nd["split"][b], pattern, self.thr(), deadline=self.deadline)
        self.stats["closed_lp"] += 1
        kind = out[0]
        self.stats["lp_" + kind] = self.stats.get("lp_" + kind, 0) + 1
        if kind == "unknown":
            raise _LeafUnknown(f"exact leaf LP: {out[1]}")
        if kind == "opt":
            _, x, value, cert = out
            # the LP point is in the node, where the network is affine: its exact value is the LP value
            v = prob.value(x)
            if v != value:  # pragma: no cover - would be a bug in the affine map or the LP
                raise AssertionError(f"leaf LP value {value} != network value {v}")
            if self.inc.value is None or value > self.inc.value:
                self.inc.value, self.inc.x = value, x
                self.inc.stats["improvements"] += 1
        if rec is not None:
            rec["close"] = ("lp", out)

    # -- branching -------------------------------------------------------------------------------
    def _branch(self, nd, nb, idx, unstable):
        """Per node in ``idx``: ("relu", g) or ("input", i, point), by a one-step look-ahead."""
        prob, cfg = self.prob, self.cfg
        lv = prob.lv
        N, d = lv.N, prob.d
        P = len(idx)
        L, U = nb.L[idx], nb.U[idx]
        mu = np.concatenate([nb.mu[m][idx] for m in range(1, lv.L + 1)], axis=1) if lv.L else np.zeros((P, 0))
        slope = np.concatenate([nb.slope[m][idx] for m in range(1, lv.L + 1)], axis=1) if lv.L else np.zeros((P, 0))
        un = unstable[idx]
        with np.errstate(invalid="ignore"):
            relu_score = np.where(un, np.maximum(mu, 0) * slope * (-L) + 0.25 * np.abs(np.minimum(mu, 0))
                                  * np.minimum(U, -L) + 1e-9 * np.minimum(U, -L), -np.inf)
        lo, hi = nd["lo"][idx], nd["hi"][idx]
        width = hi - lo
        mid = 0.5 * (lo + hi)
        can_split = (mid > lo) & (mid < hi)
        # Input scores: the part of the bound a halving of x_i removes, estimated as half the range term
        # |lam0_i| width_i plus, for every unstable ReLU, its relaxation gap times the share of its range
        # that comes from x_i (sensitivities through the ReLUs not known to be off).
        sens = self._sensitivity(nb, idx)  # (P, N, d)
        rng = np.maximum(U - L, 1e-300)
        gap = np.where(np.isfinite(relu_score), relu_score, 0.0)
        share = sens * width[:, None, :] / np.where(un, rng, np.inf)[:, :, None]
        in_score = 0.5 * (np.abs(nb.lam0[idx]) * width + (gap[:, :, None] * np.minimum(share, 1.0)).sum(axis=1))
        in_score = np.where(can_split, in_score, -np.inf)
        kr = max(1, min(cfg.fsb_relu, N))
        ki = max(1, min(cfg.fsb_input, d))
        cand_r = np.argsort(-relu_score, axis=1)[:, :kr]
        cand_i = np.argsort(-in_score, axis=1)[:, :ki]
        # children of every candidate, bounded with the node's own parameters (no re-optimisation)
        C = kr + ki
        rows = np.repeat(np.arange(P), 2 * C)
        cl = np.repeat(lo, 2 * C, axis=0)
        ch = np.repeat(hi, 2 * C, axis=0)
        cL = np.repeat(L, 2 * C, axis=0)
        cU = np.repeat(U, 2 * C, axis=0)
        csplit = np.repeat(nd["split"][idx], 2 * C, axis=0)
        r = np.arange(P * 2 * C)
        slot = r % (2 * C)
        cand = slot // 2
        side = slot % 2
        is_relu = cand < kr
        g = np.where(is_relu, cand_r[rows, np.minimum(cand, kr - 1)], 0)
        ii = np.where(~is_relu, cand_i[rows, np.clip(cand - kr, 0, ki - 1)], 0)
        rr = r[is_relu]
        cL[rr, g[is_relu]] = np.where(side[is_relu] == 1, np.maximum(cL[rr, g[is_relu]], 0.0), cL[rr, g[is_relu]])
        cU[rr, g[is_relu]] = np.where(side[is_relu] == 0, np.minimum(cU[rr, g[is_relu]], 0.0), cU[rr, g[is_relu]])
        ri = r[~is_relu]
        mids = mid[rows[ri], ii[~is_relu]]
        ch[ri, ii[~is_relu]] = np.where(side[~is_relu] == 0, mids, ch[ri, ii[~is_relu]])
        cl[ri, ii[~is_relu]] = np.where(side[~is_relu] == 1, mids, cl[ri, ii[~is_relu]])
        # intermediate bounds of input children, recomputed level by level (float, adaptive slopes):
        # halving a coordinate tightens every level, which a look-ahead on the output alone misses
        if len(ri) and lv.L >= 1:
            cL[ri], cU[ri] = _float_levels(lv, prob.domain, cl[ri], ch[ri], cL[ri], cU[ri], csplit[ri])
        cL = np.where(csplit == 1, np.maximum(cL, 0), cL)
        cU = np.where(csplit == -1, np.minimum(cU, 0), cU)
        obj = Objectives(lv.L + 1, np.arange(len(rows)), np.zeros(len(rows), dtype=np.int64), np.ones(len(rows)))
        a = np.repeat(nb.alpha[idx], 2 * C, axis=0)
        be = np.repeat(nb.beta[idx], 2 * C, axis=0)
        gam = None if nb.gamma is None else np.repeat(nb.gamma[idx], 2 * C, axis=0)
        res = float_bound(lv, obj, relax_for(lv, obj, cl, ch, cL, cU, csplit), a, be, prob.domain, gam)
        est = res.bound
        est = np.where((cL > cU).any(axis=1), -np.inf, est)
        est = est.reshape(P, C, 2)
        if cfg.fsb_score == "worst":
            worst = est.max(axis=2) + 1e-3 * est.min(axis=2)
        else:
            # product of the two children's improvements (the strong-branching score of MILP solvers)
            parent = nb.out[idx][:, None, None]
            thr = self.thr()
            cap = parent - (float(thr) if thr is not None else -np.inf)
            imp = np.minimum(np.maximum(parent - est, 0.0), np.maximum(cap, 1e-12))
            eps = 1e-6 * (np.abs(parent[:, :, 0]) + 1e-9)
            worst = -(np.maximum(imp[:, :, 0], eps) * np.maximum(imp[:, :, 1], eps))
        valid = np.concatenate([np.take_along_axis(relu_score, cand_r, 1) > -np.inf,
                                np.take_along_axis(in_score, cand_i, 1) > -np.inf], axis=1)
        worst = np.where(valid, worst, np.inf)
        few = un.sum(axis=1) <= cfg.relu_below
        worst = np.where(few[:, None] & (np.arange(C)[None, :] >= kr), np.inf, worst)
        if cfg.branching == "relu":
            worst = np.where(np.arange(C)[None, :] == 0, -np.inf, np.inf) * np.ones_like(worst)
        elif cfg.branching == "input":
            pick = np.where(few, 0, kr)
            worst = np.where(np.arange(C)[None, :] == pick[:, None], -np.inf, np.inf) * np.ones_like(worst)
        best = worst.argmin(axis=1)
        out = []
        for p in range(P):
            c = best[p]
            if c < kr:
                out.append(("relu", int(cand_r[p, c])))
            else:
                i = int(cand_i[p, c - kr])
                out.append(("input", i, float(mid[p, i])))
        return out

    def _sensitivity(self, nb, idx):
        """Upper bounds of ``|d z_g / d x_i|`` on each node: absolute weights through ReLUs not known off."""
        lv = self.prob.lv
        P = len(idx)
        S = {0: np.broadcast_to(np.eye(lv.d), (P, lv.d, lv.d))}
        out = np.zeros((P, lv.N, lv.d))
        for k in range(1, lv.L + 1):
            sl = lv.level_slice(k)
            acc = np.zeros((P, lv.width[k], lv.d))
            for m, blk in lv.W[k].items():
                acc = acc + np.einsum("jn,pnd->pjd", blk.absp, S[m]) if m else acc + blk.absp[None]
            out[:, sl] = acc
            on = (nb.U[idx, sl] > 0).astype(np.float64)
            S[k] = acc * on[:, :, None]
        return out

    def _push_children(self, nd, nb, idx, choice, fr):
        prob = self.prob
        st = self.stats
        cols = {k: [] for k in ("lo", "hi", "L", "U", "split", "alpha", "key", "depth", "nid", "fresh")}
        for p, b in enumerate(idx):
            ch = choice[p]
            for side in (0, 1):
                lo, hi = nd["lo"][b].copy(), nd["hi"][b].copy()
                sp = nd["split"][b].copy()
                L, U = nb.L[b].copy(), nb.U[b].copy()
                if ch[0] == "relu":
                    g = ch[1]
                    sp[g] = 1 if side == 1 else -1
                    how = ("relu", g, side)
                    fresh = prob.lv.level_of(g) + 1
                else:
                    _, i, pt = ch
                    if side == 0:
                        hi[i] = pt
                    else:
                        lo[i] = pt
                    how = ("input", i, pt, side)
                    fresh = 1
                nid = self.next_id
                self.next_id += 1
                cols["lo"].append(lo)
                cols["hi"].append(hi)
                cols["L"].append(L)
                cols["U"].append(U)
                cols["split"].append(sp)
                cols["alpha"].append(nb.alpha[b].astype(np.float32))
                cols["key"].append(nb.out[b])
                cols["depth"].append(nd["depth"][b] + 1)
                cols["nid"].append(nid)
                cols["fresh"].append(fresh)
                if self.record is not None:
                    self.record.nodes[nid] = dict(parent=int(nd["nid"][b]), how=how, lo=tuple(lo.tolist()),
                                                  hi=tuple(hi.tolist()), split=tuple(sp.tolist()), L=tuple(L.tolist()),
                                                  U=tuple(U.tolist()), bounds={}, close=None)
            st["splits_relu" if ch[0] == "relu" else "splits_input"] += 1
        cols = {k: np.array(v) for k, v in cols.items()}
        cols["lo"], cols["hi"] = prob.tighten(cols["lo"], cols["hi"])
        if self.record is not None:
            for k, nid in enumerate(cols["nid"]):
                self.record.nodes[int(nid)]["lo"] = tuple(cols["lo"][k].tolist())
                self.record.nodes[int(nid)]["hi"] = tuple(cols["hi"][k].tolist())
        fr.push(**cols)


def _float_levels(lv, domain, lo, hi, L, U, split):
    """Float intermediate bounds of every level (CROWN with adaptive slopes), intersected with ``L, U``
    (branching guidance only)."""
    L = np.where(split == 1, np.maximum(L, 0.0), L)
    U = np.where(split == -1, np.minimum(U, 0.0), U)
    B = len(lo)
    for K in range(1, lv.L + 1):
        sl = lv.level_slice(K)
        unst = (L[:, sl] < 0) & (U[:, sl] > 0) & (split[:, sl] == 0)
        bi, ji = np.nonzero(unst)
        if not len(bi):
            continue
        nodes = np.repeat(bi, 2)
        obj = Objectives(K, nodes, np.repeat(ji, 2), np.tile(np.array([1.0, -1.0]), len(bi)))
        nl = lv.offsets[K - 1]
        alpha = (U[nodes, :nl] > -L[nodes, :nl]).astype(np.float64)
        res = float_bound(lv, obj, relax_for(lv, obj, lo, hi, L, U, split), alpha, np.zeros_like(alpha), domain)
        g = sl.start + ji
        U[bi, g] = np.minimum(U[bi, g], res.bound[0::2])
        L[bi, g] = np.maximum(L[bi, g], -res.bound[1::2])
    return L, U


class _LeafUnknown(Exception):
    pass


