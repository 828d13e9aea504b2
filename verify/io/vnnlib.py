"""Export for other neural-network verifiers: ONNX networks and VNN-LIB properties (the format of the
International Verification of Neural Networks Competition, VNN-COMP).

:func:`network_to_onnx` writes any IR network as ONNX: a layered network as a chain of ``Gemm`` and
``Relu``; any other graph (skip connections, ``max`` nodes) in stages, each stage a ``Gemm`` over the
concatenation of every value computed so far, followed by ``Relu`` for ReLUs and ``Gather`` +
``ReduceMax`` for max nodes. Weights are stored as float32 (what verifiers read); the export refuses a
weight that float32 cannot hold exactly unless ``allow_rounding=True``, since a rounded network is a
different network.

:func:`verify.reductions.difference.difference_network` builds ``D_o(x) = N_o(x) - max_{i in window_o} x_i``
with the max as an exact ReLU tree (so ReLU-only verifiers can read it), and :func:`vnnlib_property` states
``exists x in box, o: |D_o(x)| >= t`` in VNN-LIB: a verifier answering "unsat"/"holds" proves that the
worst-case error is below ``t``; "sat" means the error reaches ``t``. :func:`export_vnnlib` writes the
network, the difference network, the property and an ``instances.csv`` to a directory.

References
----------
VNN-LIB standard, http://www.vnnlib.org ; VNN-COMP benchmark layout (onnx, vnnlib, timeout per line).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..domain import Box
from ..errors import MissingExtraError, VerifyError
from ..ir.graph import Network
from ..ir.layers import source_exprs, to_layers
from ..ir.ops import Op
from ..ir.walk import Handlers, walk
from ..numbers import to_text
from .files import atomic_write_files

__all__ = ["network_to_onnx", "vnnlib_property", "export_vnnlib", "float32_exact", "VNNLIB_FILES"]

OPSET = 17
# The files of a benchmark folder, in the order export_vnnlib writes them.
VNNLIB_FILES = ("network.onnx", "difference.onnx", "property.vnnlib", "instances.csv")


def _onnx():
    try:
        import onnx
    except ImportError:
        raise MissingExtraError("ONNX export needs onnx: pip install 'verify[onnx]'") from None
    return onnx


def float32_exact(q: Fraction) -> bool:
    """Is ``q`` exactly a float32 value?"""
    if abs(q) > FLOAT32_MAX:
        return False
    return Fraction(float(np.float32(float(q)))) == q


# The largest finite float32 (2^128 - 2^104): a value beyond it has no float32 rounding but infinity.
FLOAT32_MAX = Fraction(2 ** 128 - 2 ** 104)


def _matrix(rows, allow_rounding: bool, where: str) -> np.ndarray:
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row, start=1):
            if abs(v) > FLOAT32_MAX:
                raise VerifyError(f"{where}, row {r}, column {c}: {_size(v)} is beyond the float32 range of ONNX "
                                  f"(magnitudes up to 3.4e38), even rounded")
            if not allow_rounding and not float32_exact(v):
                raise VerifyError(f"{where}, row {r}, column {c}: weight {_short(v)} is not a float32 value; "
                                  f"pass --allow-rounding (allow_rounding=True) to export a rounded copy")
    return np.array([[float(v) for v in r] for r in rows], dtype=np.float32).reshape(len(rows), -1)


def _size(v) -> str:
    from ..backends.float_range import magnitude_text

    return f"the value {magnitude_text(v)}"


def _short(v) -> str:
    text = to_text(v)
    return text if len(text) <= 40 else f"{text[:37]}..."


def network_to_onnx(net: Network, *, allow_rounding: bool = False, name: str | None = None):
    """An ``onnx.ModelProto`` computing ``net``: input ``X`` of shape [1, d], output ``Y`` of shape [1, m]."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    counter = [0]

    def const(arr, label):
        counter[0] += 1
        n = f"{label}_{counter[0]}"
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def gemm(inp, rows, bias, label):
        # Y = inp @ W^T + b with W given row by row (one row per output unit)
        where = label.replace("layer", "layer ").replace("stage", "stage ")
        w = const(_matrix(rows, allow_rounding, f"{where} weights"), f"{label}_W")
        b = const(_matrix([bias], allow_rounding, f"{where} bias").reshape(-1), f"{label}_B")
        out = f"{label}_out"
        nodes.append(helper.make_node("Gemm", [inp, w, b], [out], transB=1, name=label))
        return out

    layers = to_layers(net)
    if layers is not None:
        h = "X"
        for k, layer in enumerate(layers, start=1):
            z = gemm(h, layer.weights, layer.bias, f"layer{k}")
            if layer.activation == "relu":
                nodes.append(helper.make_node("Relu", [z], [f"relu{k}"], name=f"relu{k}"))
                h = f"relu{k}"
            else:
                h = z
        nodes.append(helper.make_node("Identity", [h], ["Y"], name="output"))
    else:
        _staged(net, nodes, gemm, const, helper)
    graph = helper.make_graph(
        nodes, name or net.name or "verify-network",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, net.n_inputs])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, net.n_outputs])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="verify")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


class _Stages:
    """Stage of every ReLU and max node: 1 + the largest stage of the sources its arguments read."""

    def __init__(self, net: Network):
        self.exprs = source_exprs(net)
        self.stage: dict = {}
        self.relus: dict = {}  # stage -> ReLU nodes, in topological order
        self.maxes: dict = {}  # stage -> max nodes

    def after(self, sources) -> int:
        return 1 + max((self.stage[s] for s in sources), default=0)


def _stage_input(st: _Stages, net, node, values):
    st.stage[node] = 0


def _stage_none(st: _Stages, net, node, values):
    pass  # affine nodes are folded into the Gemm of the stage that reads them; outputs into the last


def _stage_relu(st: _Stages, net, node, values):
    k = st.stage[node] = st.after(st.exprs[net.single_pred(node)][0])
    st.relus.setdefault(k, []).append(node)


def _stage_max(st: _Stages, net, node, values):
    k = st.stage[node] = st.after([s for p in net.preds(node) for s in st.exprs[p][0]])
    st.maxes.setdefault(k, []).append(node)


ONNX_STAGES = Handlers("onnx.stages", {Op.INPUT: _stage_input, Op.AFFINE: _stage_none, Op.RELU: _stage_relu,
                                       Op.MAX: _stage_max, Op.OUTPUT: _stage_none})


def _staged(net: Network, nodes, gemm, const, helper) -> None:
    st = _Stages(net)
    walk(net, ONNX_STAGES, st)
    exprs = st.exprs

    def expr_of(node):
        return exprs[node]

    order = list(net.inputs)  # the columns of the running value vector H
    h = "X"
    depth = max(st.stage.values())
    for k in range(1, depth + 1):
        relus = st.relus.get(k, [])
        maxes = st.maxes.get(k, [])
        pos = {s: c for c, s in enumerate(order)}

        def row(expr):
            coef, const_ = expr
            r = [Fraction(0)] * len(order)
            for s, c in coef.items():
                r[pos[s]] = c
            return r, const_

        new, parts = [], []
        if relus:
            rows = [row(expr_of(net.single_pred(n))) for n in relus]
            z = gemm(h, [r for r, _ in rows], [c for _, c in rows], f"stage{k}_relu")
            nodes.append(helper.make_node("Relu", [z], [f"stage{k}_r"], name=f"stage{k}_relu_act"))
            parts.append(f"stage{k}_r")
            new += relus
        if maxes:
            args = [(n, p) for n in maxes for p in net.preds(n)]
            rows = [row(expr_of(p)) for _, p in args]
            z = gemm(h, [r for r, _ in rows], [c for _, c in rows], f"stage{k}_maxargs")
            col = 0
            for j, n in enumerate(maxes):
                kk = len(net.preds(n))
                idx = const(np.arange(col, col + kk, dtype=np.int64), f"stage{k}_idx")
                g = f"stage{k}_m{j}_args"
                nodes.append(helper.make_node("Gather", [z, idx], [g], axis=1, name=f"stage{k}_gather{j}"))
                nodes.append(helper.make_node("ReduceMax", [g], [f"stage{k}_m{j}"], axes=[1], keepdims=1,
                                              name=f"stage{k}_max{j}"))
                parts.append(f"stage{k}_m{j}")
                col += kk
            new += maxes
        nxt = f"H{k}"
        nodes.append(helper.make_node("Concat", [h] + parts, [nxt], axis=1, name=f"stage{k}_concat"))
        h = nxt
        order += new
    pos = {s: c for c, s in enumerate(order)}
    rows, bias = [], []
    for o in net.outputs:
        coef, c = expr_of(net.single_pred(o))
        r = [Fraction(0)] * len(order)
        for s, w in coef.items():
            r[pos[s]] = w
        rows.append(r)
        bias.append(c)
    y = gemm(h, rows, bias, "output")
    nodes.append(helper.make_node("Identity", [y], ["Y"], name="output_id"))


def vnnlib_property(box: Box, n_outputs: int, threshold, comment: str = "") -> str:
    """VNN-LIB text: ``X`` in ``box`` and some output ``Y_o >= t`` or ``Y_o <= -t`` (the unsafe set)."""
    t = Fraction(threshold)
    if t <= 0:
        raise VerifyError("the threshold must be positive")

    def num(q):
        # VNN-LIB tools read decimal literals; a rational that is not a finite decimal is written as
        # a division (valid SMT-LIB), which some tools may not accept.
        q = Fraction(q)
        den = q.denominator
        while den % 2 == 0:
            den //= 2
        while den % 5 == 0:
            den //= 5
        if den == 1:
            return _decimal(q)
        a = abs(q)
        lit = f"(/ {a.numerator}.0 {a.denominator}.0)"
        return f"(- {lit})" if q < 0 else lit

    lines = [f"; {c}" for c in comment.splitlines()] if comment else []
    lines += [f"(declare-const X_{i} Real)" for i in range(box.dim)]
    lines += [f"(declare-const Y_{o} Real)" for o in range(n_outputs)]
    for i, (lo, hi) in enumerate(zip(box.lo, box.hi)):
        lines.append(f"(assert (>= X_{i} {num(lo)}))")
        lines.append(f"(assert (<= X_{i} {num(hi)}))")
    cases = []
    for o in range(n_outputs):
        cases.append(f"(and (>= Y_{o} {num(t)}))")
        cases.append(f"(and (<= Y_{o} {num(-t)}))")
    lines.append(f"(assert (or {' '.join(cases)}))")
    return "\n".join(lines) + "\n"


def _decimal(q: Fraction) -> str:
    """Exact decimal text of a rational whose denominator has only the prime factors 2 and 5."""
    sign = "-" if q < 0 else ""
    q = abs(q)
    k = 0
    while (q * 10 ** k).denominator != 1:
        k += 1
    digits = str((q * 10 ** k).numerator).rjust(k + 1, "0")
    text = digits if k == 0 else f"{digits[:-k]}.{digits[-k:]}"
    if k == 0:
        text += ".0"
    return f"(- {text})" if sign else text


def export_vnnlib(net: Network, directory, box: Box, threshold, *, gadget: str = "skip",
                  allow_rounding: bool = False, timeout: int = 300) -> dict:
    """Write ``network.onnx``, ``difference.onnx``, ``property.vnnlib`` and ``instances.csv`` to ``directory``.

    Returns the paths written. Everything is prepared in memory first, so a failure writes nothing.
    """
    _onnx()
    if box.dim != net.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the network has {net.n_inputs} inputs")
    from ..reductions.difference import difference_network

    diff = difference_network(net, gadget=gadget)
    m_net = network_to_onnx(net, allow_rounding=allow_rounding)
    m_diff = network_to_onnx(diff, allow_rounding=allow_rounding)
    prop = vnnlib_property(box, diff.n_outputs, threshold, comment=(
        f"verify: error of {net.name or 'network'} against max pooling on {box.describe()}\n"
        f"network: difference.onnx, Y_o = N_o(X) - max(X over window o)\n"
        f"sat: some |Y_o| >= {to_text(Fraction(threshold))} in the box; unsat: the worst-case error is below it"))
    directory = Path(directory)
    made = not directory.exists()
    directory.mkdir(exist_ok=True)  # the folder itself may be new; its parent must exist
    paths = {key: directory / name for key, name in zip(("network", "difference", "property", "instances"), VNNLIB_FILES)}
    try:  # the four files are written as one step: all temporary files first, then the renames
        atomic_write_files({
            paths["network"]: m_net.SerializeToString(),
            paths["difference"]: m_diff.SerializeToString(),
            paths["property"]: prop.encode("utf-8"),
            paths["instances"]: f"difference.onnx,property.vnnlib,{int(timeout)}\n".encode("utf-8"),
        })
    except BaseException:
        if made:
            try:
                directory.rmdir()
            except OSError:
                pass
        raise
    return {k: str(v) for k, v in paths.items()}
