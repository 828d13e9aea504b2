"""Can floats guide a search on this network and domain? Numbers beyond float range, found before any work.

The exact routes take any rational (the parser accepts ``"1e400"``), but float guidance (sampled
points, HiGHS LPs and MILPs, float region enumeration) would overflow to ``inf`` and crash or steer
nowhere. :func:`float_range_issue` finds the first weight, bias, box end or node value whose magnitude
exceeds :data:`FLOAT_LIMIT` (``1e100``): below it, a product of two such numbers and sums of a million of
them stay far inside the float range (about ``1.8e308``), so every float computation of the guidance
stays finite. The decision per route (docs/reliability.md, "Numbers beyond float range"):

* z3 routes (``exact``/``error --backend z3``, ``gradient``, ``one-hidden``...) are exact: where they
  sample for start points, they skip the sampling and start from exact points only;
* ``--backend auto`` leaves out the float-guided steps and takes the z3 ones;
* float-guided routes asked for by name (``--backend milp``, ``regions --backend highs``, plots) refuse
  with one line naming the file and the place, and say which exact route takes the problem.

The node bounds are magnitudes propagated in floats (``|b| + sum |w| M(p)``, saturating at ``inf``):
they only decide whether floats may be used, never a verdict.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from ..domain import Box, RealSpace
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk

__all__ = ["FLOAT_LIMIT", "FloatRangeIssue", "float_range_issue", "magnitude_text"]

FLOAT_LIMIT = 1e100

_LAYERED_AFFINE = re.compile(r"a([0-9]+)_([0-9]+)", re.ASCII)
_LAYERED_RELU = re.compile(r"r([0-9]+)_([0-9]+)", re.ASCII)
_INPUT = re.compile(r"x([0-9]+)", re.ASCII)


def _mag(q) -> float:
    try:
        return abs(float(q))
    except OverflowError:
        return math.inf


def magnitude_text(q) -> str:
    """``Fraction(10) ** 400`` -> ``"about 1e400"`` (the decimal exponent, for messages)."""
    q = abs(Fraction(q))
    if q == 0:
        return "0"
    exp = q.numerator.bit_length() - q.denominator.bit_length()
    return f"about 1e{round(exp * math.log10(2))}"


@dataclass(frozen=True)
class FloatRangeIssue:
    """Where a number beyond :data:`FLOAT_LIMIT` is: ``kind`` is "weight", "bias", "box" or "value"."""

    kind: str
    node: str | None
    pred: str | None
    value: object

    def describe(self, net: Network | None = None) -> str:
        """``"layer 1, row 2, column 1: weight about 1e400"`` (relu-net/1 ids), ``"node 'a1', weight of
        'x0': ..."`` (relu-graph/1), ``"--box: end about 1e400"``."""
        size = magnitude_text(self.value) if not isinstance(self.value, float) else (
            "beyond 1e308" if math.isinf(self.value) else f"about {self.value:.1e}")
        if self.kind == "box":
            return f"box end {size}"
        if self.kind == "value":
            return f"{_node_place(self.node)}: values reach {size} on the domain"
        if self.kind == "coefficient":
            return f"{_node_place(self.node)}: its linear pieces have coefficients up to {size}"
        if self.kind == "bias":
            return f"{_node_place(self.node, bias=True)}: bias {size}"
        return f"{_node_place(self.node, self.pred)}: weight {size}"


def _node_place(node, pred=None, bias=False) -> str:
    m = _LAYERED_AFFINE.fullmatch(str(node))
    if m:
        layer, row = int(m.group(1)), int(m.group(2)) + 1
        if bias:
            return f"layer {layer}, bias {row}"
        text = f"layer {layer}, row {row}"
        if pred is not None:
            col = _INPUT.fullmatch(str(pred)) or _LAYERED_RELU.fullmatch(str(pred))
            if col:
                text += f", column {int(col.groups()[-1]) + 1}"
        return text
    text = f"node {str(node)!r}"
    if bias:
        return text + ", bias"
    return text + (f", weight of {str(pred)!r}" if pred is not None else "")


class _Found(Exception):
    def __init__(self, issue: FloatRangeIssue):
        self.issue = issue


class _Ctx:
    def __init__(self, box, limit):
        self.box, self.limit = box, limit


def _input(c: _Ctx, net, node, mag):
    if c.box is None:  # on R^d: magnitudes on the unit box bound |a|_1 + |c| of every affine piece a.x + c
        return 1.0
    i = net.graph.nodes[node]["index"]
    return max(_mag(c.box.lo[i]), _mag(c.box.hi[i]))


def _affine(c: _Ctx, net, node, mag):
    total = 0.0
    for p, w in net.affine_terms(node):
        mw = _mag(w)
        if mw > c.limit:
            raise _Found(FloatRangeIssue("weight", node, p, w))
        if mag[p]:
            total += mw * mag[p]
    b = net.bias(node)
    if _mag(b) > c.limit:
        raise _Found(FloatRangeIssue("bias", node, None, b))
    total += _mag(b)
    if total > c.limit:
        raise _Found(FloatRangeIssue("value" if c.box is not None else "coefficient", node, None, total))
    return total


def _one(c, net, node, mag):  # relu, output: the magnitude of the one input (relu(v) <= |v|)
    return mag[net.single_pred(node)]


def _max(c, net, node, mag):
    return max(mag[p] for p in net.preds(node))


MAGNITUDES = Handlers("float-range.magnitudes", {Op.INPUT: _input, Op.AFFINE: _affine, Op.RELU: _one,
                                                 Op.MAX: _max, Op.OUTPUT: _one})


def float_range_issue(net: Network, domain: Box | RealSpace | None = None,
                      limit: float = FLOAT_LIMIT) -> FloatRangeIssue | None:
    """The first number of ``net`` on ``domain`` whose magnitude exceeds ``limit``, or ``None``.

    Checked in order: box ends; then, in topological order, each affine node's weights, its bias and the
    magnitude bound of its value on the box. On all of R^d (``domain`` ``None`` or a
    :class:`~verify.domain.RealSpace`) the bound is taken with inputs of magnitude 1: it bounds
    ``|a|_1 + |c|`` of every affine piece ``a . x + c`` of the node, which is what float routes on R^d
    (facet LPs, the homogeneous reduction to [-1, 1]^d) compute with.
    """
    box = domain if isinstance(domain, Box) else None
    if box is not None:
        for v in box.lo + box.hi:
            if _mag(v) > limit:
                return FloatRangeIssue("box", None, None, v)
    try:
        walk(net, MAGNITUDES, _Ctx(box, limit))
    except _Found as found:
        return found.issue
    return None
