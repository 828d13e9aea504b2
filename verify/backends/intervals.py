"""Sound pre-activation bounds by exact interval arithmetic over a box.

Used to fix stable ReLUs before encoding (a ReLU whose input is >= 0 on the whole box is the identity,
one whose input is <= 0 is zero), which removes disjunctions from the SMT and MILP encodings. A walk of
:mod:`verify.ir.walk` (table ``intervals.exact``) in Fractions; the integer-scaled, outward-rounded
version for large networks is :func:`verify.backends.bounds.propagate_intervals`.
"""

from __future__ import annotations

from fractions import Fraction

from ..domain import Box
from ..errors import DomainError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk

__all__ = ["interval_bounds", "relu_phases"]


def _input(box, net, node, b):
    i = net.graph.nodes[node]["index"]
    return box.lo[i], box.hi[i]


def _affine(box, net, node, b):
    lo = hi = net.bias(node)
    for p, w in net.affine_terms(node):
        plo, phi = b[p]
        if w > 0:
            lo += w * plo
            hi += w * phi
        else:
            lo += w * phi
            hi += w * plo
    return lo, hi


def _relu(box, net, node, b):
    plo, phi = b[net.single_pred(node)]
    return max(plo, Fraction(0)), max(phi, Fraction(0))


def _max(box, net, node, b):
    ps = [b[p] for p in net.preds(node)]
    return max(p[0] for p in ps), max(p[1] for p in ps)


def _output(box, net, node, b):
    return b[net.single_pred(node)]


INTERVALS = Handlers("intervals.exact", {Op.INPUT: _input, Op.AFFINE: _affine, Op.RELU: _relu, Op.MAX: _max,
                                         Op.OUTPUT: _output})


def interval_bounds(net: Network, box: Box, deadline=None) -> dict:
    """``node -> (lo, hi)`` exact rational bounds valid for every point of ``box``.

    Kept with the network per box (both sides of a worst-case query need the same bounds); the walk
    checks ``deadline`` between nodes. The dict is shared: callers must not change it.
    """
    if box.dim != net.n_inputs:
        raise DomainError(f"box has dimension {box.dim}, the network has {net.n_inputs} inputs")
    return net.memo(("intervals.exact", box),
                    lambda: walk(net, INTERVALS, box, deadline=deadline, doing="computing interval bounds"))


def relu_phases(net: Network, bounds: dict) -> dict:
    """``relu node -> "active" | "inactive" | "unstable"`` from pre-activation bounds."""
    phases = {}
    for r in net.relu_nodes:
        lo, hi = bounds[net.single_pred(r)]
        if lo >= 0:
            phases[r] = "active"
        elif hi <= 0:
            phases[r] = "inactive"
        else:
            phases[r] = "unstable"
    return phases
