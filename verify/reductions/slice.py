"""The input-slice reduction: a network restricted to the plane through a base point along two inputs.

``slice_network(net, i, j, base)`` has two inputs ``(s, t) = (x_i, x_j)``; every other input is fixed at
``base``. Its activation regions are the regions of ``net`` cut by the plane (SplineCam, Humayun et al.
CVPR 2023), so they are counted by the same enumerator, and its optimum over a 2-D box is an optimum of
``net`` over the slice. :class:`InputSlice` is the reduction: ``apply`` swaps the network of a problem
for its slice, ``invert`` maps every 2-D point of the answer back to the full input space and
re-evaluates it on the original network exactly.

References
----------
Humayun, Balestriero, Balakrishnan, Baraniuk, "SplineCam: exact visualization and characterization of
deep network geometry and decision boundaries", CVPR 2023.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import networkx as nx

from ..backends.evaluator import evaluate
from ..errors import DomainError, ToolkitBugError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers
from .base import Reduction

__all__ = ["slice_network", "lift_point", "InputSlice"]


def _copy_input(cut, net, node, attrs):
    """An input becomes an affine node: the slice's s or t (inputs i, j), or the base value."""
    k = attrs["index"]
    if k == cut["i"]:
        cut["g"].add_node(node, op=Op.AFFINE, bias=Fraction(0))
        cut["g"].add_edge(cut["s"], node, weight=Fraction(1))
    elif k == cut["j"]:
        cut["g"].add_node(node, op=Op.AFFINE, bias=Fraction(0))
        cut["g"].add_edge(cut["t"], node, weight=Fraction(1))
    else:
        cut["g"].add_node(node, op=Op.AFFINE, bias=cut["base"][k])


def _copy_node(cut, net, node, attrs):
    cut["g"].add_node(node, **dict(attrs))


SLICE_COPY = Handlers("slice.copy", {Op.INPUT: _copy_input, Op.AFFINE: _copy_node, Op.RELU: _copy_node,
                                     Op.MAX: _copy_node, Op.OUTPUT: _copy_node})


def slice_network(net: Network, i: int, j: int, base) -> Network:
    """The network restricted to the plane through ``base`` spanned by inputs ``i`` and ``j``.

    The result has two inputs ``(s, t)`` = ``(x_i, x_j)``; every other input is fixed at ``base``.
    Its activation regions are the regions of ``net`` cut by the plane (SplineCam, Humayun et al.
    CVPR 2023), so they are counted by the same enumerator.
    """
    d = net.n_inputs
    for k in (i, j):
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < d:
            raise DomainError(f"slice coordinate {k!r} is not an input index 0..{d - 1}")
    if i == j:
        raise DomainError("slice coordinates must be two different inputs")
    base = tuple(Fraction(v) for v in base)
    if len(base) != d:
        raise DomainError(f"base point has {len(base)} coordinates, the network has {d} inputs")
    g = nx.DiGraph()
    s_node, t_node = ("slice", 0), ("slice", 1)
    g.add_node(s_node, op=Op.INPUT, index=0)
    g.add_node(t_node, op=Op.INPUT, index=1)
    cut = {"g": g, "i": i, "j": j, "s": s_node, "t": t_node, "base": base}
    # The graph's insertion order is kept (it fixes the slice's topological order).
    for n, attrs in net.graph.nodes(data=True):
        SLICE_COPY[attrs["op"]](cut, net, n, attrs)
    for u, v, attrs in net.graph.edges(data=True):
        g.add_edge(u, v, **dict(attrs))
    return Network(g, [s_node, t_node], list(net.outputs), windows=None,
                   name=f"{net.name or 'network'} on the slice (x{i}, x{j})")


def lift_point(point, i: int, j: int, base) -> tuple:
    """The full input ``x`` of the slice point ``(s, t)``: ``base`` with ``x_i = s`` and ``x_j = t``."""
    x = [Fraction(v) for v in base]
    x[i], x[j] = Fraction(point[0]), Fraction(point[1])
    return tuple(x)


class InputSlice(Reduction):
    """Restrict a problem's network to the plane through ``base`` along inputs ``i`` and ``j``.

    ``apply`` works on any problem with a ``net`` field and a 2-D ``box`` (a dataclass); ``invert`` maps
    the solution's ``witness`` (if any) back to the full space and checks exactly that the original
    network takes the slice network's value there.
    """

    name = "input-slice"

    def __init__(self, i: int, j: int, base):
        self.i, self.j, self.base = i, j, tuple(Fraction(v) for v in base)

    def accepts(self, problem) -> bool:
        return hasattr(problem, "net") and problem.net.n_inputs == len(self.base)

    def apply(self, problem):
        sliced = slice_network(problem.net, self.i, self.j, self.base)
        return dataclasses.replace(problem, net=sliced), (problem.net, sliced)

    def invert(self, solution, inverse):
        original, sliced = inverse
        witness = getattr(solution, "witness", None)
        if witness is None:
            return solution
        x = lift_point(witness, self.i, self.j, self.base)
        if evaluate(original, x) != evaluate(sliced, witness):  # pragma: no cover - the slice is exact
            raise ToolkitBugError(f"the slice network disagrees with its network at {x}")
        return dataclasses.replace(solution, witness=x)
