"""The triangle LP relaxation of a ReLU network over a polytope, solved by HiGHS, bounded exactly.

HiGHS solves the relaxation in floating point. Its optimum never counts by itself: the float dual
solution ``y`` is rounded to dyadic rationals and turned into an exactly valid bound by weak duality
with the variable bounds (the safe bound of Neumaier and Shcherbina, 2004):

    max c^T v  s.t.  L <= A v <= U,  l <= v <= u
      <=  sum_i (y_i U_i if y_i >= 0 else y_i L_i)  +  sum_j max(r_j l_j, r_j u_j),   r = c - A^T y,

valid for *every* ``y`` (a wrong-signed ``y_i`` against an infinite side is set to 0 first). All terms
are computed in exact rational arithmetic (integer-scaled rows, dyadic duals), so the bound is sound
whatever the floating-point error of the solver. The same formula with ``c = 0`` and a dual ray ``y``
proves infeasibility when it is negative (a Farkas certificate).

The relaxation of ``a = relu(z)`` with sound bounds ``l < 0 < u`` on ``z`` is the triangle
``a >= 0, a >= z, (u - l) a <= u (z - l)`` (Ehlers, 2017); a ReLU with ``l >= 0`` is ``a = z`` and one
with ``u <= 0`` is ``a = 0``. Variable bounds on pre-activations encode branching decisions.

References
----------
A. Neumaier and O. Shcherbina, "Safe bounds in linear and mixed-integer linear programming",
Math. Program. 99 (2004) 283-296.
R. Ehlers, "Formal verification of piece-wise linear feed-forward neural networks", ATVA 2017.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..domain import Box
from ..errors import UnsupportedOpError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers
from .highs_session import HighsModel, LPStatus

__all__ = ["ReluLP", "LPSolution", "dyadic_floor", "dyadic_ceil"]

# Duals are rounded to multiples of 2^-DUAL_BITS before the exact bound is computed.
DUAL_BITS = 40


def dyadic_floor(q: Fraction, bits: int = 32) -> Fraction:
    """The largest multiple of 2^-bits that is <= q (outward rounding keeps bounds sound, denominators small)."""
    return Fraction(math.floor(q * (1 << bits)), 1 << bits)


def dyadic_ceil(q: Fraction, bits: int = 32) -> Fraction:
    return Fraction(math.ceil(q * (1 << bits)), 1 << bits)


def _int_row(coefs: dict) -> tuple[dict, int]:
    """Scale a row of Fractions to integers: returns (var -> int, scale)."""
    s = 1
    for c in coefs.values():
        s = math.lcm(s, c.denominator)
    return {j: int(c * s) for j, c in coefs.items() if c != 0}, s


@dataclass
class LPSolution:
    """Outcome of one relaxation: ``status`` is an :class:`~verify.backends.highs_session.LPStatus`
    (OPTIMAL, INFEASIBLE, or OTHER for anything else; a ``str`` enum, so ``== "optimal"`` works too).

    ``value`` and ``x`` (the input part of the solution) are floats, for guidance only; ``bound`` is an
    exact upper bound of the relaxation's optimum (``None`` if none could be certified) and
    ``empty`` is True only when infeasibility was certified exactly.
    """

    status: LPStatus
    value: float | None = None
    point: np.ndarray | None = None
    bound: Fraction | None = None
    empty: bool = False
    full: np.ndarray | None = None  # every column of the float optimum
    intercept: dict | None = None  # relu -> dual share of its triangle's intercept (branching score)
    cert: tuple | None = None  # what certify() needs: rows, column bounds, exact objective, duals
    small_done: bool = False


class ReluLP:
    """Triangle relaxation of a ReLU-only network (no ``max`` nodes) over ``box`` and linear constraints.

    Parameters
    ----------
    net : Network
        ReLU-only (see :func:`verify.constructions.emulate.max_free`).
    box : Box
    constraints : sequence of (dict input index -> Fraction, Fraction)
        Extra constraints ``sum_i a_i x_i <= b`` on the inputs.
    nodes : iterable, optional
        Restrict to these nodes (closed under predecessors); default all nodes except outputs.
    """

    def __init__(self, net: Network, box: Box, constraints: Sequence = (), nodes=None):
        self.net = net
        self.box = box
        self.constraints = [({int(i): Fraction(a) for i, a in c.items()}, Fraction(b)) for c, b in constraints]
        keep = (set(nodes) | set(net.inputs)) if nodes is not None else None
        self.nodes = [n for n, op in net.ops if COLUMNS[op](net, n) and (keep is None or n in keep)]
        self.col = {n: j for j, n in enumerate(self.nodes)}
        self.n = len(self.nodes)
        self.input_cols = [self.col[n] for n in net.inputs]
        # Fixed rows: affine definitions (equalities) and the extra constraints.
        self.fixed_rows = []  # (int coefs dict col->int, L, U) with L/U Fractions or None (infinite)
        self._steps = [(RELAXATION[op], n, self.col[n]) for n, op in net.ops if n in self.col]
        for n, op in net.ops:
            if n in self.col:
                FIXED_ROWS[op](self, n)
        for c, b in self.constraints:
            row, s = _int_row({self.col[net.inputs[i]]: a for i, a in c.items()})
            if row:
                self.fixed_rows.append((row, None, b * s))

    # -- building one relaxation -----------------------------------------------------------------
    def _rows_and_cols(self, bounds: dict):
        """Rows and column bounds of the relaxation for pre-activation ``bounds`` (node -> (lo, hi))."""
        rows = list(self.fixed_rows)
        self._upper_rows = {}
        lo = [None] * self.n
        hi = [None] * self.n
        for step, n, j in self._steps:
            step(self, n, j, bounds, rows, lo, hi)
        return rows, lo, hi

    def _fixed_float(self):
        """Float copy of the fixed rows, normalised by their largest coefficient (built once)."""
        if getattr(self, "_ff", None) is None:
            data = []
            for row, L, U in self.fixed_rows:
                big = max(abs(v) for v in row.values())
                data.append((list(row.keys()), [v / big for v in row.values()], float(big),
                             None if L is None else float(L / big), None if U is None else float(U / big)))
            self._ff = data
        return self._ff

    def solve(self, bounds: dict, objective: dict, *, time_limit: float | None = None,
              exact: bool = True) -> LPSolution:
        """Maximise ``sum objective[node] * value(node)`` over the relaxation.

        With ``exact`` the exact safe bound is computed at once; otherwise call :meth:`certify` later.
        """
        rows, lo, hi = self._rows_and_cols(bounds)
        for j in range(self.n):
            if lo[j] > hi[j]:
                return LPSolution(LPStatus.INFEASIBLE, empty=True)  # contradictory bounds: provably empty
        m = len(rows)
        inf = float("inf")
        starts = [0]
        index: list[int] = []
        value: list[float] = []
        scale = np.empty(m)
        rl = np.empty(m)
        ru = np.empty(m)
        ff = self._fixed_float()
        for i, (cols, vals, big, L, U) in enumerate(ff):
            index.extend(cols)
            value.extend(vals)
            starts.append(len(index))
            scale[i] = big
            rl[i] = -inf if L is None else L
            ru[i] = inf if U is None else U
        for i in range(len(ff), m):
            row, L, U = rows[i]
            big = max(abs(v) for v in row.values())
            scale[i] = float(big)
            for j, v in row.items():
                index.append(j)
                value.append(float(v) / float(big))
            starts.append(len(index))
            rl[i] = -inf if L is None else float(L) / float(big)
            ru[i] = inf if U is None else float(U) / float(big)
        cost = np.zeros(self.n)
        c_exact = {}
        for node, c in objective.items():
            j = self.col[node]
            c_exact[j] = c_exact.get(j, Fraction(0)) + Fraction(c)
        for j, c in c_exact.items():
            cost[j] = float(c)
        # Small LPs solved many times: presolve costs more than it saves.
        h = HighsModel(presolve=False, simplex=True)
        h.pass_rowwise(cost, [float(v) for v in lo], [float(v) for v in hi], rl, ru, starts, index, value)
        status = h.run(time_limit)
        if status is LPStatus.OPTIMAL:
            sol = h.solution()
            y = sol.row_dual / scale  # duals of the integer-scaled rows
            x = sol.x
            # Share of the bound paid by each triangle's intercept (dual times right-hand side):
            # the branching score of Bunel et al.'s BaBSR, here read off the LP duals directly.
            out = LPSolution(LPStatus.OPTIMAL, value=h.objective_value(), point=x[self.input_cols], full=x,
                             cert=(rows, lo, hi, c_exact, y),
                             intercept={r: float(y[i]) * float(rows[i][2]) for r, i in self._upper_rows.items()})
            if exact:
                self.certify(out)
            return out
        if status is LPStatus.INFEASIBLE:
            out = LPSolution(LPStatus.INFEASIBLE)
            ray = h.dual_ray()
            if ray is not None:
                ray = ray / scale
                for sgn in (1.0, -1.0):
                    b = self.safe_bound(rows, lo, hi, {}, sgn * ray)
                    if b is not None and b < 0:
                        out.empty = True
                        break
            return out
        return LPSolution(LPStatus.OTHER)

    def certify(self, sol: LPSolution, target: Fraction | None = None) -> Fraction | None:
        """The exact safe bound of an optimal solution returned by :meth:`solve` (computed lazily).

        Dyadic rounding of the duals first; if that bound is above ``target`` (or no target is given),
        also the small-denominator rounding, which is exact at degenerate optima such as a
        difference that is identically 0 (continued fractions recover the exact optimal dual when it
        has small denominators). The smaller of the bounds is kept; both are valid.
        """
        cert = sol.cert
        if cert is None:
            return sol.bound
        rows, lo, hi, c, y = cert
        if sol.bound is None:
            sol.bound = self.safe_bound(rows, lo, hi, c, y)
        if not sol.small_done and (target is None or sol.bound > target):
            sol.small_done = True
            small = self.safe_bound(rows, lo, hi, c, y, rounding="small")
            if small < sol.bound:
                sol.bound = small
        return sol.bound

    @staticmethod
    def safe_bound(rows, lo, hi, c_exact: dict, y: np.ndarray, rounding: str = "dyadic") -> Fraction:
        """Exact upper bound of ``max c^T v`` over the relaxation from any dual vector ``y``.

        ``rounding``: "dyadic" rounds ``y`` to multiples of 2^-40; "small" to the nearest fractions
        with denominators up to 2^16 (continued fractions). Either way the bound is exact and valid.
        """
        y = np.nan_to_num(y)
        if rounding == "small":
            fr = [Fraction(float(v)).limit_denominator(1 << 16) if abs(v) > 1e-12 else Fraction(0) for v in y]
            den = 1
            for q in fr:
                den = math.lcm(den, q.denominator)
            Y = [int(q * den) for q in fr]
        else:
            den = 1 << DUAL_BITS
            Y = np.rint(y * den)
        total = Fraction(0)
        colsum: dict = {}
        for i, (row, L, U) in enumerate(rows):
            yi = int(Y[i])
            if yi == 0:
                continue
            if yi > 0:
                if U is None:
                    continue  # projected to 0: no finite side to pay with
                total += yi * U
            else:
                if L is None:
                    continue
                total += yi * L
            for j, a in row.items():
                colsum[j] = colsum.get(j, 0) + yi * a
        total = total / den
        for j in range(len(lo)):
            r = c_exact.get(j, Fraction(0)) - Fraction(colsum.get(j, 0), den)
            if r > 0:
                total += r * hi[j]
            elif r < 0:
                total += r * lo[j]
        return total


# -- the walks: which nodes have a column, their fixed rows, their rows and bounds per relaxation ------
def _column(net, node) -> bool:
    return True


def _no_column(net, node) -> bool:
    return False


def _max_refused(*args):
    raise UnsupportedOpError("the LP relaxation needs a ReLU-only network: lower max nodes first "
                             "(verify.constructions.emulate.max_free)")


COLUMNS = Handlers("lp-relax.columns", {Op.INPUT: _column, Op.AFFINE: _column, Op.RELU: _column,
                                        Op.MAX: _max_refused, Op.OUTPUT: _no_column})


def _no_fixed_row(lp: ReluLP, n) -> None:
    pass


def _affine_fixed_row(lp: ReluLP, n) -> None:
    coefs = {lp.col[n]: Fraction(1)}
    for p, w in lp.net.affine_terms(n):
        coefs[lp.col[p]] = coefs.get(lp.col[p], Fraction(0)) - w
    row, s = _int_row(coefs)
    b = lp.net.bias(n) * s
    lp.fixed_rows.append((row, b, b))


FIXED_ROWS = Handlers("lp-relax.fixed-rows", {Op.INPUT: _no_fixed_row, Op.AFFINE: _affine_fixed_row,
                                              Op.RELU: _no_fixed_row, Op.MAX: _max_refused,
                                              Op.OUTPUT: _no_fixed_row})


def _input_cols(lp: ReluLP, n, j, bounds, rows, lo, hi) -> None:
    i = lp.net.graph.nodes[n]["index"]
    a, b = lp.box.lo[i], lp.box.hi[i]
    if n in bounds:
        a, b = max(a, bounds[n][0]), min(b, bounds[n][1])
    lo[j], hi[j] = a, b


def _affine_cols(lp: ReluLP, n, j, bounds, rows, lo, hi) -> None:
    lo[j], hi[j] = bounds[n]


def _relu_cols(lp: ReluLP, n, j, bounds, rows, lo, hi) -> None:
    p = lp.net.single_pred(n)
    pl, pu = bounds[p]
    lo[j], hi[j] = max(pl, Fraction(0)), max(pu, Fraction(0))
    jp = lp.col[p]
    if pl >= 0:
        rows.append(({j: 1, jp: -1}, Fraction(0), Fraction(0)))
    elif pu <= 0:
        pass  # a = 0 through its column bounds
    else:
        rows.append(({jp: 1, j: -1}, None, Fraction(0)))  # a >= z
        # (u - l) a - u z <= -u l, scaled to integers
        row, s = _int_row({j: pu - pl, jp: -pu})
        lp._upper_rows[n] = len(rows)
        rows.append((row, None, -pu * pl * s))


def _output_cols(lp: ReluLP, n, j, bounds, rows, lo, hi) -> None:  # pragma: no cover - outputs have no column
    pass


RELAXATION = Handlers("lp-relax.relaxation", {Op.INPUT: _input_cols, Op.AFFINE: _affine_cols, Op.RELU: _relu_cols,
                                              Op.MAX: _max_refused, Op.OUTPUT: _output_cols})

