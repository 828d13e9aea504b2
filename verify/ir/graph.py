"""The network IR: a piecewise-linear DAG on networkx with exact rational weights.

A :class:`Network` wraps a frozen :class:`networkx.DiGraph` whose nodes carry an ``op`` from the closed
set :class:`~verify.ir.ops.Op`. Affine nodes hold a ``bias`` and read their predecessors through the
edge attribute ``weight``; every number is a :class:`fractions.Fraction`. Skip connections are allowed
(any DAG). :func:`check_graph` validates a graph and is called by every way of making a network.

Depth is counted in hidden ReLU layers: the largest number of ReLU nodes on a path from an input to an
output (LITERATURE.md, "Depth is counted in hidden ReLU layers").
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from functools import cached_property
from typing import Iterable, Sequence

import networkx as nx

from ..errors import GraphError
from .ops import ARITY, Op
from .walk import Handlers, walk

__all__ = ["Network", "check_graph", "MAX_NODES", "MAX_DENSE_WEIGHTS"]

# A graph larger than this is refused before anything else is done with it (memory safety for files).
MAX_NODES = 5_000_000
# The most weights a network is written with as dense layers (relu-net/1, ONNX): about 1 GB while writing
# (verify.limits.BYTES_PER_DENSE_WEIGHT); the layered view refuses more (verify.ir.layers.to_layers).
MAX_DENSE_WEIGHTS = 10_000_000


# -- per-op checks of check_graph (one handler per op; called with the raw graph, before any walk) --
def _check_plain(graph, _net, node, attrs) -> None:
    """Inputs, ReLUs and max nodes carry nothing beyond their arity (checked by the caller)."""


def _check_affine(graph, _net, node, attrs) -> None:
    bias = attrs.get("bias")
    if not isinstance(bias, Fraction):
        raise GraphError(f"affine node {node!r} has a non-rational bias {bias!r}")
    for pred in graph.predecessors(node):
        w = graph.edges[pred, node].get("weight")
        if not isinstance(w, Fraction):
            raise GraphError(f"edge {pred!r} -> {node!r} has a non-rational weight {w!r}")


def _check_output(graph, _net, node, attrs) -> None:
    if graph.out_degree(node):
        raise GraphError(f"output node {node!r} has successors")


_CHECKS = Handlers("graph.check", {Op.INPUT: _check_plain, Op.AFFINE: _check_affine, Op.RELU: _check_plain,
                                   Op.MAX: _check_plain, Op.OUTPUT: _check_output})


# -- ReLU levels: the longest number of ReLUs on a path up to and including a node ---------------------
def _level_through(_ctx, net, node, level) -> int:
    return max((level[p] for p in net.graph.predecessors(node)), default=0)


def _level_relu(_ctx, net, node, level) -> int:
    return level[net.single_pred(node)] + 1


_LEVELS = Handlers("graph.relu-level", {Op.INPUT: _level_through, Op.AFFINE: _level_through, Op.RELU: _level_relu,
                                        Op.MAX: _level_through, Op.OUTPUT: _level_through})


def check_graph(graph: nx.DiGraph, inputs: Sequence, outputs: Sequence, windows=None) -> None:
    """Validate an IR graph; raise :class:`GraphError` naming the first offending node.

    Checks: a DAG; every node has a known op and the right number of predecessors; input nodes are
    exactly ``inputs`` with indices 0..d-1 in order, output nodes exactly ``outputs`` with indices
    0..m-1 and no successors; affine biases and edge weights are Fractions; ``windows`` (if given) has
    one non-empty list of valid input indices per output.
    """
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise GraphError("network graph must be a networkx DiGraph")
    if graph.number_of_nodes() > MAX_NODES:
        raise GraphError(f"graph has {graph.number_of_nodes()} nodes, more than the limit {MAX_NODES}")
    if len(inputs) < 1:
        raise GraphError("network has no inputs")
    if len(outputs) < 1:
        raise GraphError("network has no outputs")
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        raise GraphError(f"graph has a cycle through node {cycle[0][0]!r}")
    for node, attrs in graph.nodes(data=True):
        op = attrs.get("op")
        if not isinstance(op, Op):
            raise GraphError(f"node {node!r} has no valid op (got {op!r})")
        lo, hi = ARITY[op]
        k = graph.in_degree(node)
        if k < lo or (hi is not None and k > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}"
            raise GraphError(f"node {node!r} ({op.value}) has {k} inputs, expected {want}")
        _CHECKS[op](graph, None, node, attrs)
    seen_inputs = [n for n, a in graph.nodes(data=True) if a["op"] is Op.INPUT]
    if set(seen_inputs) != set(inputs) or len(seen_inputs) != len(inputs):
        raise GraphError("the input list does not match the graph's input nodes")
    for i, node in enumerate(inputs):
        if graph.nodes[node].get("index") != i:
            raise GraphError(f"input node {node!r} should have index {i}")
    seen_outputs = [n for n, a in graph.nodes(data=True) if a["op"] is Op.OUTPUT]
    if set(seen_outputs) != set(outputs) or len(seen_outputs) != len(outputs):
        raise GraphError("the output list does not match the graph's output nodes")
    for i, node in enumerate(outputs):
        if graph.nodes[node].get("index") != i:
            raise GraphError(f"output node {node!r} should have index {i}")
    if windows is not None:
        if len(windows) != len(outputs):
            raise GraphError(f"{len(windows)} windows given for {len(outputs)} outputs")
        for i, window in enumerate(windows):
            if len(window) == 0:
                raise GraphError(f"window of output {i} is empty")
            for j in window:
                if not isinstance(j, int) or isinstance(j, bool) or not 0 <= j < len(inputs):
                    raise GraphError(f"window of output {i} has an invalid input index {j!r}")
            if len(set(window)) != len(window):
                raise GraphError(f"window of output {i} repeats an input index")


class Network:
    """A validated, immutable ReLU/max network.

    Parameters
    ----------
    graph : networkx.DiGraph
        Nodes carry ``op`` (:class:`Op`) and op-specific attributes (see :mod:`verify.ir.ops`).
    inputs, outputs : sequence of node ids
        In order: ``inputs[i]`` has ``index == i``.
    windows : sequence of sequences of int, optional
        For each output, the input indices whose maximum it is meant to equal (a pooling window).
        Defaults to all inputs when there is one output.
    name : str
        A label used in reports.
    """

    __slots__ = ("graph", "inputs", "outputs", "_windows", "name", "__dict__")

    def __init__(self, graph: nx.DiGraph, inputs: Sequence, outputs: Sequence, windows=None, name: str = ""):
        if windows is not None:
            windows = tuple(tuple(int(j) if not isinstance(j, bool) else j for j in w) for w in windows)
        check_graph(graph, inputs, outputs, windows)
        self.graph = nx.freeze(graph)
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self._windows = windows
        self.name = name

    # -- shape ------------------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def windows(self) -> tuple[tuple[int, ...], ...] | None:
        """Input indices each output should be the max of; ``None`` if unknown (several outputs, none given)."""
        if self._windows is not None:
            return self._windows
        if self.n_outputs == 1:
            return (tuple(range(self.n_inputs)),)
        return None

    @property
    def has_explicit_windows(self) -> bool:
        return self._windows is not None

    def op(self, node) -> Op:
        return self.graph.nodes[node]["op"]

    @cached_property
    def order(self) -> tuple:
        """A deterministic topological order of all nodes (stable in the graph's insertion order)."""
        return tuple(nx.topological_sort(self.graph))

    @cached_property
    def ops(self) -> tuple:
        """``((node, op), ...)`` in topological order: what :func:`verify.ir.walk.walk` dispatches on."""
        nodes = self.graph.nodes
        return tuple((n, nodes[n]["op"]) for n in self.order)

    def memo(self, key, build):
        """``build()`` computed once per network and kept with it (compiled plans of the walks).

        The network is immutable, so anything derived from it alone stays valid as long as it lives.
        """
        cache = self.__dict__.setdefault("_memo", {})
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = build()
            return value

    def affine_terms(self, node) -> list[tuple[object, Fraction]]:
        """``[(predecessor, weight), ...]`` of an affine node, in insertion order."""
        return [(p, self.graph.edges[p, node]["weight"]) for p in self.graph.predecessors(node)]

    def bias(self, node) -> Fraction:
        return self.graph.nodes[node]["bias"]

    def single_pred(self, node):
        (pred,) = self.graph.predecessors(node)
        return pred

    def preds(self, node) -> list:
        return list(self.graph.predecessors(node))

    def nodes_of(self, op: Op) -> tuple:
        return tuple(n for n in self.order if self.op(n) is op)

    @cached_property
    def relu_nodes(self) -> tuple:
        return self.nodes_of(Op.RELU)

    @cached_property
    def max_nodes(self) -> tuple:
        return self.nodes_of(Op.MAX)

    @property
    def is_relu_network(self) -> bool:
        """True when the network uses only affine maps and ReLUs (no ``max`` nodes)."""
        return not self.max_nodes

    # -- depth and size ---------------------------------------------------------------------------
    @cached_property
    def relu_level(self) -> dict:
        """For every node, the largest number of ReLUs on a path from an input up to and including it."""
        return walk(self, _LEVELS)

    @property
    def hidden_layers(self) -> int:
        """Depth in hidden ReLU layers (longest ReLU count on an input-output path)."""
        return max(self.relu_level[o] for o in self.outputs)

    @property
    def widths(self) -> list[int]:
        """Number of ReLUs at each level 1..hidden_layers (level = longest ReLU count up to the unit)."""
        counts = Counter(self.relu_level[n] for n in self.relu_nodes)
        return [counts.get(k, 0) for k in range(1, self.hidden_layers + 1)]

    @property
    def n_relus(self) -> int:
        return len(self.relu_nodes)

    def weights(self) -> Iterable[Fraction]:
        """Every weight and bias of every affine node (zero biases included)."""
        for n in self.order:
            if self.op(n) is Op.AFFINE:
                yield self.bias(n)
                for _, w in self.affine_terms(n):
                    yield w

    @property
    def n_parameters(self) -> int:
        """Number of non-zero weights and biases."""
        return sum(1 for w in self.weights() if w != 0)

    @property
    def weight_denominators(self) -> list[int]:
        return sorted({w.denominator for w in self.weights()})

    @property
    def is_integer_weighted(self) -> bool:
        return all(w.denominator == 1 for w in self.weights())

    @property
    def is_bias_free(self) -> bool:
        """True when every affine node has bias exactly 0: the network is then positively homogeneous.

        ReLU and max commute with multiplication by ``t > 0``, and so do affine maps without bias, hence
        ``N(t x) = t N(x)`` for every ``t > 0`` and ``N(0) = 0``.
        """
        return all(self.bias(n) == 0 for n in self.nodes_of(Op.AFFINE))

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<Network{label}: {self.n_inputs} inputs, {self.n_outputs} outputs, "
            f"{self.hidden_layers} hidden layers, {self.n_relus} ReLUs>"
        )
