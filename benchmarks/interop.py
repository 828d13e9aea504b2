"""Timings of the interop features (import, export + external solver, tie tables, gradient query).

Run from the repository root:  python benchmarks/interop.py
Prints one table; medians of 3 runs. Peer column: PEERS.md query (i) "prove a 4-input max tree equals
max on [0,1]^4" takes z3 0.006 s and cvc5 (through pysmt) 0.04 s; the exported SMT-LIB text solved by
cvc5's own parser is compared with that.
"""

from __future__ import annotations

import statistics
import time

import numpy as np


def median_time(fn, runs=3):
    times = []
    out = None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main():
    from verify.analysis.gradients import check_gradient_onehot, tie_table
    from verify.constructions import max_tree, pool2d
    from verify.domain import Box
    from verify.io.smtlib import exactness_query, run_cvc5
    from verify.backends.z3_backend import z3

    rows = []
    tree = max_tree(4, "A")
    text = exactness_query(tree, Box.cube(4))

    def z3_solve():
        s = z3.Solver()
        s.add(z3.parse_smt2_string(text))
        return str(s.check())

    t, v = median_time(lambda: run_cvc5(text))
    rows.append(("exported exactness query, max tree d=4 (A), cvc5", t, v, 0.04))
    t, v = median_time(z3_solve)
    rows.append(("exported exactness query, max tree d=4 (A), z3", t, v, 0.006))
    pool = pool2d(4, 4, 2, 2, "B")
    ptext = exactness_query(pool, Box.cube(16))
    t, v = median_time(lambda: run_cvc5(ptext))
    rows.append(("exported exactness query, pool2d 4x4 k=2 (B), cvc5", t, v, None))
    t, v = median_time(lambda: tie_table(2))
    rows.append(("tie table 2x2 (3 gadgets x 3 slopes x 16)", t, "", None))
    t, v = median_time(lambda: tie_table(3), runs=1)
    rows.append(("tie table 3x3 (3 gadgets x 3 slopes x 512)", t, "", None))
    t, v = median_time(lambda: check_gradient_onehot(pool2d(4, 4, 2, 2, "A"), Box.cube(16)).status.value)
    rows.append(("gradient query (true gradient), pool2d 4x4 k=2 (A)", t, v, None))
    t, v = median_time(lambda: check_gradient_onehot(max_tree(9, "A"), Box.cube(9, -1, 1), mode="autodiff",
                                                     s=0).status.value)
    rows.append(("gradient query (autodiff s=0), max tree d=9 (A)", t, v, None))
    try:
        import onnx  # noqa: F401
        from onnx import helper, numpy_helper, TensorProto
        from verify.io.onnx_import import import_onnx

        rng = np.random.default_rng(0)
        w = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
        fc = rng.standard_normal((10, 8 * 13 * 13)).astype(np.float32)
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]),
                 helper.make_node("Relu", ["c"], ["r"]),
                 helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
                 helper.make_node("Flatten", ["p"], ["f"]),
                 helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1)]
        g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                              initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(fc, "fc")])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        t, net = median_time(lambda: import_onnx(m), runs=1)
        rows.append((f"ONNX import, 28x28 CNN ({net.n_relus} ReLUs, {len(net.max_nodes)} max, {net.n_parameters} params)",
                     t, "", None))
    except ImportError:
        pass
    print(f"{'task':<72} {'seconds':>9} {'result':>8} {'peer s':>8} {'ratio':>7}")
    for name, t, v, peer in rows:
        ratio = f"{t / peer:.1f}x" if peer else ""
        print(f"{name:<72} {t:>9.4f} {str(v):>8} {peer if peer else '':>8} {ratio:>7}")


if __name__ == "__main__":
    main()
