"""The JSON network formats.

``relu-net/1`` (fully connected layers)::

    {"format": "relu-net/1", "inputs": D,
     "layers": [{"weights": [[...], ...], "bias": [...], "activation": "relu" | "linear"}, ...],
     "windows": [[i, ...], ...]}          # optional: per output, the inputs it should be the max of

The last layer is linear. Every number may be a JSON number, a decimal string or a fraction string
``"p/q"``; all are read exactly from their text (``0.1`` is 1/10). ``bias`` may be omitted (zero).

``relu-graph/1`` (any DAG of the IR, for skip connections and ``max`` nodes)::

    {"format": "relu-graph/1", "inputs": D,
     "nodes": [{"id": "a1", "op": "affine", "in": [["x0", "1"], ["x1", "-1"]], "bias": "0"},
               {"id": "r1", "op": "relu", "in": "a1"},
               {"id": "m1", "op": "max", "in": ["a1", "r1"]}, ...],
     "outputs": ["m1", ...], "windows": [[...], ...]}

Inputs are the implicit ids ``x0 .. x{D-1}``; every node reads only inputs and nodes listed before it.
The writer uses ``relu-net/1`` whenever the graph is layered, ``relu-graph/1`` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import networkx as nx

from ..errors import GraphError, NetworkFormatError, ToolkitBugError
from ..ir.graph import Network
from ..ir.layers import Layer, from_layers, to_layers
from ..ir.ops import Op
from ..ir.walk import Handlers, MissingHandlerError, walk
from ..numbers import parse_rational, to_text
from .files import atomic_write_text
from .reading import check_id, check_keys, load_json, show

__all__ = [
    "LAYERED_FORMAT",
    "GRAPH_FORMAT",
    "load_network",
    "loads_network",
    "network_from_mapping",
    "network_to_mapping",
    "dumps_network",
    "save_network",
    "network_hash",
    "MAX_INPUTS",
]

LAYERED_FORMAT = "relu-net/1"
GRAPH_FORMAT = "relu-graph/1"
# The closed sets of keys of each kind of object (anything else is refused, never ignored).
LAYERED_KEYS = ("format", "inputs", "layers", "windows", "name", "comment")
GRAPH_KEYS = ("format", "inputs", "nodes", "outputs", "windows", "name", "comment")
LAYER_KEYS = ("weights", "bias", "activation")
NODE_KEYS = {Op.AFFINE: ("id", "op", "in", "bias"), Op.RELU: ("id", "op", "in"), Op.MAX: ("id", "op", "in")}
MAX_INPUTS = 1_000_000
MAX_FILE_BYTES = 2_000_000_000


def _json_load(text: str, source: str | None) -> Any:
    """The shared strict JSON reading of :mod:`verify.io.reading` (kept under this name for callers)."""
    return load_json(text, source)


def _number(value: Any, where: str) -> Fraction:
    try:
        return parse_rational(value)
    except ValueError as exc:
        raise NetworkFormatError(str(exc), where=where) from None


def _count(value: Any, what: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NetworkFormatError(f"{what} must be an integer, got {show(value)}")
    if not minimum <= value <= maximum:
        raise NetworkFormatError(f"{what} must be between {minimum} and {maximum}, got {value}")
    return value


def _windows(data: dict, n_inputs: int):
    if "windows" not in data or data["windows"] is None:
        return None
    windows = data["windows"]
    if not isinstance(windows, list):
        raise NetworkFormatError("windows must be a list of lists of input indices")
    out = []
    for k, w in enumerate(windows):
        if not isinstance(w, list) or not w:
            raise NetworkFormatError("must be a non-empty list of input indices", where=f"window {k + 1}")
        for j in w:
            if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < n_inputs:
                raise NetworkFormatError(f"invalid input index {show(j)} (inputs are 0..{n_inputs - 1})", where=f"window {k + 1}")
        out.append(tuple(w))
    return out


def network_from_mapping(data: Any, source: str | None = None, deadline=None) -> Network:
    """Build a validated :class:`Network` from a parsed JSON mapping of either format.

    ``deadline`` (a :class:`~verify.deadline.Deadline`) is checked between rows and nodes: reading a
    network of 10^5 inputs is part of a command's ``--timeout``.
    """
    try:
        return _from_mapping(data, deadline)
    except NetworkFormatError as exc:
        raise exc.located(source) if source else exc
    except GraphError as exc:
        raise NetworkFormatError(str(exc), source=source) from None


def _from_mapping(data: Any, deadline=None) -> Network:
    if not isinstance(data, dict):
        raise NetworkFormatError("top level must be a JSON object")
    fmt = data.get("format")
    if fmt == LAYERED_FORMAT:
        return _layered_from_mapping(data, deadline)
    if fmt == GRAPH_FORMAT:
        return _graph_from_mapping(data, deadline)
    raise NetworkFormatError(f"unknown format tag {'None' if fmt is None else show(fmt)} "
                             f"(expected {LAYERED_FORMAT!r} or {GRAPH_FORMAT!r})")


def _layered_from_mapping(data: dict, deadline=None) -> Network:
    n_inputs = _count(data.get("inputs"), "inputs", 1, MAX_INPUTS)
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise NetworkFormatError("layers must be a non-empty list")
    layers = []
    width = n_inputs
    for l, raw in enumerate(raw_layers, start=1):
        where = f"layer {l}"
        if not isinstance(raw, dict):
            raise NetworkFormatError("must be an object", where=where)
        check_keys(raw, LAYER_KEYS, where, "a layer")
        act = raw.get("activation")
        if act not in ("relu", "linear"):
            raise NetworkFormatError(f"activation must be 'relu' or 'linear', got {show(act)}", where=where)
        rows = raw.get("weights")
        if not isinstance(rows, list) or not rows:
            raise NetworkFormatError("weights must be a non-empty list of rows", where=where)
        weights = []
        for r, row in enumerate(rows, start=1):
            rwhere = f"layer {l}, row {r}"
            if deadline is not None:
                deadline.check("reading the network")
            if not isinstance(row, list):
                raise NetworkFormatError("must be a list of numbers", where=rwhere)
            if len(row) != width:
                raise NetworkFormatError(f"has {len(row)} weights, expected {width} (the width of the previous layer)", where=rwhere)
            weights.append(tuple(_number(v, f"{rwhere}, column {c}") for c, v in enumerate(row, start=1)))
        bias = raw.get("bias")
        if bias is None:
            bias = (Fraction(0),) * len(weights)
        else:
            if not isinstance(bias, list) or len(bias) != len(weights):
                n = len(bias) if isinstance(bias, list) else "no list of"
                raise NetworkFormatError(f"bias has {n} entries, expected {len(weights)}", where=where)
            bias = tuple(_number(v, f"layer {l}, bias {r}") for r, v in enumerate(bias, start=1))
        layers.append(Layer(tuple(weights), bias, act))
        width = len(weights)
    if layers[-1].activation != "linear":
        raise NetworkFormatError("the last layer must be linear", where=f"layer {len(layers)}")
    check_keys(data, LAYERED_KEYS, "top level", f"a {LAYERED_FORMAT} file")
    windows = _windows(data, n_inputs)
    if windows is not None and len(windows) != width:
        raise NetworkFormatError(f"{len(windows)} windows for {width} outputs")
    return from_layers(n_inputs, layers, windows=windows, name=str(data.get("name", "")))


class _Reader:
    """What a node handler of the reader needs: the graph so far and the reference checker."""

    def __init__(self, g: nx.DiGraph, ref):
        self.g, self.ref = g, ref


def _read_affine(rd: _Reader, _net, nid, item):
    raw, where = item
    terms = raw.get("in", [])
    if not isinstance(terms, list):
        raise NetworkFormatError("'in' of an affine node must be a list of [id, weight] pairs", where=where)
    bias = _number(raw.get("bias", 0), f"{where}, bias")
    parsed = []
    for t, term in enumerate(terms, start=1):
        if not isinstance(term, list) or len(term) != 2:
            raise NetworkFormatError("must be an [id, weight] pair", where=f"{where}, term {t}")
        parsed.append((rd.ref(term[0], f"{where}, term {t}"), _number(term[1], f"{where}, term {t}")))
    rd.g.add_node(nid, op=Op.AFFINE, bias=bias)
    for src, w in parsed:
        if rd.g.has_edge(src, nid):
            raise NetworkFormatError(f"reads {src!r} twice", where=where)
        if w != 0:
            rd.g.add_edge(src, nid, weight=w)


def _read_relu(rd: _Reader, _net, nid, item):
    raw, where = item
    src = rd.ref(raw.get("in"), where)
    rd.g.add_node(nid, op=Op.RELU)
    rd.g.add_edge(src, nid)


def _read_max(rd: _Reader, _net, nid, item):
    raw, where = item
    srcs = raw.get("in")
    if not isinstance(srcs, list) or not srcs:
        raise NetworkFormatError("'in' of a max node must be a non-empty list of ids", where=where)
    srcs = [rd.ref(s, where) for s in srcs]
    if len(set(srcs)) != len(srcs):
        raise NetworkFormatError("a max node reads the same node twice", where=where)
    rd.g.add_node(nid, op=Op.MAX)
    for s in srcs:
        rd.g.add_edge(s, nid)


def _read_implicit(rd: _Reader, _net, nid, item):  # pragma: no cover - not in _FILE_OPS
    raise ToolkitBugError("inputs and outputs are implicit in relu-graph/1, never nodes of the file")


# One handler per op; inputs (x0..) and outputs (the "outputs" list) are implicit in the file.
GRAPH_READER = Handlers("json.graph-reader", {Op.INPUT: _read_implicit, Op.AFFINE: _read_affine,
                                              Op.RELU: _read_relu, Op.MAX: _read_max, Op.OUTPUT: _read_implicit})
# The ops a file may name as nodes, by their file name.
_FILE_OPS = {op.value: op for op in GRAPH_READER if GRAPH_READER[op] is not _read_implicit}
if set(NODE_KEYS) != set(_FILE_OPS.values()):  # a new op readable from files needs its closed set of keys
    raise MissingHandlerError(f"json.graph-reader: NODE_KEYS lacks {sorted(o.value for o in set(_FILE_OPS.values()) - set(NODE_KEYS))}")


def _graph_from_mapping(data: dict, deadline=None) -> Network:
    n_inputs = _count(data.get("inputs"), "inputs", 1, MAX_INPUTS)
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list):
        raise NetworkFormatError("nodes must be a list")
    g = nx.DiGraph()
    inputs = [f"x{i}" for i in range(n_inputs)]
    for i, n in enumerate(inputs):
        g.add_node(n, op=Op.INPUT, index=i)

    def ref(value, where):
        if not isinstance(value, str) or value not in g:
            raise NetworkFormatError(f"refers to unknown or later node {show(value)}", where=where)
        return value

    for k, raw in enumerate(raw_nodes, start=1):
        where = f"node {k}"
        if deadline is not None and k % 256 == 0:
            deadline.check("reading the network")
        if not isinstance(raw, dict):
            raise NetworkFormatError("must be an object", where=where)
        nid = raw.get("id")
        if not isinstance(nid, str) or not nid:
            raise NetworkFormatError("id must be a non-empty string", where=where)
        where = f"node {k} ({nid})"
        check_id(nid, where)
        if nid in g:
            raise NetworkFormatError("duplicate id", where=where)
        op = raw.get("op")
        kind = _FILE_OPS.get(op) if isinstance(op, str) else None
        if kind is None:
            names = list(_FILE_OPS)
            raise NetworkFormatError(f"unknown op {show(op)} (expected {', '.join(names[:-1])} or {names[-1]})",
                                     where=where)
        check_keys(raw, NODE_KEYS[kind], where, f"{'an' if op[0] in 'aeiou' else 'a'} {op} node")
        GRAPH_READER[kind](_Reader(g, ref), None, nid, (raw, where))
    outs = data.get("outputs")
    if not isinstance(outs, list) or not outs:
        raise NetworkFormatError("outputs must be a non-empty list of node ids")
    outputs = []
    for i, src in enumerate(outs):
        src = ref(src, f"output {i + 1}")
        g.add_node(f"y{i}", op=Op.OUTPUT, index=i)  # no file node is named y{i} (check_id)
        g.add_edge(src, f"y{i}")
        outputs.append(f"y{i}")
    check_keys(data, GRAPH_KEYS, "top level", f"a {GRAPH_FORMAT} file")
    return Network(g, inputs, outputs, windows=_windows(data, n_inputs), name=str(data.get("name", "")))


def loads_network(text: str, source: str | None = None, deadline=None) -> Network:
    """Parse a network from JSON text (either format)."""
    return network_from_mapping(_json_load(text, source), source, deadline)


def load_network(path: str | os.PathLike, deadline=None) -> Network:
    """Read a network file; errors name the file and the place in it (``deadline``: see
    :func:`network_from_mapping`)."""
    source = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise NetworkFormatError(f"file is {size} bytes, larger than the limit {MAX_FILE_BYTES}", source=source)
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise NetworkFormatError(f"cannot read file ({exc.strerror or exc})", source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NetworkFormatError("not UTF-8 text", source=source) from None
    return loads_network(text, source, deadline)


# -- writing ----------------------------------------------------------------------------------------
def network_to_mapping(net: Network) -> dict:
    """The JSON mapping of a network: ``relu-net/1`` if it is layered, else ``relu-graph/1``."""
    layers = to_layers(net)
    if layers is not None:
        data: dict = {"format": LAYERED_FORMAT, "inputs": net.n_inputs, "layers": []}
        for layer in layers:
            entry = {"weights": [[to_text(w) for w in row] for row in layer.weights]}
            if any(b != 0 for b in layer.bias):
                entry["bias"] = [to_text(b) for b in layer.bias]
            entry["activation"] = layer.activation
            data["layers"].append(entry)
    else:
        data = _graph_mapping(net)
    if net.has_explicit_windows:
        data["windows"] = [list(w) for w in net.windows]
    if net.name:
        data["name"] = net.name
    return data


class _Writer:
    """What the writing walk carries: a counter per node prefix and the node entries so far."""

    def __init__(self):
        self.counts: dict = {}
        self.nodes: list = []

    def entry(self, prefix: str, op: Op, **fields) -> str:
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        nid = f"{prefix}{self.counts[prefix]}"
        self.nodes.append({"id": nid, "op": op.value, **fields})
        return nid


def _write_input(w: _Writer, net, node, ids):
    return f"x{net.graph.nodes[node]['index']}"


def _write_affine(w: _Writer, net, node, ids):
    fields = {"in": [[ids[p], to_text(wt)] for p, wt in net.affine_terms(node)]}
    if net.bias(node) != 0:
        fields["bias"] = to_text(net.bias(node))
    return w.entry("a", Op.AFFINE, **fields)


def _write_relu(w: _Writer, net, node, ids):
    return w.entry("r", Op.RELU, **{"in": ids[net.single_pred(node)]})


def _write_max(w: _Writer, net, node, ids):
    return w.entry("m", Op.MAX, **{"in": [ids[p] for p in net.preds(node)]})


def _write_output(w: _Writer, net, node, ids):
    return ids[net.single_pred(node)]  # outputs are listed by the node they report


GRAPH_WRITER = Handlers("json.graph-writer", {Op.INPUT: _write_input, Op.AFFINE: _write_affine,
                                              Op.RELU: _write_relu, Op.MAX: _write_max, Op.OUTPUT: _write_output})


def _graph_mapping(net: Network) -> dict:
    # Renumber nodes so the file is canonical whatever ids the graph used.
    w = _Writer()
    ids = walk(net, GRAPH_WRITER, w)
    return {
        "format": GRAPH_FORMAT,
        "inputs": net.n_inputs,
        "nodes": w.nodes,
        "outputs": [ids[o] for o in net.outputs],
    }


def dumps_network(net: Network, indent: int | None = None) -> str:
    return json.dumps(network_to_mapping(net), indent=indent, separators=None if indent else (",", ":"))


def save_network(net: Network, path: str | os.PathLike) -> None:
    """Write a network file atomically (nothing is left behind if writing fails)."""
    atomic_write_text(Path(path), dumps_network(net) + "\n")


def network_hash(net: Network) -> str:
    """SHA-256 of the canonical ``relu-graph/1`` text of a network (used by certificates)."""
    data = _graph_mapping(net)
    if net.has_explicit_windows:
        data["windows"] = [list(w) for w in net.windows]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
