"""Bounding a batch of branch-and-bound nodes: intermediate bounds level by level, then the output, each
with optimised slopes and split multipliers (alpha-/beta-CROWN), each finally evaluated rigorously.

Floats choose the parameters (projected Adam steps on the float bound, gradients from
:func:`verify.backends.linear_bounds.forward_grad`); the bounds kept are the rigorous evaluations of the
best parameters found, so every bound returned is sound whatever the optimisation did.

Every intermediate bound is optimised for its own objective (one parameter vector per ReLU and side,
as alpha-CROWN does for intermediate layers), level after level, each level using the bounds just
computed below it; a child inherits its parent's bounds and keeps the tighter of old and new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..backends.linear_bounds import LagrangeDomain, Objectives, backward
from ..backends.linear_bounds_fast import best_cut, float_bound, float_grads, relax_for

__all__ = ["BoundConfig", "NodeBounds", "bound_nodes", "optimise"]


@dataclass
class BoundConfig:
    """Iterations and step sizes of the parameter search (guidance only; soundness never depends on them)."""

    iters_int: int = 1
    iters_out: int = 20
    iters_root: int = 30
    lr_alpha: float = 0.3
    lr_beta: float = 0.3
    lr_gamma: float = 0.3
    lr_theta: float = 0.5
    cuts: bool = True  # level-1 box cuts (theta) in the output bound
    cut_update: str = "adam"
    cuts_int: bool = True  # cuts in the intermediate bounds too  # "best": the closed-form best cut at the current maximiser; "adam"


@dataclass
class NodeBounds:
    """Bounds of a batch: ``L``, ``U`` (B, N) intersected with the splits, ``empty`` (B,), the rigorous
    output bound ``out`` (B,) (``-inf`` for empty nodes), the support maximiser ``xhat`` (B, d) and, from the
    output's backward pass, ``mu``/``case``/``slope`` per level and ``lam0`` (B, d) for branching;
    ``alpha`` (B, N) the output's slopes (warm start of the children); ``records`` per node when asked."""

    L: np.ndarray
    U: np.ndarray
    empty: np.ndarray
    out: np.ndarray
    xhat: np.ndarray
    mu: dict
    case: dict
    slope: dict
    lam0: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray | None
    records: list | None = None
    stats: dict = field(default_factory=dict)


def _adaptive_alpha(L, U, nodes, n):
    """CROWN's adaptive lower slope: 1 where ``u > -l`` (the ReLU is more often active), else 0."""
    return (U[nodes, :n] > -L[nodes, :n]).astype(np.float64)


def _chord_theta(L, U, nodes, lv, d):
    """Cut slopes equal to the chord's ``u / (u - l)`` on every coordinate (the cut is then the chord)."""
    l1, u1 = L[nodes, :lv.sizes[0]], U[nodes, :lv.sizes[0]]
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = np.where((l1 < 0) & (u1 > 0), u1 / (u1 - l1), 0.5)
    return np.repeat(np.nan_to_num(s1, nan=0.5)[:, :, None], d, axis=2)


def _take(rx, idx):
    """The rows ``idx`` of a :class:`Relax` (objectives still being optimised)."""
    from ..backends.linear_bounds_fast import Relax

    sub = Relax({m: v[idx] for m, v in rx.up.items()}, {m: v[idx] for m, v in rx.icpt.items()},
                {m: v[idx] for m, v in rx.un.items()}, {m: v[idx] for m, v in rx.sp.items()}, rx.lo[idx], rx.hi[idx])
    if rx.cut is not None:
        sub.cut = tuple(v[idx] for v in rx.cut)
    return sub


def optimise(lv, obj: Objectives, lo, hi, L, U, split, domain, alpha, beta, gamma, iters: int, cfg: BoundConfig,
             theta=None, stop_below: float | None = None, deadline=None):
    """Projected Adam on ``(alpha, beta, gamma, theta)`` minimising the float bound of every objective;
    returns the best parameters seen (per objective). Objectives whose float bound drops below
    ``stop_below`` (they will close) stop early; all stop at ``deadline`` (the parameters seen so far are
    as sound as any: the caller evaluates them rigorously)."""
    if iters <= 0:
        return alpha, beta, gamma, theta
    P = len(obj.node)
    best = [alpha.copy(), beta.copy(), None if gamma is None else gamma.copy(), None if theta is None else theta.copy()]
    best_b = np.full(P, np.inf)
    params = [None if p is None else p.copy() for p in (alpha, beta, gamma, theta)]
    moments = [[np.zeros_like(p), np.zeros_like(p)] if p is not None else None for p in params]
    has_g = gamma is not None and gamma.shape[1] > 0
    if has_g:
        Am, bm = domain.Am, domain.bm
    b1, b2, eps = 0.9, 0.999, 1e-12
    scale_b = None
    rx = relax_for(lv, obj, lo, hi, L, U, split)
    any_split = any(v.any() for v in rx.sp.values())
    act = np.arange(P)
    o = obj
    hist = []
    for t in range(1, iters + 2):
        res = float_bound(lv, o, rx, params[0], params[1], domain, params[2], params[3])
        imp = res.bound < best_b[act]
        if imp.any():
            rows = act[imp]
            best_b[rows] = res.bound[imp]
            for k in range(4):
                if best[k] is not None:
                    best[k][rows] = params[k][imp]
        if t == iters + 1 or (deadline is not None and deadline.expired()):
            break
        hist.append(best_b[act].copy())
        if len(hist) > 4:
            # converged: no objective still being optimised improved by more than a relative 1e-4 in 4 steps
            old = hist.pop(0)
            if old.shape == hist[-1].shape and np.all(old - hist[-1] <= 1e-4 * (1 + np.abs(hist[-1]))):
                break
        if stop_below is not None:
            live = res.bound > stop_below
            if not live.any():
                break
            if live.sum() < 0.75 * len(act):
                # drop the objectives that will close: the rest keep their parameters and moments
                act = act[live]
                hist = []
                o = Objectives(obj.K, obj.node[act], obj.j[act], obj.sign[act])
                rx = _take(rx, live)
                params = [None if p is None else p[live] for p in params]
                moments = [None if mm is None else [mm[0][live], mm[1][live]] for mm in moments]
                if scale_b is not None:
                    scale_b = scale_b[live]
                res = float_bound(lv, o, rx, params[0], params[1], domain, params[2], params[3])
        if params[3] is not None:
            ga, gb, gt = float_grads(lv, o, rx, res, params[0], params[3])
        else:
            ga, gb = float_grads(lv, o, rx, res, params[0])
            gt = None
        bc1 = 1 - b1 ** t
        bc2 = 1 - b2 ** t

        def step(k, g, lr, lo_=0.0, hi_=None, scale=None):
            # Adam, in place (these arrays are the search's largest)
            m0, m1 = moments[k]
            m0 *= b1
            m0 += (1 - b1) * g
            g *= g
            m1 *= b2
            m1 += (1 - b2) * g
            den = np.sqrt(m1 * (1.0 / bc2))
            den += eps
            upd = np.divide(m0, den, out=den)
            upd *= lr / bc1
            if scale is not None:
                upd *= scale
            p = params[k]
            p -= upd
            if hi_ is None:
                np.maximum(p, lo_, out=p)
            else:
                np.clip(p, lo_, hi_, out=p)

        step(0, ga, cfg.lr_alpha, 0.0, 1.0)
        if gt is not None:
            if cfg.cut_update == "best" or (cfg.cut_update == "init" and t == 1):
                params[3] = best_cut(lv, rx.lo, rx.hi, res.xhat)
            else:
                step(3, gt, cfg.lr_theta, 0.0, 1.0)
        if any_split:
            if scale_b is None:
                # beta is measured in units of the coefficient it corrects
                mags = np.zeros_like(params[1])
                for m, mu in res.mu.items():
                    mags[:, lv.level_slice(m)] = np.abs(mu)
                ref = mags.max(axis=1, keepdims=True)
                scale_b = np.maximum(mags, 1e-3 * ref + 1e-12)
            step(1, gb, cfg.lr_beta, scale=scale_b)
        if has_g:
            gg = bm[None, :] - res.xhat @ Am.T
            gscale = np.abs(res.lam0).max(axis=1, keepdims=True) + 1e-12
            step(2, gg, cfg.lr_gamma, scale=gscale)
    return best[0], best[1], best[2], best[3]


def bound_nodes(prob, lo, hi, L, U, split, alpha_out=None, cfg: BoundConfig | None = None, *,
                root: bool = False, record: bool = False, fresh_from=None, thr: float | None = None,
                deadline=None) -> NodeBounds:
    """Rigorous bounds for a batch of nodes (see the module docstring).

    ``L``, ``U`` are the inherited bounds (B, N); ``split`` (B, N) int8. ``fresh_from`` (B,) int: the
    first level whose bounds are recomputed on each node (a child of a ReLU split at level ``m`` keeps the
    inherited bounds of levels ``<= m``, which the split cannot change); default 1 (all levels).
    ``thr``: the float value below which a node will close (its output search stops there).
    ``deadline``: the parameter searches stop there (the bounds stay rigorous, only looser).
    """
    cfg = cfg or BoundConfig()
    lv = prob.lv
    dom = prob.domain
    B = len(lo)
    N = lv.N
    L = np.where(split == 1, np.maximum(L, 0.0), L)
    U = np.where(split == -1, np.minimum(U, 0.0), U)
    empty = (L > U).any(axis=1)
    records = [dict(bounds={}) for _ in range(B)] if record else None
    stats = {"int_objectives": 0}
    n_g = dom.n_gamma if isinstance(dom, LagrangeDomain) else 0
    fresh = np.ones(B, dtype=np.int64) if fresh_from is None else np.asarray(fresh_from)
    for K in range(1, lv.L + 1):
        sl = lv.level_slice(K)
        unst = (L[:, sl] < 0) & (U[:, sl] > 0) & (split[:, sl] == 0) & ~empty[:, None] & (fresh <= K)[:, None]
        bi, ji = np.nonzero(unst)
        if len(bi) == 0:
            continue
        nodes = np.repeat(bi, 2)
        js = np.repeat(ji, 2)
        sign = np.tile(np.array([1.0, -1.0]), len(bi))
        obj = Objectives(K, nodes, js, sign)
        nl = lv.offsets[K - 1]
        P = len(nodes)
        stats["int_objectives"] += P
        alpha = _adaptive_alpha(L, U, nodes, nl)
        beta = np.zeros((P, nl))
        gamma = None
        theta = None
        iters = cfg.iters_root if root else cfg.iters_int
        if K > 1:
            if cfg.cuts_int and iters > 0:
                theta = _chord_theta(L, U, nodes, lv, prob.d)
            alpha, beta, gamma, theta = optimise(lv, obj, lo, hi, L, U, split, dom, alpha, beta, gamma, iters, cfg,
                                                 theta, deadline=deadline)
        res = backward(lv, obj, lo, hi, L, U, split, alpha, beta, dom, gamma, rigorous=True, theta=theta)
        ub = res.bound[0::2]
        lb = -res.bound[1::2]
        g = sl.start + ji
        U[bi, g] = np.minimum(U[bi, g], ub)
        L[bi, g] = np.maximum(L[bi, g], lb)
        if record:
            for k in range(len(bi)):
                rb = records[bi[k]]["bounds"].setdefault(K, {})
                for side, q in (("u", 2 * k), ("l", 2 * k + 1)):
                    rb[(int(ji[k]), side)] = {"alpha": alpha[q].tolist(), "beta": beta[q].tolist(),
                                              "theta": None if theta is None else theta[q].tolist()}
        empty |= (L > U).any(axis=1)
    live = np.nonzero(~empty)[0]
    out = np.full(B, -np.inf)
    xhat = np.tile(lo.mean(axis=0) if B else np.zeros(prob.d), (B, 1)) if B else np.zeros((0, prob.d))
    xhat = 0.5 * (lo + hi)
    mu = {m: np.zeros((B, lv.width[m])) for m in range(1, lv.L + 1)}
    case = {m: np.zeros((B, lv.width[m]), dtype=np.int8) for m in range(1, lv.L + 1)}
    slope = {m: np.zeros((B, lv.width[m])) for m in range(1, lv.L + 1)}
    lam0 = np.zeros((B, prob.d))
    a_full = np.zeros((B, N))
    b_full = np.zeros((B, N))
    g_full = np.zeros((B, n_g)) if n_g else None
    if len(live):
        obj = Objectives(lv.L + 1, live, np.zeros(len(live), dtype=np.int64), np.ones(len(live)))
        alpha = _adaptive_alpha(L, U, live, N) if alpha_out is None else np.clip(alpha_out[live].astype(np.float64), 0, 1)
        beta = np.zeros((len(live), N))
        gamma = np.zeros((len(live), n_g)) if n_g else None
        theta = _chord_theta(L, U, live, lv, prob.d) if cfg.cuts and lv.L >= 1 else None
        stop = None if thr is None else thr - 1e-9 * (1 + abs(thr))
        alpha, beta, gamma, theta = optimise(lv, obj, lo, hi, L, U, split, dom, alpha, beta, gamma,
                                             cfg.iters_root if root else cfg.iters_out, cfg, theta, stop, deadline)
        res = backward(lv, obj, lo, hi, L, U, split, alpha, beta, dom, gamma, rigorous=True, theta=theta)
        out[live] = res.bound
        xhat[live] = res.xhat
        for m in range(1, lv.L + 1):
            mu[m][live] = res.mu[m]
            case[m][live] = res.case[m]
            slope[m][live] = res.slope[m]
        lam0[live] = res.lam0
        a_full[live] = alpha
        b_full[live] = beta
        if n_g:
            g_full[live] = gamma
        if record:
            for k, b in enumerate(live):
                records[b]["out"] = {"alpha": alpha[k].tolist(), "beta": beta[k].tolist(),
                                     "gamma": None if gamma is None else gamma[k].tolist(),
                                     "theta": None if theta is None else theta[k].tolist()}
    return NodeBounds(L, U, empty, out, xhat, mu, case, slope, lam0, a_full, b_full, g_full, records, stats)
