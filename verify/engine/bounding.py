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
from ..backends.linear_bounds_fast import float_bound, float_grads, relax_for

__all__ = ["BoundConfig", "NodeBounds", "bound_nodes", "optimise"]


@dataclass
class BoundConfig:
    """Iterations and step sizes of the parameter search (guidance only; soundness never depends on them)."""

    iters_int: int = 0
    iters_out: int = 8
    iters_root: int = 30
    lr_alpha: float = 0.3
    lr_beta: float = 0.3
    lr_gamma: float = 0.3


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


def optimise(lv, obj: Objectives, lo, hi, L, U, split, domain, alpha, beta, gamma, iters: int, cfg: BoundConfig):
    """Projected Adam on ``(alpha, beta, gamma)`` minimising the float bound; returns the best parameters
    seen (per objective) and their float bounds."""
    best_b = None
    best = None
    if iters <= 0:
        return alpha, beta, gamma
    m_a = np.zeros_like(alpha)
    v_a = np.zeros_like(alpha)
    m_b = np.zeros_like(beta)
    v_b = np.zeros_like(beta)
    has_g = gamma is not None and gamma.shape[1] > 0
    if has_g:
        m_g = np.zeros_like(gamma)
        v_g = np.zeros_like(gamma)
        Am = domain.Am
        bm = domain.bm
    b1, b2, eps = 0.9, 0.999, 1e-12
    scale_b = None
    rx = relax_for(lv, obj, lo, hi, L, U, split)
    any_split = any(v.any() for v in rx.sp.values())
    for t in range(1, iters + 2):
        res = float_bound(lv, obj, rx, alpha, beta, domain, gamma)
        if best_b is None:
            best_b = res.bound.copy()
            best = [alpha.copy(), beta.copy(), None if gamma is None else gamma.copy()]
        else:
            imp = res.bound < best_b
            if imp.any():
                best_b = np.where(imp, res.bound, best_b)
                best[0][imp] = alpha[imp]
                best[1][imp] = beta[imp]
                if gamma is not None:
                    best[2][imp] = gamma[imp]
        if t == iters + 1:
            break
        ga, gb = float_grads(lv, obj, rx, res, alpha)
        bc1 = 1 - b1 ** t
        bc2 = 1 - b2 ** t
        m_a = b1 * m_a + (1 - b1) * ga
        v_a = b2 * v_a + (1 - b2) * ga * ga
        alpha = np.clip(alpha - cfg.lr_alpha * (m_a / bc1) / (np.sqrt(v_a / bc2) + eps), 0.0, 1.0)
        if any_split:
            if scale_b is None:
                # beta is measured in units of the coefficient it corrects
                mags = np.zeros_like(beta)
                for m, mu in res.mu.items():
                    mags[:, lv.level_slice(m)] = np.abs(mu)
                ref = mags.max(axis=1, keepdims=True)
                scale_b = np.maximum(mags, 1e-3 * ref + 1e-12)
            m_b = b1 * m_b + (1 - b1) * gb
            v_b = b2 * v_b + (1 - b2) * gb * gb
            beta = np.maximum(beta - cfg.lr_beta * scale_b * (m_b / bc1) / (np.sqrt(v_b / bc2) + eps), 0.0)
        if has_g:
            gg = bm[None, :] - res.xhat @ Am.T
            m_g = b1 * m_g + (1 - b1) * gg
            v_g = b2 * v_g + (1 - b2) * gg * gg
            gscale = np.abs(res.lam0).max(axis=1, keepdims=True) + 1e-12
            gamma = np.maximum(gamma - cfg.lr_gamma * gscale * (m_g / bc1) / (np.sqrt(v_g / bc2) + eps), 0.0)
    return best[0], best[1], best[2]


def bound_nodes(prob, lo, hi, L, U, split, alpha_out=None, cfg: BoundConfig | None = None, *,
                root: bool = False, record: bool = False, fresh_from=None) -> NodeBounds:
    """Rigorous bounds for a batch of nodes (see the module docstring).

    ``L``, ``U`` are the inherited bounds (B, N); ``split`` (B, N) int8. ``fresh_from`` (B,) int: the
    first level whose bounds are recomputed on each node (a child of a ReLU split at level ``m`` keeps the
    inherited bounds of levels ``<= m``, which the split cannot change); default 1 (all levels).
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
        if K > 1:
            alpha, beta, gamma = optimise(lv, obj, lo, hi, L, U, split, dom, alpha, beta, gamma,
                                          cfg.iters_root if root else cfg.iters_int, cfg)
        res = backward(lv, obj, lo, hi, L, U, split, alpha, beta, dom, gamma, rigorous=True)
        ub = res.bound[0::2]
        lb = -res.bound[1::2]
        g = sl.start + ji
        U[bi, g] = np.minimum(U[bi, g], ub)
        L[bi, g] = np.maximum(L[bi, g], lb)
        if record:
            for k in range(len(bi)):
                rb = records[bi[k]]["bounds"].setdefault(K, {})
                rb[(int(ji[k]), "u")] = {"alpha": alpha[2 * k].tolist(), "beta": beta[2 * k].tolist()}
                rb[(int(ji[k]), "l")] = {"alpha": alpha[2 * k + 1].tolist(), "beta": beta[2 * k + 1].tolist()}
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
        alpha, beta, gamma = optimise(lv, obj, lo, hi, L, U, split, dom, alpha, beta, gamma,
                                      cfg.iters_root if root else cfg.iters_out, cfg)
        res = backward(lv, obj, lo, hi, L, U, split, alpha, beta, dom, gamma, rigorous=True)
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
                                     "gamma": None if gamma is None else gamma[k].tolist()}
    return NodeBounds(L, U, empty, out, xhat, mu, case, slope, lam0, a_full, b_full, g_full, records, stats)
