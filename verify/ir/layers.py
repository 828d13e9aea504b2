"""Layered (fully connected) view of a network: the shape of the ``relu-net/1`` format.

:func:`from_layers` builds a graph from weight matrices; :func:`to_layers` recovers matrices from any
graph that is layered (every ReLU reads only the previous hidden layer, outputs read only the last),
collapsing chains of affine nodes. Graphs with skip connections or ``max`` nodes are not layered and
give ``None``; they are written in the ``relu-graph/1`` format instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import networkx as nx

from ..errors import GraphError, ResourceLimitError
from .graph import MAX_DENSE_WEIGHTS, Network
from .ops import Op
from .walk import Handlers, walk

__all__ = ["Layer", "from_layers", "to_layers", "source_exprs"]


@dataclass(frozen=True)
class Layer:
    """One fully connected layer: ``activation(W x + b)``; ``weights[r][c]`` reads unit ``c`` of the previous layer."""

    weights: tuple[tuple[Fraction, ...], ...]
    bias: tuple[Fraction, ...]
    activation: str  # "relu" or "linear"

    def __post_init__(self):
        if self.activation not in ("relu", "linear"):
            raise GraphError(f"unknown activation {self.activation!r}")

    @property
    def width(self) -> int:
        return len(self.weights)


def from_layers(n_inputs: int, layers: Sequence[Layer], windows=None, name: str = "") -> Network:
    """Build the graph of a fully connected network; the last layer must be linear.

    Node ids: ``x{i}`` inputs, ``a{l}_{r}`` the affine part of row ``r`` of layer ``l`` (1-based
    layers), ``r{l}_{r}`` its ReLU, ``y{r}`` outputs. Zero weights make no edge.
    """
    if not layers:
        raise GraphError("a network needs at least one layer")
    if layers[-1].activation != "linear":
        raise GraphError(f"layer {len(layers)} (the last) must be linear")
    g = nx.DiGraph()
    prev = []
    for i in range(n_inputs):
        g.add_node(f"x{i}", op=Op.INPUT, index=i)
        prev.append(f"x{i}")
    for l, layer in enumerate(layers, start=1):
        current = []
        if len(layer.bias) != len(layer.weights):
            raise GraphError(f"layer {l}: {len(layer.bias)} biases for {len(layer.weights)} rows")
        for r, (row, b) in enumerate(zip(layer.weights, layer.bias)):
            if len(row) != len(prev):
                raise GraphError(f"layer {l}, row {r + 1}: {len(row)} weights for {len(prev)} inputs")
            a = f"a{l}_{r}"
            g.add_node(a, op=Op.AFFINE, bias=Fraction(b))
            for src, w in zip(prev, row):
                if w != 0:
                    g.add_edge(src, a, weight=Fraction(w))
            if layer.activation == "relu":
                g.add_node(f"r{l}_{r}", op=Op.RELU)
                g.add_edge(a, f"r{l}_{r}")
                current.append(f"r{l}_{r}")
            else:
                current.append(a)
        prev = current
    outputs = []
    for i, src in enumerate(prev):
        g.add_node(f"y{i}", op=Op.OUTPUT, index=i)
        g.add_edge(src, f"y{i}")
        outputs.append(f"y{i}")
    return Network(g, [f"x{i}" for i in range(n_inputs)], outputs, windows=windows, name=name)


# The value of every node as (coef, const) over *sources* (inputs, ReLUs and max nodes): affine chains
# are multiplied out exactly; an output is the value of the node it reports.
def _source(_ctx, net, node, exprs):
    return ({node: Fraction(1)}, Fraction(0))


def _collapse(_ctx, net, node, exprs):
    coef: dict = {}
    const = net.bias(node)
    for p, w in net.affine_terms(node):
        pc, pk = exprs[p]
        const += w * pk
        for s, c in pc.items():
            coef[s] = coef.get(s, 0) + w * c
    return ({s: c for s, c in coef.items() if c != 0}, const)


def _reported(_ctx, net, node, exprs):
    return exprs[net.single_pred(node)]


SOURCE_EXPRS = Handlers("layers.sources", {Op.INPUT: _source, Op.AFFINE: _collapse, Op.RELU: _source,
                                           Op.MAX: _source, Op.OUTPUT: _reported})


def source_exprs(net: Network) -> dict:
    """For every node, its value as ``(coef, const)`` over sources (inputs, ReLUs and max nodes)."""
    return net.memo("layers.sources", lambda: walk(net, SOURCE_EXPRS))


def to_layers(net: Network) -> list[Layer] | None:
    """The fully connected layers of a layered network, or ``None`` if it is not layered.

    Units keep the graph's insertion order, so ``from_layers`` then ``to_layers`` gives back the
    same matrices exactly.
    """
    if net.max_nodes:
        return None
    exprs = source_exprs(net)
    level = net.relu_level
    relus_by_level: dict[int, list] = {}
    for n in net.graph.nodes:  # insertion order
        if net.op(n) is Op.RELU:
            relus_by_level.setdefault(level[n], []).append(n)
    depth = max(relus_by_level, default=0)
    if sorted(relus_by_level) != list(range(1, depth + 1)):
        return None
    units = {0: list(net.inputs)}
    for l in range(1, depth + 1):
        units[l] = relus_by_level[l]
    position = {l: {u: k for k, u in enumerate(us)} for l, us in units.items()}
    # Layered? (each unit reads only the layer below it) -- checked before any dense row is made, so that
    # the size of the matrices can be refused first: a tree of 10^5 inputs would need 10^10 entries.
    for l in range(1, depth + 2):
        for u in units[l] if l <= depth else net.outputs:
            if any(src not in position[l - 1] for src in exprs[net.single_pred(u)][0]):
                return None
    dense = sum(len(units[l]) * len(units[l - 1]) for l in range(1, depth + 1)) + len(net.outputs) * len(units[depth])
    if dense > MAX_DENSE_WEIGHTS:
        raise ResourceLimitError(
            f"{net.name or 'the network'} as dense layers (relu-net/1, ONNX) would hold {dense:,} weights (about "
            f"{dense * 100 / 1e9:.3g} GB of memory), more than the limit {MAX_DENSE_WEIGHTS:,} weights")

    def row_of(coef: dict, l: int):
        row = [Fraction(0)] * len(units[l])
        for src, c in coef.items():
            k = position[l].get(src)
            if k is None:
                return None
            row[k] = c
        return tuple(row)

    layers = []
    for l in range(1, depth + 1):
        weights, bias = [], []
        for u in units[l]:
            coef, const = exprs[net.single_pred(u)]
            row = row_of(coef, l - 1)
            if row is None:
                return None
            weights.append(row)
            bias.append(const)
        layers.append(Layer(tuple(weights), tuple(bias), "relu"))
    weights, bias = [], []
    for o in net.outputs:
        coef, const = exprs[net.single_pred(o)]
        row = row_of(coef, depth)
        if row is None:
            return None
        weights.append(row)
        bias.append(const)
    layers.append(Layer(tuple(weights), tuple(bias), "linear"))
    return layers
