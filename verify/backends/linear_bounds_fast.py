"""The float side of linear bound propagation: the parameter search (guidance only).

The same backward substitution as :func:`verify.backends.linear_bounds.backward` in plain float
arithmetic, with everything that does not depend on the parameters (the phase of each ReLU on the node,
its chord slope and intercept) gathered once per objective set (:class:`Relax`), so that each step of the
search costs a few array operations per coefficient. Nothing computed here is used as a bound: the
parameters found are handed to the rigorous evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Relax", "relax_for", "float_bound", "float_grads", "FloatBound"]


@dataclass
class Relax:
    """Per level ``m`` below the objectives: ``up`` (1 active, chord slope unstable, 0 inactive),
    ``icpt`` (chord intercept ``-s l`` on unstable ReLUs, else 0), ``un`` (unstable), ``sp`` (split sign)."""

    up: dict
    icpt: dict
    un: dict
    sp: dict
    lo: np.ndarray
    hi: np.ndarray
    cut: tuple | None = None  # (A, R, u): cut constant = max(theta . A, u - theta . R) per level-1 ReLU


def relax_for(net, obj, lo, hi, L, U, split) -> Relax:
    nodes = obj.node
    up, icpt, un, sp = {}, {}, {}, {}
    for m in range(1, obj.K):
        sl = net.level_slice(m)
        l = L[nodes, sl]
        u = U[nodes, sl]
        inactive = u <= 0
        active = ~inactive & (l >= 0)
        unst = ~inactive & ~active
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(unst, u / np.where(unst, u - l, 1.0), 0.0)
            ic = np.where(unst, -s * l, 0.0)
        up[m] = np.where(active, 1.0, s)
        icpt[m] = ic
        un[m] = unst
        sp[m] = split[nodes, sl].astype(np.float64)
    return Relax(up, icpt, un, sp, lo[nodes], hi[nodes])


def _cut_data(net, rx: Relax):
    """Over the box the maximisers of ``-theta w . x`` and ``(1 - theta) w . x`` are the corners minimising and
    maximising ``w . x`` whatever ``theta`` in [0, 1]: the cut constant is ``max(theta . A, u - theta . R)`` with
    ``A = -w L``, ``R = w U`` and ``u = b + w . U`` (``L``, ``U`` those corners)."""
    if rx.cut is None:
        W = net.W[1][0].mid[None]
        lo3, hi3 = rx.lo[:, None, :], rx.hi[:, None, :]
        Lc = np.where(W < 0, hi3, lo3)
        Uc = np.where(W > 0, hi3, lo3)
        R = W * Uc
        rx.cut = (-W * Lc, R, net.bias[1][1][None, :] + R.sum(axis=2), Lc, Uc)
    return rx.cut


@dataclass
class FloatBound:
    bound: np.ndarray
    xhat: np.ndarray
    mu: dict
    neg: dict
    lam0: np.ndarray
    cuts: tuple | None = None  # (which level-1 ReLUs use their cut, its constant, the constant's maximiser)


def _support_float(domain, a, lo, hi, gamma):
    kind = domain.kind
    if kind == "lagrange" and gamma is not None and domain.n_gamma:
        a = a - gamma @ domain.Am
        const = gamma @ domain.bm
        xhat = np.where(a > 0, hi, lo)
        return (a * xhat).sum(axis=-1) + const, xhat
    if kind != "cone":
        xhat = np.where(a > 0, hi, lo)
        return (a * xhat).sum(axis=-1), xhat
    val, xhat, _ = domain.maximise(a, lo, hi)
    return val, xhat


def float_bound(net, obj, rx: Relax, alpha, beta, domain, gamma=None, theta=None) -> FloatBound:
    """The float CROWN bound of each objective with parameters ``alpha``, ``beta``, ``gamma`` and the
    level-1 cut slopes ``theta`` (see :func:`verify.backends.linear_bounds.theta_cut`)."""
    K = obj.K
    P = len(obj.node)
    Lam = {}
    for m, blk in net.W[K].items():
        if K == net.L + 1:
            Lam[m] = np.repeat(blk.mid[0][None, :], P, axis=0)
        else:
            Lam[m] = blk.mid[obj.j] * obj.sign[:, None]
    const = net.bias[K][1][obj.j] * obj.sign
    mu, neg = {}, {}
    cuts = None
    for m in range(K - 1, 0, -1):
        sl = net.level_slice(m)
        M = Lam.pop(m, None)
        if M is None:
            M = np.zeros((P, net.width[m]))
        ng = rx.un[m] & (M < 0)
        if theta is not None and m == 1:
            ps = rx.un[m] & (M >= 0)
            lam = np.where(ng, M * alpha[:, sl], np.where(ps, 0.0, M * rx.up[m])) + rx.sp[m] * beta[:, sl]
            A, R, u, Lc, Uc = _cut_data(net, rx)
            cA = (theta * A).sum(axis=2)
            cC = u - (theta * R).sum(axis=2)
            useA = cA >= cC
            c = np.where(useA, cA, cC)
            Mp = np.where(ps, M, 0.0)
            Lam[0] = Lam.get(0, np.zeros((P, net.d))) + np.einsum("pj,pjd->pd", Mp, theta * net.W[1][0].mid[None])
            const = const + (Mp * np.where(ps, c, 0.0)).sum(axis=1) + lam @ net.bias[m][1]
            cuts = (ps, c, useA)
        else:
            lam = np.where(ng, M * alpha[:, sl], M * rx.up[m]) + rx.sp[m] * beta[:, sl]
            const = const + (np.maximum(M, 0.0) * rx.icpt[m]).sum(axis=1) + lam @ net.bias[m][1]
        mu[m], neg[m] = M, ng
        for j, blk in net.W[m].items():
            prod = lam @ blk.mid
            Lam[j] = Lam[j] + prod if j in Lam else prod
    a0 = Lam.get(0, np.zeros((P, net.d)))
    val, xhat = _support_float(domain, a0, rx.lo, rx.hi, gamma)
    return FloatBound(val + const, xhat, mu, neg, a0, cuts)


def float_grads(net, obj, rx: Relax, res: FloatBound, alpha, theta=None):
    """``(g_alpha, g_beta, g_theta)``: ``mu zhat`` on lower-line ReLUs, ``split zhat`` (see
    :func:`verify.backends.linear_bounds.forward_grad`), and for the level-1 cuts
    ``d/d theta_ji = mu_j w_ji (xhat_i - x*_ji)`` with ``x*`` the maximiser of the cut's constant."""
    K = obj.K
    P = len(obj.node)
    n = net.offsets[K - 1]
    ga = np.zeros((P, n))
    gb = np.zeros((P, n))
    hhat = {0: res.xhat}
    for m in range(1, K):
        sl = net.level_slice(m)
        z = net.bias[m][1][None, :] + sum(hhat[j] @ blk.mid.T for j, blk in net.W[m].items())
        ng = res.neg[m]
        a = alpha[:, sl]
        hhat[m] = np.where(ng, a * z, rx.up[m] * z + rx.icpt[m])
        if m == 1 and theta is not None and res.cuts is not None:
            ps, c, useA = res.cuts
            _, _, _, Lc, Uc = _cut_data(net, rx)
            xstar = np.where(useA[:, :, None], Lc, Uc)
            w = net.W[1][0].mid[None]
            gcut = np.einsum("pjd,pd->pj", theta * w, res.xhat) + c
            hhat[m] = np.where(ps, gcut, hhat[m])
            gt = np.where(ps[:, :, None], res.mu[m][:, :, None] * w * (res.xhat[:, None, :] - xstar), 0.0)
        ga[:, sl] = np.where(ng, res.mu[m] * z, 0.0)
        gb[:, sl] = rx.sp[m] * z
    if theta is not None:
        return ga, gb, (gt if res.cuts is not None else np.zeros_like(theta))
    return ga, gb


def best_cut(net, lo, hi, xhat):
    """For each objective and level-1 ReLU, the cut slopes ``theta`` minimising the cut's value at the
    point ``xhat`` (a closed form: the cut's value at ``xhat`` is a concave-convex saddle over one
    multiplier; sort the coordinates by ``(w_i (U_i - xhat_i)) / (|w_i| width_i)``, where ``U`` is the corner
    maximising ``w . x``, and fill ``theta = 1`` down that order until ``sum theta_i |w_i| width_i`` reaches
    ``u = max_box w . x + b``, the last coordinate fractional). Guidance only.
    """
    W = net.W[1][0].mid  # (n, d)
    b = net.bias[1][1]
    lo3, hi3, x3 = lo[:, None, :], hi[:, None, :], xhat[:, None, :]
    Ub = np.where(W[None] >= 0, hi3, lo3)
    c = np.abs(W)[None] * (hi3 - lo3)  # (P, n, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(c > 0, W[None] * (Ub - x3) / c, -1.0)
    u = b[None, :] + (W[None] * Ub).sum(axis=2)  # (P, n)
    order = np.argsort(-lam, axis=2)
    cs = np.take_along_axis(c, order, axis=2)
    cum = np.cumsum(cs, axis=2)
    prev = cum - cs
    t_sorted = np.clip((u[:, :, None] - prev) / np.where(cs > 0, cs, 1.0), 0.0, 1.0)
    t_sorted = np.where(cs > 0, t_sorted, 0.0)
    theta = np.empty_like(t_sorted)
    np.put_along_axis(theta, order, t_sorted, axis=2)
    return theta
