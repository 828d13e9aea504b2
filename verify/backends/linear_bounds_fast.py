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


@dataclass
class FloatBound:
    bound: np.ndarray
    xhat: np.ndarray
    mu: dict
    neg: dict
    lam0: np.ndarray


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
    i, S, F = domain.i, domain.others, domain.free
    lo_i, hi_i = lo[:, i], hi[:, i]
    loS, hiS = lo[:, S], hi[:, S]
    t0 = np.maximum(lo_i, loS.max(axis=1)) if len(S) else lo_i
    cands = np.clip(np.concatenate([t0[:, None], hi_i[:, None], hiS], axis=1), t0[:, None], hi_i[:, None])  # (P, C)
    aS = a[:, S]
    ap = np.maximum(aS, 0.0)
    Mn = np.minimum(hiS[:, None, :], cands[:, :, None])  # (P, C, S)
    f = a[:, i][:, None] * cands + np.einsum("ps,pcs->pc", ap, Mn) + (np.minimum(aS, 0.0) * loS).sum(axis=1)[:, None]
    best = f.argmax(axis=1)
    rows = np.arange(len(a))
    val = f[rows, best]
    t = cands[rows, best]
    xhat = np.empty_like(a)
    xhat[:, i] = t
    xhat[:, S] = np.where(aS > 0, np.minimum(hiS, t[:, None]), loS)
    if len(F):
        aF = a[:, F]
        xF = np.where(aF > 0, hi[:, F], lo[:, F])
        xhat[:, F] = xF
        val = val + (aF * xF).sum(axis=1)
    empty = t0 > hi_i
    return np.where(empty, -np.inf, val), xhat


def float_bound(net, obj, rx: Relax, alpha, beta, domain, gamma=None) -> FloatBound:
    """The float CROWN bound of each objective with parameters ``alpha``, ``beta``, ``gamma``."""
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
    for m in range(K - 1, 0, -1):
        sl = net.level_slice(m)
        M = Lam.pop(m, None)
        if M is None:
            M = np.zeros((P, net.width[m]))
        ng = rx.un[m] & (M < 0)
        lam = np.where(ng, M * alpha[:, sl], M * rx.up[m]) + rx.sp[m] * beta[:, sl]
        const = const + (np.maximum(M, 0.0) * rx.icpt[m]).sum(axis=1) + lam @ net.bias[m][1]
        mu[m], neg[m] = M, ng
        for j, blk in net.W[m].items():
            prod = lam @ blk.mid
            Lam[j] = Lam[j] + prod if j in Lam else prod
    a0 = Lam.get(0, np.zeros((P, net.d)))
    val, xhat = _support_float(domain, a0, rx.lo, rx.hi, gamma)
    return FloatBound(val + const, xhat, mu, neg, a0)


def float_grads(net, obj, rx: Relax, res: FloatBound, alpha):
    """``(g_alpha, g_beta)`` (P, n): ``mu zhat`` on lower-line ReLUs, ``split zhat`` (see
    :func:`verify.backends.linear_bounds.forward_grad`)."""
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
        ga[:, sl] = np.where(ng, res.mu[m] * z, 0.0)
        gb[:, sl] = rx.sp[m] * z
    return ga, gb
