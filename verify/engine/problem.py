"""One maximisation problem prepared for the engine: the compiled network, the input set, and the exact
pieces that decide (fast exact evaluation, affine maps of activation regions, exact leaf LPs).

The exact arithmetic here uses python-flint's ``fmpq_mat`` (matrix products in C over integers with
common denominators), so float32 weights (denominators up to 2^150) and 17-digit decimals cost about as
much as small dyadics.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cached_property
from typing import Sequence

import numpy as np

from ..backends.linear_bounds import BoxDomain, ConeDomain, LagrangeDomain, LevelNet, float_down, float_up
from ..domain import Box
from ..ir.graph import Network

__all__ = ["Problem", "prepare_network", "parse_constraints", "linear_objective"]


def prepare_network(net: Network) -> Network:
    """ReLU-only, parallel ReLUs merged (exact rewrites of :mod:`verify.ir.rewrites`)."""
    from ..constructions.emulate import max_free
    from ..ir.rewrites import merge_parallel_relus

    if net.n_outputs != 1:
        raise ValueError(f"maximize needs a network with one output, got {net.n_outputs}")
    if net.max_nodes:
        net = max_free(net)
    return merge_parallel_relus(net)


def parse_constraints(constraints: Sequence, d: int) -> list[tuple[dict, Fraction]]:
    out = []
    for k, item in enumerate(constraints):
        try:
            c, b = item
            row = {int(i): Fraction(a) for i, a in dict(c).items() if Fraction(a) != 0}
            b = Fraction(b)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"constraint {k}: expected (dict index -> coefficient, bound): {exc}") from None
        if any(not 0 <= i < d for i in row):
            raise ValueError(f"constraint {k}: input index out of range 0..{d - 1}")
        out.append((row, b))
    return out


def _cone_of(constraints, d):
    """``(i, others)`` if every constraint is ``x_j - x_i <= 0`` for one ``i`` (an argmax cone), else None."""
    if not constraints:
        return None
    top = None
    others = []
    for row, b in constraints:
        if b != 0 or len(row) != 2:
            return None
        pos = [i for i, a in row.items() if a > 0]
        neg = [i for i, a in row.items() if a < 0]
        if len(pos) != 1 or len(neg) != 1 or row[pos[0]] != -row[neg[0]]:
            return None
        if top is None:
            top = neg[0]
        if neg[0] != top:
            return None
        others.append(pos[0])
    return top, sorted(set(others))


def _fmpq(v: Fraction):
    import flint

    return flint.fmpq(v.numerator, v.denominator)


def _to_frac(q) -> Fraction:
    return Fraction(int(q.p), int(q.q))


class Problem:
    """``sup { net(x) : x in box, constraints }`` compiled for the engine.

    Attributes
    ----------
    net : Network (ReLU-only, one output); lv : LevelNet; box : Box; constraints : list
    domain : the support-function domain (box, argmax cone in closed form, or dualised constraints)
    domspec : the same as plain data, for the recheck
    root_lo, root_hi : float arrays enclosing the box (outward rounded)
    """

    def __init__(self, net: Network, box: Box, constraints: Sequence = ()):
        import flint

        self.net = net
        self.lv = LevelNet(net)
        self.box = box
        d = net.n_inputs
        if box.dim != d:
            raise ValueError(f"box has dimension {box.dim}, the network has {d} inputs")
        self.d = d
        self.constraints = parse_constraints(constraints, d)
        cone = _cone_of(self.constraints, d)
        if not self.constraints:
            self.domain, self.domspec = BoxDomain(), ("box",)
        elif cone is not None:
            self.domain, self.domspec = ConeDomain(cone[0], cone[1], d), ("cone", cone[0], list(cone[1]))
        else:
            rows = [r for r, _ in self.constraints]
            bs = [b for _, b in self.constraints]
            self.domain, self.domspec = LagrangeDomain(rows, bs, d), ("lagrange", rows, bs)
        self.root_lo = np.array([float_down(v) for v in box.lo])
        self.root_hi = np.array([float_up(v) for v in box.hi])
        self.root_lo, self.root_hi = self.tighten(self.root_lo[None], self.root_hi[None])
        self.root_lo, self.root_hi = self.root_lo[0], self.root_hi[0]
        # exact blocks as fmpq matrices
        lv = self.lv
        self.Wq: dict = {}
        self.bq: dict = {}
        for k in range(1, lv.L + 2):
            self.Wq[k] = {m: flint.fmpq_mat(len(blk.exact), lv.width[m], [_fmpq(v) for row in blk.exact for v in row])
                          for m, blk in lv.W[k].items()}
            b = lv.bias[k][0]
            self.bq[k] = flint.fmpq_mat(len(b), 1, [_fmpq(v) for v in b])
        self.A_b = [b for _, b in self.constraints]

    @cached_property
    def A_rows(self) -> list:
        """The constraints' rows, dense (built when asked: an argmax cone of 3000 inputs has 3000 rows of
        3001 entries, and :meth:`feasible` reads the sparse rows)."""
        zero = Fraction(0)
        return [[r.get(i, zero) for i in range(self.d)] for r, _ in self.constraints]

    def tighten(self, lo, hi):
        """Node boxes (rows) shrunk by the argmax cone, box cap cone unchanged: ``x_j <= hi_i``, ``x_i >= lo_j``."""
        if self.domspec[0] != "cone":
            return lo, hi
        _, i, others = self.domspec
        S = [j for j in others if j != i]
        if not S:
            return lo, hi
        lo, hi = lo.copy(), hi.copy()
        hi[:, S] = np.minimum(hi[:, S], hi[:, [i]])
        lo[:, i] = np.maximum(lo[:, i], lo[:, S].max(axis=1))
        return lo, hi

    # -- exact evaluation ---------------------------------------------------------------------------
    def exact_values(self, x: Sequence[Fraction]):
        """Exact pre-activations (per level, lists of Fractions) and the output at ``x``."""
        import flint

        lv = self.lv
        h = {0: flint.fmpq_mat(self.d, 1, [_fmpq(Fraction(v)) for v in x])}
        pre = {}
        for k in range(1, lv.L + 2):
            z = self.bq[k]
            for m, W in self.Wq[k].items():
                z = z + W * h[m]
            vals = [_to_frac(q) for q in z.entries()]
            pre[k] = vals
            if k <= lv.L:
                h[k] = flint.fmpq_mat(len(vals), 1, [_fmpq(v) if v > 0 else 0 for v in vals])
        return pre

    def value(self, x) -> Fraction:
        return self.exact_values(x)[self.lv.L + 1][0]

    def feasible(self, x) -> bool:
        if not self.box.contains(x):
            return False
        return all(sum((a * x[i] for i, a in row.items()), Fraction(0)) <= b for row, b in self.constraints)

    def pattern_at(self, x) -> np.ndarray:
        """Activation pattern (1 if the pre-activation is >= 0) at an exact point, global ReLU order."""
        pre = self.exact_values(x)
        return np.array([1 if v >= 0 else 0 for k in range(1, self.lv.L + 1) for v in pre[k]], dtype=np.int8)

    # -- affine maps of an activation region -------------------------------------------------------
    def affine_maps(self, pattern: np.ndarray, need=None):
        """Exact affine maps ``z_g(x) = G_g . x + c_g`` of the pre-activations ``g`` in ``need`` (default all)
        and of the output, on the region where the ReLUs follow ``pattern`` (1 active, 0 inactive).
        Returns ``({g: (row, const)}, a, c_out)``."""
        import flint

        lv = self.lv
        d = self.d
        need = range(lv.N) if need is None else need
        want: dict = {}
        for g in need:
            want.setdefault(lv.level_of(g), []).append(g)
        # level 0 is the input itself (G = identity, c = 0): its blocks are added as they are, not
        # multiplied by a d x d identity (9 million entries for 3000 inputs)
        G, c = {}, {}
        maps = {}
        for k in range(1, lv.L + 2):
            n = lv.width[k] if k <= lv.L else 1
            Gk = flint.fmpq_mat(n, d, [0] * (n * d))
            ck = self.bq[k]
            for m, W in self.Wq[k].items():
                if m == 0:
                    Gk = Gk + W
                else:
                    Gk = Gk + W * G[m]
                    ck = ck + W * c[m]
            if k <= lv.L:
                off = lv.offsets[k - 1]
                for g in want.get(k, ()):
                    j = g - off
                    maps[g] = ([_to_frac(Gk[j, i]) for i in range(d)], _to_frac(ck[j, 0]))
                p = pattern[lv.level_slice(k)]
                if p.all():
                    G[k], c[k] = Gk, ck
                else:
                    eg, ec = Gk.entries(), ck.entries()
                    zero = flint.fmpq(0)
                    G[k] = flint.fmpq_mat(n, d, [eg[j * d + i] if p[j] else zero for j in range(n) for i in range(d)])
                    c[k] = flint.fmpq_mat(n, 1, [ec[j] if p[j] else zero for j in range(n)])
            else:
                a = [_to_frac(Gk[0, i]) for i in range(d)]
                c_out = _to_frac(ck[0, 0])
        return maps, a, c_out

    def region_rows(self, lo, hi, split, pattern, all_rows=False):
        """The polytope of a node (or of the closed activation region of ``pattern``): rows ``A x <= b``
        (split rows in ReLU order, then the domain's rows), the box ``[blo, bhi]``, the objective ``a``
        and constant ``c_out`` of the affine output on it."""
        N = self.lv.N
        signs = [(1 if pattern[g] else -1) if all_rows else int(split[g]) for g in range(N)]
        need = [g for g in range(N) if signs[g]]
        maps, a, c_out = self.affine_maps(pattern, need)
        A, b = [], []
        for g in need:
            row, const = maps[g]
            if signs[g] == 1:  # z >= 0  <=>  -row . x <= const
                A.append([-v for v in row])
                b.append(const)
            else:
                A.append(list(row))
                b.append(-const)
        A += [list(r) for r in self.domain_rows()]
        b += self.domain_rhs()
        blo = [max(Fraction(u), v) for u, v in zip(lo, self.box.lo)]
        bhi = [min(Fraction(u), v) for u, v in zip(hi, self.box.hi)]
        return A, b, blo, bhi, a, c_out

    def region_lp(self, lo, hi, split, pattern, *, all_rows: bool = False, deadline=None):
        """Exact max of the output over a node's polytope (:meth:`region_rows`), by
        :func:`verify.backends.exact_lp.solve_exact_lp`. Returns ``(ExactLPResult, a, c_out, A, b, blo, bhi)``;
        the LP value excludes ``c_out``."""
        from ..backends.exact_lp import ExactLPResult, LPStatus, solve_exact_lp

        A, b, blo, bhi, a, c_out = self.region_rows(lo, hi, split, pattern, all_rows)
        if any(l > h for l, h in zip(blo, bhi)):
            return ExactLPResult(LPStatus.INFEASIBLE, method="box"), a, c_out, A, b, blo, bhi
        res = solve_exact_lp(a, A=A, b=b, lo=blo, hi=bhi, deadline=deadline)
        return res, a, c_out, A, b, blo, bhi

    def leaf(self, lo, hi, split, pattern, thr, deadline=None):
        """Close a fully stable node exactly. One float LP (HiGHS) proposes duals or a ray; then

        * an infeasibility certificate ``y >= 0`` checked exactly (``("empty", y)``), or
        * a safe dual bound ``y . b + max_box (a - y A) . x + c_out <= thr`` checked exactly (``("dual", y)``:
          weak duality, valid for every ``y >= 0``), or
        * the exact LP optimum (``("opt", x, value, certificate)``).
        """
        from ..backends.exact_lp import LPStatus, solve_exact_lp

        A, b, blo, bhi, a, c_out = self.region_rows(lo, hi, split, pattern)
        if any(l > h for l, h in zip(blo, bhi)):
            return ("empty", None)
        status, y = _float_lp(a, A, b, blo, bhi)
        if status == "infeasible" and y is not None:
            for cand in _roundings(y):
                if farkas_holds(A, b, blo, bhi, cand):
                    return ("empty", cand)
        if status == "optimal" and thr is not None and y is not None:
            for cand in _roundings(y):
                if dual_bound(a, A, b, blo, bhi, cand) + c_out <= thr:
                    return ("dual", cand)
        res = solve_exact_lp(a, A=A, b=b, lo=blo, hi=bhi, deadline=deadline)
        if res.status is LPStatus.INFEASIBLE:
            return ("empty", None)
        if res.status is not LPStatus.OPTIMAL:
            return ("unknown", res.reason)
        return ("opt", tuple(res.x), res.value + c_out, res.certificate)

    def domain_rows(self):
        if self.domspec[0] == "cone":
            _, i, others = self.domspec
            out = []
            for j in others:
                if j != i:
                    r = [Fraction(0)] * self.d
                    r[j], r[i] = Fraction(1), Fraction(-1)
                    out.append(r)
            return out
        return [list(r) for r in self.A_rows]

    def domain_rhs(self):
        if self.domspec[0] == "cone":
            _, i, others = self.domspec
            return [Fraction(0)] * sum(1 for j in others if j != i)
        return list(self.A_b)


def farkas_holds(A, b, lo, hi, y) -> bool:
    """Exact check of an infeasibility certificate ``y >= 0`` for ``{x : A x <= b, lo <= x <= hi}``:
    every point of the set has ``(y A) x <= y b``, so ``min_box (y A) x > y b`` proves it empty."""
    if any(v < 0 for v in y):
        return False
    c, rhs = _combine(y, A, b, len(lo))
    low = sum((min(ci * l, ci * h) for ci, l, h in zip(c, lo, hi)), Fraction(0))
    return low > rhs


def _combine(y, A, b, d: int):
    """``(y A, y . b)`` exactly, skipping the zero multipliers (the two certificate checks above and below)."""
    c = [Fraction(0)] * d
    rhs = Fraction(0)
    for yk, row, bk in zip(y, A, b):
        if yk == 0:
            continue
        rhs += yk * bk
        for i, v in enumerate(row):
            if v:
                c[i] += yk * v
    return c, rhs


def dual_bound(a, A, b, lo, hi, y) -> Fraction:
    """Weak duality: for ``y >= 0`` every point of ``{A x <= b, lo <= x <= hi}`` has
    ``a . x <= y . b + max_box (a - y A) . x`` (exact)."""
    yA, rhs = _combine(y, A, b, len(lo))
    c = [ai - v for ai, v in zip(a, yA)]
    return rhs + sum((max(ci * l, ci * h) for ci, l, h in zip(c, lo, hi)), Fraction(0))


def _roundings(y):
    """Two exact non-negative roundings of a float dual: dyadic, and small denominators (continued
    fractions, which recover the exact dual at degenerate optima such as a node whose maximum is the
    incumbent itself)."""
    yield [Fraction(int(round(v * 2.0 ** 40)), 1 << 40) if v > 0 else Fraction(0) for v in y]
    yield [Fraction(float(v)).limit_denominator(1 << 20) if v > 1e-12 else Fraction(0) for v in y]


def _float_lp(a, A, b, lo, hi):
    """HiGHS on ``max a . x`` over the polytope: ``("optimal", duals >= 0 of the rows)``,
    ``("infeasible", ray)`` or ``(status, None)``. Guidance only."""
    from ..backends.highs_session import _highspy, _quiet_highs

    hs = _highspy()
    inf = hs.kHighsInf
    m, d = len(A), len(lo)
    h = _quiet_highs(hs)
    h.setOptionValue("presolve", "off")
    lp = hs.HighsLp()
    lp.num_col_ = d
    lp.num_row_ = m
    lp.col_cost_ = np.array([float(v) for v in a])
    lp.col_lower_ = np.array([float(v) for v in lo])
    lp.col_upper_ = np.array([float(v) for v in hi])
    lp.sense_ = hs.ObjSense.kMaximize
    if m:
        scale = np.array([max(abs(float(v)) for v in row) or 1.0 for row in A])
        M = np.array([[float(v) for v in row] for row in A]) / scale[:, None]
        lp.row_lower_ = np.full(m, -inf)
        lp.row_upper_ = np.array([float(v) for v in b]) / scale
        lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.arange(0, m * d + 1, d, dtype=np.int32)
        lp.a_matrix_.index_ = np.tile(np.arange(d, dtype=np.int32), m)
        lp.a_matrix_.value_ = M.ravel()
    else:
        scale = np.ones(0)
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    if st == hs.HighsModelStatus.kInfeasible:
        _, has, ray = h.getDualRay()
        if not has:
            return "infeasible", None
        r = np.asarray(ray) / scale
        # the ray's sign convention varies: keep the orientation with more positive mass
        return "infeasible", (r if r.clip(min=0).sum() >= (-r).clip(min=0).sum() else -r)
    if st == hs.HighsModelStatus.kOptimal:
        yd = np.asarray(h.getSolution().row_dual) / scale if m else np.zeros(0)
        # a maximisation's duals of <= rows are <= 0 in HiGHS's convention: flip, keep the positive part
        y = -yd if yd.sum() < 0 else yd
        return "optimal", np.maximum(y, 0.0)
    return str(st), None


def linear_objective(net: Network, output: int = 0, sign: int = 1, xcoef: dict | None = None) -> Network:
    """A one-output network computing ``sign * net_output(x) + sum_i xcoef[i] x_i`` (exact rewrite).

    Used by the query layer: on the argmax cone of ``x_i`` the max reference is the linear ``x_i``, so
    ``f_o - max`` becomes ``f_o(x) - x_i`` there, with no ReLUs for the reference.
    """
    import networkx as nx

    from ..ir.ops import Op
    from ..constructions.emulate import max_free

    if net.max_nodes:
        net = max_free(net)
    g = nx.DiGraph(net.graph)
    o = net.outputs[output]
    p = net.single_pred(o)
    top = ("engine", "objective")
    out = ("engine", "y")
    g.add_node(top, op=Op.AFFINE, bias=Fraction(0))
    g.add_edge(p, top, weight=Fraction(sign))
    for i, c in (xcoef or {}).items():
        c = Fraction(c)
        x = net.inputs[int(i)]
        if c == 0:
            continue
        if g.has_edge(x, top):
            w = g.edges[x, top]["weight"] + c
            if w == 0:
                g.remove_edge(x, top)
            else:
                g.edges[x, top]["weight"] = w
        else:
            g.add_edge(x, top, weight=c)
    g.remove_nodes_from(list(net.outputs))
    g.add_node(out, op=Op.OUTPUT, index=0)
    g.add_edge(top, out)
    keep = set(net.inputs) | {out}
    while True:
        dead = [n for n in g.nodes if g.out_degree(n) == 0 and n not in keep]
        if not dead:
            break
        g.remove_nodes_from(dead)
    return Network(g, net.inputs, [out], name=f"{'-' if sign < 0 else ''}{net.name or 'net'}[{output}] + linear")
