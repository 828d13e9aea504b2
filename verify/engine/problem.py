"""One maximisation problem prepared for the engine: the compiled network, the input set, and the exact
pieces that decide (fast exact evaluation, affine maps of activation regions, exact leaf LPs).

The exact arithmetic here uses python-flint's ``fmpq_mat`` (matrix products in C over integers with
common denominators), so float32 weights (denominators up to 2^150) and 17-digit decimals cost about as
much as small dyadics.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

from ..backends.linear_bounds import BoxDomain, ConeDomain, LagrangeDomain, LevelNet, float_down, float_up
from ..domain import Box
from ..ir.graph import Network

__all__ = ["Problem", "prepare_network", "parse_constraints", "linear_objective"]


def prepare_network(net: Network) -> Network:
    """ReLU-only, parallel ReLUs merged (exact rewrites of :mod:`verify.ir.rewrites`)."""
    from ..ir.rewrites import max_free, merge_parallel_relus

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
        # exact blocks as fmpq matrices
        lv = self.lv
        self.Wq: dict = {}
        self.bq: dict = {}
        for k in range(1, lv.L + 2):
            self.Wq[k] = {m: flint.fmpq_mat(len(blk.exact), lv.width[m], [_fmpq(v) for row in blk.exact for v in row])
                          for m, blk in lv.W[k].items()}
            b = lv.bias[k][0]
            self.bq[k] = flint.fmpq_mat(len(b), 1, [_fmpq(v) for v in b])
        self.A_rows = [[r.get(i, Fraction(0)) for i in range(d)] for r, _ in self.constraints]
        self.A_b = [b for _, b in self.constraints]

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
        return all(sum((a * v for a, v in zip(row, x)), Fraction(0)) <= b for row, b in zip(self.A_rows, self.A_b))

    def pattern_at(self, x) -> np.ndarray:
        """Activation pattern (1 if the pre-activation is >= 0) at an exact point, global ReLU order."""
        pre = self.exact_values(x)
        return np.array([1 if v >= 0 else 0 for k in range(1, self.lv.L + 1) for v in pre[k]], dtype=np.int8)

    # -- affine maps of an activation region -------------------------------------------------------
    def affine_maps(self, pattern: np.ndarray):
        """Exact affine maps ``z_g(x) = G_g . x + c_g`` of every pre-activation and of the output on the
        region where the ReLUs follow ``pattern`` (1 active, 0 inactive). Returns (G rows, c, a, c_out)."""
        import flint

        lv = self.lv
        d = self.d
        G = {0: flint.fmpq_mat(d, d, [1 if i == j else 0 for i in range(d) for j in range(d)])}
        c = {0: flint.fmpq_mat(d, 1, [0] * d)}
        rows, consts = [], []
        for k in range(1, lv.L + 2):
            n = lv.width[k] if k <= lv.L else 1
            Gk = flint.fmpq_mat(n, d, [0] * (n * d))
            ck = self.bq[k]
            for m, W in self.Wq[k].items():
                Gk = Gk + W * G[m]
                ck = ck + W * c[m]
            if k <= lv.L:
                sl = lv.level_slice(k)
                p = pattern[sl]
                ent_g = Gk.entries()
                ent_c = ck.entries()
                for j in range(n):
                    rows.append([_to_frac(q) for q in ent_g[j * d:(j + 1) * d]])
                    consts.append(_to_frac(ent_c[j]))
                D = flint.fmpq_mat(n, n, [int(p[i]) if i == j else 0 for i in range(n) for j in range(n)])
                G[k] = D * Gk
                c[k] = D * ck
            else:
                a = [_to_frac(q) for q in Gk.entries()]
                c_out = _to_frac(ck.entries()[0])
        return rows, consts, a, c_out

    def region_lp(self, lo: Sequence[Fraction], hi: Sequence[Fraction], split: np.ndarray, pattern: np.ndarray,
                  *, all_rows: bool = False, deadline=None):
        """Exact max of the output over ``box cap [lo, hi] cap constraints cap {split rows}`` where the
        network follows ``pattern`` (all its rows if ``all_rows``: the closed activation region).

        Returns ``(ExactLPResult, a, c_out, A, b, blo, bhi)``; the value includes ``c_out``.
        """
        from ..backends.exact_lp import solve_exact_lp

        rows, consts, a, c_out = self.affine_maps(pattern)
        A, b = [], []
        for g in range(self.lv.N):
            s = (1 if pattern[g] else -1) if all_rows else int(split[g])
            if s == 1:
                A.append([-v for v in rows[g]])
                b.append(consts[g])
            elif s == -1:
                A.append(list(rows[g]))
                b.append(-consts[g])
        A += [list(r) for r in self.domain_rows()]
        b += self.domain_rhs()
        blo = [max(Fraction(u), v) for u, v in zip(lo, self.box.lo)]
        bhi = [min(Fraction(u), v) for u, v in zip(hi, self.box.hi)]
        if any(l > h for l, h in zip(blo, bhi)):
            from ..backends.exact_lp import ExactLPResult, LPStatus

            return ExactLPResult(LPStatus.INFEASIBLE, method="box"), a, c_out, A, b, blo, bhi
        y = farkas_certificate(A, b, blo, bhi)
        if y is not None:
            from ..backends.exact_lp import ExactLPResult, LPStatus

            return ExactLPResult(LPStatus.INFEASIBLE, method="farkas", certificate=("farkas", y)), a, c_out, A, b, blo, bhi
        res = solve_exact_lp(a, A=A, b=b, lo=blo, hi=bhi, deadline=deadline)
        return res, a, c_out, A, b, blo, bhi

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
    d = len(lo)
    c = [Fraction(0)] * d
    rhs = Fraction(0)
    for yk, row, bk in zip(y, A, b):
        if yk == 0:
            continue
        rhs += yk * bk
        for i, v in enumerate(row):
            if v:
                c[i] += yk * v
    low = sum((min(ci * l, ci * h) for ci, l, h in zip(c, lo, hi)), Fraction(0))
    return low > rhs


def farkas_certificate(A, b, lo, hi):
    """An exactly checked certificate that ``{x : A x <= b, lo <= x <= hi}`` is empty, from HiGHS's dual
    ray (rounded to dyadics, negative entries dropped), or ``None`` (no claim either way)."""
    if not A:
        return None
    from ..backends.lp import _highspy, new_highs

    hs = _highspy()
    inf = hs.kHighsInf
    m, d = len(A), len(lo)
    h = new_highs()
    h.setOptionValue("presolve", "off")
    lp = hs.HighsLp()
    lp.num_col_ = d
    lp.num_row_ = m
    lp.col_cost_ = np.zeros(d)
    lp.col_lower_ = np.array([float(v) for v in lo])
    lp.col_upper_ = np.array([float(v) for v in hi])
    scale = np.array([max(abs(float(v)) for v in row) or 1.0 for row in A])
    M = np.array([[float(v) for v in row] for row in A]) / scale[:, None]
    lp.row_lower_ = np.full(m, -inf)
    lp.row_upper_ = np.array([float(v) for v in b]) / scale
    lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, m * d + 1, d, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(d, dtype=np.int32), m)
    lp.a_matrix_.value_ = M.ravel()
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != hs.HighsModelStatus.kInfeasible:
        return None
    _, has, ray = h.getDualRay()
    if not has:
        return None
    ray = np.asarray(ray) / scale
    for sgn in (1.0, -1.0):
        r = sgn * ray
        y = [Fraction(int(round(v * 2.0 ** 40)), 1 << 40) if v > 0 else Fraction(0) for v in r]
        if any(y) and farkas_holds(A, b, lo, hi, y):
            return y
    return None


def linear_objective(net: Network, output: int = 0, sign: int = 1, xcoef: dict | None = None) -> Network:
    """A one-output network computing ``sign * net_output(x) + sum_i xcoef[i] x_i`` (exact rewrite).

    Used by the query layer: on the argmax cone of ``x_i`` the max reference is the linear ``x_i``, so
    ``f_o - max`` becomes ``f_o(x) - x_i`` there, with no ReLUs for the reference.
    """
    import networkx as nx

    from ..ir.ops import Op
    from ..ir.rewrites import max_free

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
