"""Linear bound propagation (CROWN / DeepPoly backward substitution) for many branch-and-bound nodes
at once, in float arithmetic with rigorous a-priori error bounds.

The network is compiled once into *ReLU levels* (:class:`LevelNet`): the pre-activation ``z_k`` of the
ReLUs of level ``k`` is affine in the inputs ``x`` and the outputs ``h_m = relu(z_m)`` of the levels
``m < k`` (any DAG of the IR: skip connections become blocks ``W[k][m]`` with ``m < k - 1``); the output is
affine in ``x`` and every level.

**The bound (exact semantics).** For a node (a dyadic box, each ReLU ``split`` into ``z >= 0`` (+1),
``z <= 0`` (-1) or not (0), bounds ``l <= z <= u`` valid on the node), an objective ``c . z_K`` and
parameters ``alpha`` (one lower slope in [0, 1] per unstable ReLU below ``K``), ``beta >= 0`` (one per
split ReLU below ``K``) and ``gamma >= 0`` (one per linear input constraint), the backward substitution is
(Zhang et al. 2018; Xu et al. 2021 for optimised ``alpha``; Wang et al. 2021 for ``beta``):

* start with ``Lam_m = c W[K][m]`` (coefficient of ``h_m``), constant ``c . b_K``;
* for ``m = K-1 .. 1``, each ReLU ``j`` of level ``m`` with coefficient ``mu = Lam_m[j]``: *inactive*
  (``u <= 0``): ``lam = split * beta``; *active* (``l >= 0``): ``lam = mu + split * beta``; *unstable*:
  ``mu >= 0`` uses the upper chord ``h <= s (z - l)``, ``s = u / (u - l)``: ``lam = mu s``, constant
  ``+= mu s (-l)``; ``mu < 0`` uses ``h >= alpha z``: ``lam = mu alpha``. Then ``z_m`` is substituted:
  ``Lam_j += lam W[m][j]`` (``j < m``), constant ``+= lam . b_m``;
* the bound is the constant plus the support ``max_{x in X} (Lam_0 - gamma A) . x + gamma . b`` over the
  node's input set ``X`` (its box, the box cut by an argmax cone in closed form (:class:`ConeDomain`),
  or the box with constraints dualised).

Every ``h = relu(z)`` satisfies the relaxation used on the node, the ``beta`` and ``gamma`` terms are
non-negative on the node, so the bound is >= the objective at every point of the node, for *any*
parameters: floats choose the parameters, they do not affect validity.

**Rigorous float evaluation.** Every coefficient is carried as an interval (midpoint, radius) that
contains the exact value of the rule above; the float result is an upper bound of the *exact* value of
the rule with the same parameters and intermediate bounds (so an exact recomputation in Fractions, as
:mod:`verify.engine.recheck` does, can only be smaller). The arguments:

1. Exact weights ``w`` are bracketed by ``mid = float(w)`` (correctly rounded) and ``rad = 0`` if ``mid == w``
   else ``spacing(|mid|) >= |w - mid|`` (float32 weights and dyadics are exact; ``1/3`` or 17-digit decimals
   get a radius). Box ends are rounded outward.
2. A product of an interval matrix ``[Am +- Ar]`` and ``[Bm +- Br]`` is enclosed by
   ``fl(Am Bm) +- ((k |Am| + Ar)(|Bm| + Br) + |Am| Br)(1 + 3k) + n 2^-1000`` with ``k = (n + 4) 2^-52``, ``n``
   the inner dimension: the error of a float dot product is at most ``gamma_n |a|.|b| + n eta`` in any
   summation order and with fused multiply-adds (Higham, *Accuracy and Stability of Numerical
   Algorithms*, 2nd ed., Thm 3.5 and Sec. 3.1, with the underflow term of Rump, "Fast and parallel
   interval arithmetic", BIT 39 (1999), Sec. 2: ``eta = 2^-1074``), ``gamma_n / (1 - gamma_n) <= k``, and the
   radius expression (non-negative terms) is itself computed with relative error below ``3k``. Rows whose
   inputs are exactly 0 give exactly 0 (no underflow term).
3. A single elementwise operation with result ``v`` errs by at most ``2^-53 |v| + eta``; radii add
   ``|v| 2^-52`` (and ``2^-1000`` where an operand is non-zero), and sums of radii are inflated by
   ``1 + 2^-50``.
4. The sign of ``mu`` is known only as an interval ``[m1, m2]``: ``m1 >= 0`` uses the chord with ``m2``,
   ``m2 <= 0`` the lower line, and when ``m1 < 0 < m2`` the interval ``[m1 alpha, m2 s]`` of ``lam`` and the
   constant ``m2 s (-l)`` cover both exact cases. So every exact-rule value lies in the float interval.
5. The support of ``a`` over ``X`` changes by at most ``sum_i |a_i - a'_i| max(|lo_i|, |hi_i|)``.

This needs IEEE-754 binary64 with round-to-nearest and gradual underflow, which :func:`check_fpu` verifies
(numpy's defaults; a library that sets flush-to-zero would make the underflow term invalid).

References
----------
H. Zhang, T.-W. Weng, P.-Y. Chen, C.-J. Hsieh, L. Daniel, "Efficient neural network robustness
certification with general activation functions" (CROWN), NeurIPS 2018.
G. Singh, T. Gehr, M. Pueschel, M. Vechev, "An abstract domain for certifying neural networks"
(DeepPoly), POPL 2019.
K. Xu, H. Zhang, S. Wang, Y. Wang, S. Jana, X. Lin, C.-J. Hsieh, "Fast and complete: enabling complete
neural network verification with rapid and massively parallel incomplete verifiers" (alpha-CROWN),
ICLR 2021.
S. Wang, H. Zhang, K. Xu, X. Lin, S. Jana, C.-J. Hsieh, J. Z. Kolter, "Beta-CROWN: efficient bound
propagation with per-neuron split constraints", NeurIPS 2021.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..ir.graph import Network
from ..ir.ops import Op

__all__ = ["LevelNet", "Block", "BoxDomain", "ConeDomain", "LagrangeDomain", "Objectives", "Backward",
           "backward", "forward_grad", "check_fpu", "float_up", "float_down", "U52", "TINY"]

U52 = 2.0 ** -52
TINY = 2.0 ** -1000
INFL = 1.0 + 2.0 ** -50  # inflation of sums of non-negative radius terms


def check_fpu() -> None:
    """Refuse to run the rigorous arithmetic if subnormals are flushed to zero (see the module docstring)."""
    a = np.full(4, 2.0 ** -1022)
    if not np.all(a * 0.5 > 0) or not (np.dot(a, np.full(4, 0.5)) > 0):
        raise RuntimeError("floating-point unit flushes subnormals to zero: rigorous bounds are not valid here")


def float_up(q: Fraction) -> float:
    """The smallest float >= q."""
    f = float(q)
    if Fraction(f) < q:
        f = float(np.nextafter(f, np.inf))
    return f


def float_down(q: Fraction) -> float:
    f = float(q)
    if Fraction(f) > q:
        f = float(np.nextafter(f, -np.inf))
    return f


def collapsed_affine(net: Network) -> dict:
    """For every affine node, its value as ``(coef, const)`` over sources (inputs, ReLUs): chains of
    affine nodes multiplied out exactly."""
    out: dict = {}
    for n in net.order:
        if net.op(n) is not Op.AFFINE:
            continue
        coef: dict = {}
        const = net.bias(n)
        for p, w in net.affine_terms(n):
            if net.op(p) is Op.AFFINE:
                pc, pk = out[p]
                const += w * pk
                for s_, c in pc.items():
                    coef[s_] = coef.get(s_, 0) + w * c
            else:
                coef[p] = coef.get(p, 0) + w
        out[n] = ({s_: c for s_, c in coef.items() if c != 0}, const)
    return out


def _mid_rad(values) -> tuple[np.ndarray, np.ndarray]:
    """Float enclosure of exact rationals: ``(mid, rad)`` with ``|v - mid| <= rad`` (rad 0 when exact)."""
    vals = list(values)
    mid = np.array([float(v) for v in vals], dtype=np.float64)
    rad = np.zeros(len(vals))
    for k, (v, m) in enumerate(zip(vals, mid)):
        if Fraction(float(m)) != v:
            rad[k] = np.spacing(abs(m))
    return mid, rad


@dataclass
class Block:
    """A weight block ``W[k][m]`` (rows: level ``k``, columns: level ``m``): exact and float enclosure."""

    exact: list  # list of rows of Fractions
    mid: np.ndarray
    rad: np.ndarray | None  # None when every weight is a float
    absp: np.ndarray = field(init=False)  # |mid| + rad

    def __post_init__(self):
        self.absp = np.abs(self.mid) if self.rad is None else np.abs(self.mid) + self.rad


def _block(rows: list[list[Fraction]]) -> Block:
    n, m = len(rows), len(rows[0]) if rows else 0
    mid, rad = _mid_rad([v for row in rows for v in row])
    mid = mid.reshape(n, m)
    rad = rad.reshape(n, m)
    return Block(rows, mid, rad if rad.any() else None)


class LevelNet:
    """A ReLU-only network with one output, compiled into ReLU levels.

    Attributes
    ----------
    d : int
        Number of inputs.
    sizes : list of int
        ``sizes[k-1]`` ReLUs on level ``k = 1 .. L``; the output is level ``L + 1`` (one unit).
    offsets : list of int
        Global index of the first ReLU of each level (``offsets[L] = N``, the number of ReLUs).
    relus : list
        IR node of each ReLU in global order.
    W : dict
        ``W[k][m]`` :class:`Block` for ``m < k`` (``m = 0``: inputs), only non-zero blocks.
    bias : dict
        ``bias[k] = (exact list, mid, rad)``.
    """

    def __init__(self, net: Network):
        if net.n_outputs != 1:
            raise ValueError(f"linear bounds need one output, the network has {net.n_outputs}")
        if net.max_nodes:
            raise ValueError("lower max nodes first (verify.ir.rewrites.max_free)")
        self.net = net
        self.d = net.n_inputs
        level = net.relu_level
        relus = sorted(net.relu_nodes, key=lambda r: (level[r], net.order.index(r)))
        self.L = max((level[r] for r in relus), default=0)
        self.sizes = [sum(1 for r in relus if level[r] == k) for k in range(1, self.L + 1)]
        self.offsets = [0]
        for s in self.sizes:
            self.offsets.append(self.offsets[-1] + s)
        self.N = self.offsets[-1]
        self.relus = relus
        pos = {}
        for k in range(1, self.L + 1):
            for j, r in enumerate(relus[self.offsets[k - 1]:self.offsets[k]]):
                pos[r] = (k, j)
        for i, x in enumerate(net.inputs):
            pos[x] = (0, i)
        self.pos = pos
        coll = collapsed_affine(net)

        def expr(node):
            if net.op(node) is Op.AFFINE:
                return coll[node]
            return ({node: Fraction(1)}, Fraction(0))

        self.W: dict = {}
        self.bias: dict = {}
        rows_of = {k: [] for k in range(1, self.L + 2)}
        for k in range(1, self.L + 1):
            for r in relus[self.offsets[k - 1]:self.offsets[k]]:
                rows_of[k].append(expr(net.single_pred(r)))
        rows_of[self.L + 1].append(expr(net.single_pred(net.outputs[0])))
        width = [self.d] + self.sizes
        for k in range(1, self.L + 2):
            exprs = rows_of[k]
            blocks = {}
            for m in range(0, k):
                rows = [[Fraction(0)] * width[m] for _ in exprs]
                nz = False
                for i, (coef, _) in enumerate(exprs):
                    for src, c in coef.items():
                        lm, j = pos[src]
                        if lm == m and c != 0:
                            rows[i][j] += c
                            nz = True
                if nz:
                    blocks[m] = _block(rows)
            self.W[k] = blocks
            b = [const for _, const in exprs]
            bm, br = _mid_rad(b)
            self.bias[k] = (b, bm, br)
        self.width = width

    def level_slice(self, k: int) -> slice:
        return slice(self.offsets[k - 1], self.offsets[k])

    def level_of(self, g: int) -> int:
        """Level (1-based) of the ReLU with global index ``g``."""
        return int(np.searchsorted(self.offsets, g, side="right"))


# -- input domains: support functions ------------------------------------------------------------------
class BoxDomain:
    """The node's box. ``support`` returns an upper bound of ``max_{lo <= x <= hi} a . x`` and a maximiser."""

    kind = "box"
    n_gamma = 0

    def support(self, am, ar, lo, hi, gamma=None, rigorous=True):
        xhat = np.where(am > 0, hi, lo)
        terms = am * xhat
        val = terms.sum(axis=-1)
        if rigorous:
            d = am.shape[-1]
            big = np.maximum(np.abs(lo), np.abs(hi))
            err = (np.abs(terms).sum(axis=-1) * ((d + 4) * U52) + (ar * big).sum(axis=-1)
                   + TINY * d * (am != 0).any(axis=-1))
            val = val + err * (1 + 2 * (d + 4) * U52)
            val = np.nextafter(val, np.inf)
        return val, xhat


class ConeDomain(BoxDomain):
    """The node's box cut by the argmax cone ``x_j <= x_i`` (``j`` in ``others``): a closed-form support.

    For ``t = x_i`` fixed the other coordinates are independent (``x_j`` in ``[lo_j, min(hi_j, t)]``), so
    ``max a . x = max_t f(t)`` with ``f`` concave and piecewise linear in ``t``; its maximum over
    ``[max(lo_i, lo_j), hi_i]`` is attained at an end or at a breakpoint ``hi_j``: all of them are evaluated.
    An empty cone gives ``-inf``.
    """

    kind = "cone"

    def __init__(self, i: int, others, d: int):
        self.i = int(i)
        self.others = np.array(sorted(int(j) for j in others if int(j) != int(i)), dtype=np.int64)
        cut = set(self.others.tolist()) | {self.i}
        self.free = np.array([k for k in range(d) if k not in cut], dtype=np.int64)

    def maximise(self, am, lo, hi):
        """Float ``max a . x`` over each row's box cut by the cone, and its maximiser: ``(val, xhat, parts)``
        with ``val`` ``-inf`` for an empty cone; ``parts`` feed :meth:`support`'s rounding-error bound.

        ``f`` at every breakpoint comes from prefix sums over the breakpoints in increasing order: with
        them sorted, ``sum_j a_j min(hi_j, hi_k) = sum_{m <= k} a_m hi_m + hi_k sum_{m > k} a_m``, so a
        window of S inputs costs O(S log S) per objective, not O(S^2) (3000 inputs: 9 million each).
        """
        i, S, F = self.i, self.others, self.free
        rows = np.arange(len(am))
        lo_i, hi_i = lo[:, i], hi[:, i]
        loS, hiS = lo[:, S], hi[:, S]
        t0 = np.maximum(lo_i, loS.max(axis=1)) if len(S) else lo_i
        aS = am[:, S]
        ap = np.maximum(aS, 0.0)
        an = np.minimum(aS, 0.0)
        a_i = am[:, i]
        aF = am[:, F]
        xF = np.where(aF > 0, hi[:, F], lo[:, F])
        tF = aF * xF
        const = (an * loS).sum(axis=1) + tF.sum(axis=1)
        order = np.argsort(hiS, axis=1, kind="stable")
        hs = np.take_along_axis(hiS, order, axis=1)
        ws = np.take_along_axis(ap, order, axis=1)
        below = np.cumsum(ws * hs, axis=1)  # sum_{m <= k} a_m hi_m
        above = np.zeros_like(ws)  # sum_{m > k} a_m
        if len(S) > 1:
            above[:, :-1] = np.cumsum(ws[:, :0:-1], axis=1)[:, ::-1]
        f_breaks = a_i[:, None] * hs + below + hs * above + const[:, None]
        f_breaks = np.where((hs >= t0[:, None]) & (hs <= hi_i[:, None]), f_breaks, -np.inf)

        def f_at(t):
            return a_i * t + (ws * np.minimum(hs, t[:, None])).sum(axis=1) + const

        f = np.concatenate([f_at(t0)[:, None], f_at(hi_i)[:, None], f_breaks], axis=1)
        cands = np.concatenate([t0[:, None], hi_i[:, None], hs], axis=1)
        best = f.argmax(axis=1)
        val = np.where(t0 > hi_i, -np.inf, f[rows, best])
        tb = cands[rows, best]
        xhat = np.empty(am.shape)
        xhat[:, i] = tb
        xhat[:, S] = np.where(aS > 0, np.minimum(hiS, tb[:, None]), loS)
        xhat[:, F] = xF
        return val, xhat, (a_i, ws, an * loS, tF)

    def support(self, am, ar, lo, hi, gamma=None, rigorous=True):
        val, xhat, (a_i, ws, an_lo, tF) = self.maximise(am, lo, hi)
        if rigorous:
            # Every candidate's value is a sum of at most d + 2 rounded products whose absolute values
            # sum to at most mag (each |min(hi_m, t)| and |t| is at most the largest end in the window),
            # accumulated through at most 2 (d + 4) roundings (prefix sums, then the few additions).
            d = am.shape[-1]
            W = np.concatenate([self.others, [self.i]]).astype(np.int64)
            reach = np.maximum(np.abs(lo[:, W]), np.abs(hi[:, W])).max(axis=1)
            mag = (np.abs(a_i) + ws.sum(axis=1)) * reach + np.abs(an_lo).sum(axis=1) + np.abs(tF).sum(axis=1)
            big = np.maximum(np.abs(lo), np.abs(hi))
            err = mag * (2 * (d + 4) * U52) + (ar * big).sum(axis=-1) + TINY * d * (am != 0).any(axis=-1)
            val = np.where(val == -np.inf, -np.inf, np.nextafter(val + err * (1 + 4 * (d + 4) * U52), np.inf))
        return val, xhat


class LagrangeDomain(BoxDomain):
    """The node's box cut by ``A x <= b``, the constraints dualised with ``gamma >= 0`` per objective:
    ``max_{x in box} (a - gamma A) . x + gamma . b`` is an upper bound for every ``gamma >= 0``."""

    kind = "lagrange"

    def __init__(self, A_rows, b_vals, d: int):
        rows = [[Fraction(r.get(i, 0)) for i in range(d)] for r in A_rows]
        self.A_exact = rows
        self.b_exact = [Fraction(v) for v in b_vals]
        mid, rad = _mid_rad([v for row in rows for v in row])
        self.Am = mid.reshape(len(rows), d)
        self.Ar = rad.reshape(len(rows), d)
        self.bm, self.br = _mid_rad(self.b_exact)
        self.n_gamma = len(rows)

    def support(self, am, ar, lo, hi, gamma=None, rigorous=True):
        if gamma is None or self.n_gamma == 0:
            return BoxDomain.support(self, am, ar, lo, hi, rigorous=rigorous)
        g = gamma  # (P, m), >= 0
        shifted = am - g @ self.Am
        rad = ar
        const = g @ self.bm
        if rigorous:
            m = self.n_gamma
            k = (m + 4) * U52
            nz = (g != 0).any(axis=-1)
            prod_r = ((g @ (k * np.abs(self.Am) + self.Ar)) * (1 + 3 * k) + (TINY * m) * nz[:, None])
            rad = (ar + prod_r + np.abs(shifted) * U52 + TINY * nz[:, None]) * INFL
            const_err = ((g @ (k * np.abs(self.bm) + self.br)) * (1 + 3 * k) + TINY * m * nz) * INFL
            const = const + const_err
        val, xhat = BoxDomain.support(self, shifted, rad, lo, hi, rigorous=rigorous)
        if rigorous:
            val = np.nextafter(val + const, np.inf)
        else:
            val = val + const
        return val, xhat


# -- the backward substitution -------------------------------------------------------------------------
@dataclass
class Objectives:
    """``P`` objectives ``c . z_K``: their level ``K``, their node (row of the node arrays) and the rows of ``c``.

    ``rows``: for unit objectives, the neuron index ``j`` within level ``K`` and ``sign`` (+1 upper bound,
    -1 lower bound of ``z_Kj`` as ``-max(-z)``); the output objective is ``K = L + 1``, ``j = 0``, ``sign = +1``.
    """

    K: int
    node: np.ndarray  # (P,) int
    j: np.ndarray  # (P,) int
    sign: np.ndarray  # (P,) float +-1


@dataclass
class Backward:
    """Result of :func:`backward`: ``bound`` (P,), the support maximiser ``xhat`` (P, d), per level ``m``:
    ``mu[m]`` the coefficient of ``h_m``, ``case[m]`` (0 inactive, 1 active, 2 chord, 3 lower line, 4 mixed),
    ``slope[m]`` the chord slopes; ``lam0`` the coefficients of ``x``."""

    bound: np.ndarray
    xhat: np.ndarray
    mu: dict
    case: dict
    slope: dict
    lam0: np.ndarray


def _rad_mm(am, ar, blk: Block):
    """Radius of the enclosure of ``[am +- ar] @ [blk.mid +- blk.rad]`` (module docstring, item 2)."""
    n = am.shape[-1]
    k = (n + 4) * U52
    left = k * np.abs(am) if ar is None else k * np.abs(am) + ar
    r = left @ blk.absp
    if blk.rad is not None:
        r = r + np.abs(am) @ blk.rad
    nz = (am != 0).any(axis=-1) if ar is None else ((am != 0) | (ar != 0)).any(axis=-1)
    return r * (1 + 3 * k) + (TINY * n) * nz[..., None]


def backward(net: LevelNet, obj: Objectives, lo, hi, L, U, split, alpha, beta, domain, gamma=None,
             rigorous: bool = True, theta=None) -> Backward:
    """CROWN bound of each objective on its node (module docstring), batched over objectives.

    Parameters
    ----------
    lo, hi : (B, d) node boxes; L, U : (B, N) bounds (already intersected with the splits);
    split : (B, N) int8; alpha, beta : (P, n) parameters for the ReLUs of the levels below ``K``
    (``n = offsets[K-1]``: global indices ``0 .. n-1``);
    gamma : (P, m) or None, for :class:`LagrangeDomain`.
    theta : (P, n_1, d) or None
        Box-cut slopes of the level-1 ReLUs (:func:`theta_cut`): an unstable level-1 ReLU with ``mu >= 0``
        is then bounded by its cut instead of the chord.
    rigorous : bool
        Carry radii and round outward (the bound is then a sound upper bound); otherwise a plain float
        evaluation for the parameter search.
    """
    K = obj.K
    nodes = obj.node
    P = len(nodes)
    Lam: dict = {}
    Rad: dict = {}
    for m, blk in net.W[K].items():
        if K == net.L + 1:
            Lam[m] = np.repeat(blk.mid[0][None, :], P, axis=0)
            Rad[m] = None if blk.rad is None else np.repeat(blk.rad[0][None, :], P, axis=0)
        else:
            Lam[m] = blk.mid[obj.j] * obj.sign[:, None]
            Rad[m] = None if blk.rad is None else blk.rad[obj.j]
    _, bm, br = net.bias[K]
    const = bm[obj.j] * obj.sign
    crad = br[obj.j].copy() if rigorous else None
    for m in range(0, K):  # every level below K is processed (so every split's beta term counts)
        if m not in Lam:
            Lam[m] = np.zeros((P, net.width[m]))
            Rad[m] = None
    mu_s, case_s, slope_s = {}, {}, {}
    for m in range(K - 1, 0, -1):
        sl = net.level_slice(m)
        M = Lam.pop(m)
        R = Rad.pop(m)
        l = L[nodes, sl]
        u = U[nodes, sl]
        sp = split[nodes, sl].astype(np.float64)
        a = alpha[:, sl]
        b = beta[:, sl] * sp  # signed beta: +beta for z >= 0, -beta for z <= 0
        inactive = u <= 0
        active = ~inactive & (l >= 0)
        unst = ~inactive & ~active
        den = u - l
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(unst, u / np.where(unst, den, 1.0), 0.0)
        if rigorous:
            R = np.zeros_like(M) if R is None else R
            # |s - u/(u-l)| <= 4u s (two roundings); s_hi >= u/(u-l).
            s_err = s * 2.0 ** -50
            s_hi = np.where(unst, np.nextafter(s + s_err, np.inf), 0.0)
            m1 = np.nextafter(M - R, -np.inf)  # m1 <= mu <= m2 for the exact mu
            m2 = np.nextafter(M + R, np.inf)
            pos = unst & (m1 >= 0)
            neg = unst & (m2 <= 0)
            mix = unst & ~pos & ~neg
            # active: mu + signed beta
            va = M + b
            ra = (R + np.abs(va) * U52 + TINY * ((M != 0) | (b != 0))) * INFL
            # chord (mu >= 0): lam = mu s, |mu s - M s_float| <= R s_hi + |M| s_err
            vp = M * s
            rp = (R * s_hi + np.abs(M) * s_err + np.abs(vp) * U52 + TINY * (M != 0)) * INFL
            # lower line (mu <= 0): lam = mu alpha
            vn = M * a
            rn = (R * a + np.abs(vn) * U52 + TINY * ((M != 0) & (a != 0))) * INFL
            # mixed sign: lam in [m1 alpha, m2 s_hi], chord constant <= max(m2 s_hi, 0) (-l)
            lo_m = m1 * a
            hi_m = m2 * s_hi
            vm = 0.5 * lo_m + 0.5 * hi_m
            rm = ((hi_m - lo_m) * 0.5 + (np.abs(lo_m) + np.abs(hi_m)) * U52 + TINY) * INFL
            cut = theta is not None and m == 1
            if cut:
                # level-1 cuts replace the chord: mu >= 0 goes through the cut (added to the x
                # coefficients below); in the mixed case the z path keeps only [m1 alpha, 0].
                vp = np.zeros_like(vp)
                rp = np.zeros_like(rp)
                vm = 0.5 * lo_m
                rm = (0.5 * np.abs(lo_m) + np.abs(lo_m) * U52 + TINY) * INFL
            lam = np.where(active, va, np.where(inactive, b, np.where(pos, vp, np.where(neg, vn, vm))))
            lr = np.where(active, ra, np.where(inactive, 0.0, np.where(pos, rp, np.where(neg, rn, rm))))
            with np.errstate(invalid="ignore"):
                if cut:
                    cpos = np.zeros_like(M)
                else:
                    cpos = np.where(pos, (vp + rp) * (-l), 0.0) + np.where(mix, np.maximum(hi_m, 0.0) * (-l), 0.0)
            cadd = cpos.sum(axis=-1)
            const = const + cadd
            n = cpos.shape[-1]
            crad = (crad + cadd * (2 * (n + 4) * U52) + TINY * (cpos != 0).any(axis=-1)
                    + np.abs(const) * U52) * INFL
            case = np.where(inactive, 0, np.where(active, 1, np.where(pos, 2, np.where(neg, 3, 4)))).astype(np.int8)
        else:
            posf = unst & (M >= 0)
            negf = unst & (M < 0)
            lam = np.where(active, M + b, np.where(inactive, b, np.where(posf, M * s, np.where(negf, M * a, 0.0))))
            with np.errstate(invalid="ignore"):
                const = const + np.where(posf, M * s * (-l), 0.0).sum(axis=-1)
            lr = None
            case = np.where(inactive, 0, np.where(active, 1, np.where(posf, 2, 3))).astype(np.int8)
            if theta is not None and m == 1:
                lam = np.where(posf, 0.0, lam)
                with np.errstate(invalid="ignore"):
                    const = const - np.where(posf, M * s * (-l), 0.0).sum(axis=-1)
        if theta is not None and m == 1:
            if rigorous:
                xm, xr, cu = theta_cut(net, domain, lo[nodes], hi[nodes], M, R, m1, m2, pos, mix, theta)
                Lam[0] = Lam[0] + xm
                Rad[0] = (xr if Rad[0] is None else Rad[0] + xr) + np.abs(Lam[0]) * U52 * INFL
                const = const + cu
                crad = (crad + np.abs(const) * U52 + np.abs(cu) * U52) * INFL
            else:
                xm, cu = theta_cut_float(net, domain, lo[nodes], hi[nodes], M, unst & (M >= 0), theta)
                Lam[0] = Lam[0] + xm
                const = const + cu
        mu_s[m], case_s[m], slope_s[m] = M, case, s
        # substitute z_m
        _, bmm, brm = net.bias[m]
        const = const + lam @ bmm
        if rigorous:
            crad = (crad + _rad_mm(lam, lr, _bias_block(net, m))[:, 0] + np.abs(const) * U52) * INFL
        for jlev, blk in net.W[m].items():
            prod = lam @ blk.mid
            newm = Lam[jlev] + prod
            if rigorous:
                old = Rad[jlev] if Rad[jlev] is not None else 0.0
                Rad[jlev] = (old + _rad_mm(lam, lr, blk) + np.abs(newm) * U52
                             + TINY * ((Lam[jlev] != 0) | (prod != 0))) * INFL
            Lam[jlev] = newm
    a0 = Lam[0]
    r0 = Rad.get(0) if rigorous else None
    if rigorous and r0 is None:
        r0 = np.zeros_like(a0)
    g = None if gamma is None else gamma
    val, xhat = domain.support(a0, r0 if rigorous else np.zeros_like(a0), lo[nodes], hi[nodes], g, rigorous)
    if rigorous:
        s1 = val + const
        s2 = s1 + crad
        with np.errstate(invalid="ignore"):
            bound = np.nextafter(s2 + (np.abs(s1) + np.abs(s2)) * U52, np.inf)
        bound = np.where(np.isneginf(val), -np.inf, bound)
    else:
        bound = val + const
    return Backward(bound, xhat, mu_s, case_s, slope_s, a0)


def _cut_supports(net, domain, lo, hi, theta, rigorous):
    """For every (objective, level-1 ReLU): the constant ``c = max(supp(-theta w), b + supp((1-theta) w))``
    of its cut over the node's *box* (rigorous upper bounds when asked) and the maximiser of the larger
    term. (Over the box, a superset of the node's input set, so the cut is valid whatever the domain;
    argmax-cone nodes have their boxes tightened by the cone first, see ``Problem.tighten``.)"""
    W = net.W[1][0]
    P, n, d = theta.shape
    vA = -theta * W.mid[None]
    vC = (1.0 - theta) * W.mid[None]
    lo3, hi3 = lo[:, None, :], hi[:, None, :]
    xA = np.where(vA > 0, hi3, lo3)
    xC = np.where(vC > 0, hi3, lo3)
    tA = vA * xA
    tC = vC * xC
    sA = tA.sum(axis=2)
    sC = tC.sum(axis=2)
    _, bm, br = net.bias[1]
    if rigorous:
        # |theta w - fl(theta w_mid)| <= theta rad + u |fl(.)|; 1 - theta itself may round (by <= u);
        # each sum of d products errs by at most gamma_d times its absolute terms
        big = np.maximum(np.abs(lo3), np.abs(hi3))
        wr = 0.0 if W.rad is None else W.rad[None]
        rA = (theta * wr + np.abs(vA) * U52) * INFL
        rC = ((1.0 - theta) * wr + (np.abs(vC) + np.abs(W.mid)[None]) * U52) * INFL
        k = (d + 4) * U52
        eA = (np.abs(tA).sum(axis=2) * k + (rA * big).sum(axis=2) + TINY * d) * (1 + 2 * k)
        eC = (np.abs(tC).sum(axis=2) * k + (rC * big).sum(axis=2) + TINY * d) * (1 + 2 * k)
        sA = np.nextafter(sA + eA, np.inf)
        sC = np.nextafter(sC + eC, np.inf)
        b_up = np.nextafter(bm + br, np.inf)
        cC = np.nextafter(b_up[None, :] + sC, np.inf)
    else:
        cC = bm[None, :] + sC
    cA = sA
    useA = cA >= cC
    c = np.where(useA, cA, cC)
    xstar = np.where(useA[:, :, None], xA, xC)
    return c, xstar


def theta_cut(net, domain, lo, hi, M, R, m1, m2, pos, mix, theta):
    """Rigorous contribution of the level-1 cuts: x coefficients ``(mid, rad)`` and an upper bound of
    the constant, for ReLUs with ``mu`` in ``[m1, m2]``.

    The cut of ``h = relu(w . x + b)`` on the node's input set ``X`` with slopes ``theta`` in [0, 1]^d is
    ``h <= (theta w) . x + c``, ``c = max(max_X (-theta w) . x, b + max_X ((1 - theta) w) . x)``: valid because
    then ``g >= 0`` and ``g - (w . x + b) >= 0`` on ``X`` (Anderson, Huchette, Ma, Tjandraatmadja, Vielma,
    "Strong mixed-integer programming formulations for trained neural networks", Math. Program. 183
    (2020): with ``theta`` in {0,1}^d but one coordinate these are the facets of the ReLU's convex hull over
    a box; ``theta = s`` everywhere is the chord). ``pos`` (``m1 >= 0``) contributes ``mu theta w``, ``mu c``;
    ``mix`` (``m1 < 0 < m2``) the intervals ``[0, m2 theta w]`` and ``max(m2 c, 0)``.
    """
    W = net.W[1][0]
    c, _ = _cut_supports(net, domain, lo, hi, theta, True)
    n, d = W.mid.shape
    tw = theta * W.mid[None]  # (P, n, d), exact products? no: rounded, covered below
    wabs = np.abs(W.mid)[None] if W.rad is None else (np.abs(W.mid) + W.rad)[None]
    posf = pos.astype(np.float64)
    mixf = mix.astype(np.float64)
    # pos: mu theta w with mu in [M - R, M + R]
    mid = np.einsum("pj,pjd->pd", M * posf, tw)
    mag = np.einsum("pj,pjd->pd", np.abs(M) * posf, theta * wabs)
    rad = np.einsum("pj,pjd->pd", R * posf, theta * wabs)
    # mix: [0, m2 theta w] around its midpoint
    mmid = np.einsum("pj,pjd->pd", 0.5 * m2 * mixf, tw)
    mrad = np.einsum("pj,pjd->pd", 0.5 * np.abs(m2) * mixf, theta * wabs)
    k = (n + 6) * U52
    wrad = 0.0 if W.rad is None else np.einsum("pj,pjd->pd", np.abs(M) * posf, theta * W.rad[None])
    xm = mid + mmid
    xr = ((rad + mrad + wrad) + (mag + mrad * 2) * k + np.abs(xm) * U52
          + TINY * n * ((pos | mix).any(axis=1))[:, None]) * (1 + 3 * k)
    with np.errstate(invalid="ignore"):
        cp = np.where(pos, np.maximum(m1 * c, m2 * c), 0.0) + np.where(mix, np.maximum(m2 * c, 0.0), 0.0)
    cp = np.where(np.isnan(cp), 0.0, cp)
    cu = cp.sum(axis=1)
    cu = cu + (np.abs(cp).sum(axis=1) * k + TINY * n) * INFL
    return xm, xr, cu


def theta_cut_float(net, domain, lo, hi, M, posf, theta):
    """Float contribution of the level-1 cuts (see :func:`theta_cut`) for the parameter search."""
    W = net.W[1][0]
    c, _ = _cut_supports(net, domain, lo, hi, theta, False)
    Mp = np.where(posf, M, 0.0)
    return np.einsum("pj,pjd->pd", Mp, theta * W.mid[None]), (Mp * np.where(posf, c, 0.0)).sum(axis=1)


_BIAS_BLOCKS: dict = {}


def _bias_block(net: LevelNet, m: int) -> Block:
    """The biases of level ``m`` as a one-column block (for the radius of ``lam . b_m``)."""
    key = (id(net), m)
    blk = _BIAS_BLOCKS.get(key)
    if blk is None or blk[0] is not net:
        _, bm, br = net.bias[m]
        b = Block([], bm[:, None], None if not br.any() else br[:, None])
        _BIAS_BLOCKS[key] = blk = (net, b)
    return blk[1]


def forward_grad(net: LevelNet, obj: Objectives, res: Backward, L, U, split, alpha):
    """Gradients of the (float) bound: ``d/d alpha = mu zhat`` on lower-line ReLUs and
    ``d/d beta = split zhat`` on split ReLUs, where ``zhat`` is the relaxed network evaluated forward at
    the support maximiser (the derivative of the bound with respect to the coefficient of ``z_m``).

    Returns ``(g_alpha, g_beta)`` of shape (P, n), ``n = offsets[K-1]`` (the levels below ``K``).
    """
    K = obj.K
    nodes = obj.node
    P = len(nodes)
    ga = np.zeros((P, net.offsets[K - 1]))
    gb = np.zeros((P, net.offsets[K - 1]))
    hhat = {0: res.xhat}
    for m in range(1, K):
        sl = net.level_slice(m)
        z = np.repeat(net.bias[m][1][None, :], P, axis=0)
        for jlev, blk in net.W[m].items():
            if jlev in hhat:
                z = z + hhat[jlev] @ blk.mid.T
        case = res.case[m]
        l = L[nodes, sl]
        s = res.slope[m]
        a = alpha[:, sl]
        h = np.where(case == 1, z, np.where(case == 2, s * (z - l), np.where(case == 3, a * z, 0.0)))
        hhat[m] = h
        ga[:, sl] = np.where(case == 3, res.mu[m] * z, 0.0)
        gb[:, sl] = split[nodes, sl] * z
    return ga, gb
