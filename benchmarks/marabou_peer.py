"""Marabou (maraboupy from PyPI) as a peer for worst-case error: ONNX export and threshold bisection.

Marabou decides satisfiability of linear constraints over a network; it has no optimisation, so the
worst-case error ``sup (N - max)`` / ``sup (max - N)`` over a box is bracketed by bisection on a
threshold ``t``: "is there x in the box with N(x) - m >= t" where ``m = max(x)`` is a Marabou max
constraint. Marabou works in floating point: its answers are not checked here (they are a peer's).
Needs ``pip install maraboupy onnx``; the benchmark runs it in a child process with a hard kill.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from verify.analysis import reference_network
from verify.backends.evaluator import evaluate_batch
from verify.backends.intervals import interval_bounds
from verify.ir.layers import to_layers


def to_onnx(net, path: str) -> None:
    """A layered network as an ONNX graph of MatMul, Add and Relu nodes (float32)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    layers = to_layers(net)
    if layers is None:
        raise ValueError("Marabou export needs a layered network")
    nodes, inits = [], []
    prev = "x"
    for k, layer in enumerate(layers):
        W = np.array([[float(w) for w in row] for row in layer.weights], dtype=np.float32).T
        b = np.array([float(v) for v in layer.bias], dtype=np.float32)
        inits += [numpy_helper.from_array(W, f"W{k}"), numpy_helper.from_array(b, f"b{k}")]
        nodes.append(helper.make_node("MatMul", [prev, f"W{k}"], [f"m{k}"]))
        out = f"a{k}" if layer.activation == "relu" else ("y" if k == len(layers) - 1 else f"z{k}")
        nodes.append(helper.make_node("Add", [f"m{k}", f"b{k}"], [out if layer.activation != "relu" else f"z{k}"]))
        if layer.activation == "relu":
            nodes.append(helper.make_node("Relu", [f"z{k}"], [out]))
        prev = out
    graph = helper.make_graph(
        nodes, "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, net.n_inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, layers[-1].width])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)


def _query(path, box, direction: str, t: float) -> bool:
    """Marabou: is there x in the box with (N - max)(x) >= t (``over``) or (max - N)(x) >= t (``under``)?"""
    from maraboupy import Marabou

    net = Marabou.read_onnx(path)
    xs = list(np.array(net.inputVars[0]).flatten())
    y = int(np.array(net.outputVars[0]).flatten()[0])
    for v, lo, hi in zip(xs, box.lo, box.hi):
        net.setLowerBound(int(v), float(lo))
        net.setUpperBound(int(v), float(hi))
    m = net.getNewVariable()
    net.addMaxConstraint(set(int(v) for v in xs), m)
    if direction == "over":
        net.addInequality([y, m], [-1.0, 1.0], -t)  # y - m >= t
    else:
        net.addInequality([m, y], [-1.0, 1.0], -t)  # m - y >= t
    opts = Marabou.createOptions(verbosity=0)
    result = net.solve(options=opts, verbose=False)
    answer = str(result[0]).lower()
    if answer not in ("sat", "unsat"):
        raise RuntimeError(f"Marabou answered {result[0]!r}")
    return answer == "sat"


def _query_in_child(path, box, direction, t, retries: int = 2) -> bool:
    """One Marabou query in a forked child (Marabou can crash, e.g. SIGFPE); retried on a crash."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    for _ in range(retries):
        q = ctx.Queue()
        def child():
            os.chdir(os.path.dirname(path))  # Marabou drops failedMarabouQuery.ipq into the cwd
            q.put(_query(path, box, direction, t))

        p = ctx.Process(target=child)
        p.start()
        p.join()
        if p.exitcode == 0:
            return q.get()
    raise RuntimeError(f"Marabou crashed {retries} times (exit code {p.exitcode}) at threshold {t}")


def marabou_worst_case(net, box, tol: float = 1e-3) -> tuple[float, float, int]:
    """Bracket sup(N - max) and sup(max - N) to ``tol`` by bisection; returns (over, under, queries)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from maraboupy import Marabou  # noqa: F401  (imported once here; forked queries inherit it)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.onnx")
        to_onnx(net, path)
        ref = reference_network(net)
        ib, rb = interval_bounds(net, box), interval_bounds(ref, box)
        rng = np.random.default_rng(0)
        lo_ = np.array([float(v) for v in box.lo])
        hi_ = np.array([float(v) for v in box.hi])
        X = lo_ + (hi_ - lo_) * rng.random((2000, box.dim))
        diff = evaluate_batch(net, X)[:, 0] - X.max(axis=1)
        out, queries = [], 0
        for direction, start, top in (
            ("over", diff.max(), float(ib[net.outputs[0]][1] - rb[ref.outputs[0]][0])),
            ("under", (-diff).max(), float(rb[ref.outputs[0]][1] - ib[net.outputs[0]][0])),
        ):
            lo, hi = float(start), top
            while hi - lo > tol:
                t = (lo + hi) / 2
                queries += 1
                if _query_in_child(path, box, direction, t):
                    lo = t
                else:
                    hi = t
            out.append(lo)
    return out[0], out[1], queries
