"""The big-M MILP encoding of a ReLU network (Tjeng et al., 2019), solved in floats by HiGHS.

:func:`milp_candidate` proposes a float maximiser of the single output over a box cut by linear
constraints; the MILP backend (:mod:`verify.backends.milp`) evaluates it exactly and polishes it, so the
float optimum is never a verdict. The encoding is a walk (table ``milp.encoding``): an affine node is an
equality row, a ReLU with sound pre-activation bounds ``l < 0 < u`` gets a binary ``d`` and
``a >= z, a <= z - l (1 - d), a <= u d, a >= 0``; a ReLU proved stable is linear.

References
----------
V. Tjeng, K. Xiao and R. Tedrake, "Evaluating robustness of neural networks with mixed integer
programming", ICLR 2019.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..domain import Box
from ..errors import UnsupportedOpError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk
from .highs_session import INF, HighsModel

__all__ = ["milp_candidate", "MILP_COLUMNS", "MILP_ENCODING"]


class _Encoding:
    """Columns (bounds, integrality) and rows of the MILP, filled by the walk."""

    def __init__(self, net: Network, box: Box, bounds: dict):
        self.net, self.box, self.bounds = net, box, bounds
        self.col: dict = {}
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integ: list[int] = []
        self.rows: list[tuple[dict, float, float]] = []

    def column(self, node, lo: float, hi: float, integer: int = 0) -> int:
        j = len(self.lo)
        if node is not None:
            self.col[node] = j
        self.lo.append(lo)
        self.hi.append(hi)
        self.integ.append(integer)
        return j


# First walk: one column per node (HiGHS sees every node column before the binaries).
def _input_column(enc: _Encoding, net, node, values):
    i = net.graph.nodes[node]["index"]
    enc.column(node, float(enc.box.lo[i]), float(enc.box.hi[i]))


def _affine_column(enc: _Encoding, net, node, values):
    lo, hi = enc.bounds[node]
    enc.column(node, float(lo), float(hi))


def _relu_column(enc: _Encoding, net, node, values):
    pl, pu = enc.bounds[net.single_pred(node)]
    enc.column(node, max(float(pl), 0.0), max(float(pu), 0.0))


def _max_refused(enc, net, node, values):
    raise UnsupportedOpError("the MILP encoding needs a ReLU-only network: lower max nodes first")


def _no_column(enc, net, node, values):
    pass  # the objective reads the output's predecessor


MILP_COLUMNS = Handlers("milp.columns", {Op.INPUT: _input_column, Op.AFFINE: _affine_column,
                                         Op.RELU: _relu_column, Op.MAX: _max_refused, Op.OUTPUT: _no_column})


# Second walk: the rows (and a binary column per unstable ReLU).
def _no_row(enc, net, node, values):
    pass


def _affine_row(enc: _Encoding, net, node, values):
    r = {enc.col[node]: 1.0}
    for p, w in net.affine_terms(node):
        r[enc.col[p]] = r.get(enc.col[p], 0.0) - float(w)
    enc.rows.append((r, float(net.bias(node)), float(net.bias(node))))


def _relu_rows(enc: _Encoding, net, node, values):
    p = net.single_pred(node)
    pl, pu = enc.bounds[p]
    j, jp = enc.col[node], enc.col[p]
    if pl >= 0:
        enc.rows.append(({j: 1.0, jp: -1.0}, 0.0, 0.0))
    elif pu > 0:
        k = enc.column(None, 0.0, 1.0, 1)
        enc.rows.append(({jp: 1.0, j: -1.0}, -INF, 0.0))  # a >= z
        enc.rows.append(({j: 1.0, jp: -1.0, k: -float(pl)}, -INF, -float(pl)))  # a <= z - l (1 - d)
        enc.rows.append(({j: 1.0, k: -float(pu)}, -INF, 0.0))  # a <= u d


MILP_ENCODING = Handlers("milp.encoding", {Op.INPUT: _no_row, Op.AFFINE: _affine_row, Op.RELU: _relu_rows,
                                           Op.MAX: _max_refused, Op.OUTPUT: _no_row})


def milp_candidate(net: Network, box: Box, constraints: Sequence, bounds: dict, *,
                   time_limit: float = 10.0, deadline=None) -> np.ndarray | None:
    """A float maximiser of the single output from a big-M MILP (HiGHS); guidance only (``deadline`` is
    checked while the encoding is built; HiGHS itself gets ``time_limit``)."""
    enc = _Encoding(net, box, bounds)
    walk(net, MILP_COLUMNS, enc, deadline=deadline, doing="building the MILP")
    walk(net, MILP_ENCODING, enc, deadline=deadline, doing="building the MILP")
    rows = enc.rows
    for c, b in constraints:
        rows.append(({enc.col[net.inputs[i]]: float(a) for i, a in c.items()}, -INF, float(b)))
    cost = np.zeros(len(enc.lo))
    cost[enc.col[net.single_pred(net.outputs[0])]] = 1.0
    starts, index, value = [0], [], []
    for r, _, _ in rows:
        for j, v in r.items():
            index.append(j)
            value.append(v)
        starts.append(len(index))
    h = HighsModel()
    h.pass_rowwise(cost, enc.lo, enc.hi, [r[1] for r in rows], [r[2] for r in rows], starts, index, value,
                   integer=enc.integ)
    h.run(max(0.05, float(time_limit)))
    sol = h.solution()
    if not sol.valid:
        return None
    x = sol.x
    return np.array([x[enc.col[n]] for n in net.inputs])
