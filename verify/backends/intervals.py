"""Sound pre-activation bounds by exact interval arithmetic over a box.

Used to fix stable ReLUs before encoding (a ReLU whose input is >= 0 on the whole box is the identity,
one whose input is <= 0 is zero), which removes disjunctions from the SMT and MILP encodings.
"""

from __future__ import annotations

from fractions import Fraction

from ..domain import Box
from ..ir.graph import Network
from ..ir.ops import Op

__all__ = ["interval_bounds", "relu_phases"]


def interval_bounds(net: Network, box: Box) -> dict:
    """``node -> (lo, hi)`` exact rational bounds valid for every point of ``box``."""
    if box.dim != net.n_inputs:
        raise ValueError(f"box has dimension {box.dim}, the network has {net.n_inputs} inputs")
    b: dict = {}
    for n in net.order:
        op = net.op(n)
        if op is Op.INPUT:
            i = net.graph.nodes[n]["index"]
            b[n] = (box.lo[i], box.hi[i])
        elif op is Op.AFFINE:
            lo = hi = net.bias(n)
            for p, w in net.affine_terms(n):
                plo, phi = b[p]
                if w > 0:
                    lo += w * plo
                    hi += w * phi
                else:
                    lo += w * phi
                    hi += w * plo
            b[n] = (lo, hi)
        elif op is Op.RELU:
            plo, phi = b[net.single_pred(n)]
            b[n] = (max(plo, Fraction(0)), max(phi, Fraction(0)))
        elif op is Op.MAX:
            ps = [b[p] for p in net.preds(n)]
            b[n] = (max(p[0] for p in ps), max(p[1] for p in ps))
        else:  # OUTPUT
            b[n] = b[net.single_pred(n)]
    return b


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
