"""Layer-level comparison of a pooling model with its replacement, on tiny models known by hand.

MODEL: a 2 x 4 image x in [0,1]^8, trunk r_i = relu(2 x_i - 1/2) (a 1x1 convolution and a ReLU),
2x2 max pooling (2 windows), linear head y = 2 p_0 - 3 p_1 + 1/2. REPLACEMENT: the same with the mean of
each window instead of its max.

By hand: r_i ranges over exactly [0, 3/2] (each pixel on its own), so the pooling inputs' box is
[0, 3/2]^8 and every point of it is reached. On [0, c]^4, sup(max - mean) = 3c/4 (one entry c, the others
0) and sup(mean - max) = 0, so each window has sup_under = 9/8 and sup_over = 0. Through the head:
sup(R - M) = sup(2 (mean_0 - max_0) - 3 (mean_1 - max_1)) = 3 * 9/8 = 27/8 and sup(M - R) = 2 * 9/8 = 9/4,
and these are also the exact whole-model values.
"""

from fractions import Fraction as F

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import helper  # noqa: E402

from tests.onnx_models import make_model, tensor, value_info  # noqa: E402
from verify.analysis.pool_replacement import interval_jacobian, match_pool_layer, pool_replacement  # noqa: E402
from verify.analysis.results import Status  # noqa: E402
from verify.domain import Box  # noqa: E402
from verify.errors import VerifyError  # noqa: E402
from verify.io.onnx_import import import_onnx  # noqa: E402

node = helper.make_node


def tiny(pool="MaxPool", head=((2.0, -3.0),), head_bias=(0.5,), conv_w=2.0, mlp=None):
    nodes = [node("Conv", ["x", "cw", "cb"], ["c"], kernel_shape=[1, 1]), node("Relu", ["c"], ["r"])]
    inits = [tensor("cw", np.full((1, 1, 1, 1), conv_w, np.float32)), tensor("cb", np.array([-0.5], np.float32)),
             tensor("hw", np.array(head, np.float32)), tensor("hb", np.array(head_bias, np.float32))]
    if mlp is None:
        nodes.append(node(pool, ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]))
    else:  # a ReLU MLP per window: 2x2 patches by Reshape/Transpose, then MatMul/Add/Relu/MatMul/Add
        w1, b1, w2, b2 = mlp
        inits += [tensor("s1", np.array([1, 1, 2, 2, 1, 2], np.int64)), tensor("s2", np.array([1, 2, 4], np.int64)),
                  tensor("w1", w1), tensor("b1", b1), tensor("w2", w2), tensor("b2", b2),
                  tensor("s3", np.array([1, 1, 1, 2], np.int64))]
        nodes += [node("Reshape", ["r", "s1"], ["r6"]), node("Transpose", ["r6"], ["rt"], perm=[0, 1, 3, 2, 4, 5]),
                  node("Reshape", ["rt", "s2"], ["patch"]), node("MatMul", ["patch", "w1"], ["h"]),
                  node("Add", ["h", "b1"], ["hb1"]), node("Relu", ["hb1"], ["hr"]), node("MatMul", ["hr", "w2"], ["o"]),
                  node("Add", ["o", "b2"], ["ob"]), node("Reshape", ["ob", "s3"], ["p"])]
    nodes += [node("Flatten", ["p"], ["f"]), node("Gemm", ["f", "hw", "hb"], ["y"], transB=1)]
    return make_model(nodes, [value_info("x", [1, 1, 2, 4])], [value_info("y", [1, len(head)])], inits)


def imp(m, keep=True):
    return import_onnx(m, keep_layers=keep)


def test_hand_known_answer_mean_replacement():
    r = pool_replacement(imp(tiny()), imp(tiny("AveragePool")), Box.cube(8), whole_model=True)
    assert r.status is Status.PROVED
    assert len(r.windows) == 2 and r.distinct_windows == 1 and r.solver_calls == 1
    for w in r.windows:
        assert w.box == ((0, F(3, 2)),) * 4
        assert (w.sup_over, w.sup_under) == (0, F(9, 8))
        assert sorted(w.witness_under) == [0, 0, 0, F(3, 2)]
    (out,) = r.outputs
    assert out.jacobian == ((2, 2), (-3, -3))
    assert (out.bound_over, out.bound_under) == (F(27, 8), F(9, 4))
    assert (out.exact.sup_over, out.exact.sup_under) == (F(27, 8), F(9, 4))
    assert r.head_linear and "exact worst case over the pooling-input box" in r.assumptions[3]
    js = r.to_json()
    assert js["output_bound"] == "27/8" and js["windows"][0]["sup_under"] == "9/8" and js["distinct_windows"] == 1


def test_matching_finds_the_nodes_and_the_folded_layers_equally():
    # The same answer whether MODEL's layers are kept as nodes or multiplied out (canonical forms).
    r1 = pool_replacement(imp(tiny(), keep=False), imp(tiny("AveragePool")), Box.cube(8))
    assert r1.output_bound == F(27, 8)
    m = match_pool_layer(imp(tiny()), imp(tiny("AveragePool")))
    assert len(m.pool_nodes) == 2 and m.windows == ((0, 1, 2, 3), (4, 5, 6, 7))
    assert m.head.n_inputs == 2 and m.layer_model.n_outputs == 2


def test_one_layer_mlp_replacement_with_lp_bounds():
    # A per-window MLP relu(r_i) then the average: relu of a nonnegative value is itself, so the
    # replacement is the mean again and the hand values above hold, with the LP route for the bounds.
    w1 = np.eye(4, dtype=np.float32)
    w2 = np.full((4, 1), 0.25, np.float32)
    rep = imp(tiny(mlp=(w1, np.zeros(4, np.float32), w2, np.zeros(1, np.float32))))
    r = pool_replacement(imp(tiny()), rep, Box.cube(8), bounds="lp")
    assert [(w.sup_over, w.sup_under) for w in r.windows] == [(0, F(9, 8))] * 2
    assert r.outputs[0].bound_over == F(27, 8) and r.bounds_method == "lp"


def _python_models(exact_tree: bool):
    """MODEL and REPLACEMENT built in Python: the replacement is the exact max as the skip gadget
    b + relu(a - b) (a ReLU tree, error 0) or that tree with a bias 1/8 (error exactly 1/8 upward);
    its output is made a node (materialised), as keep_layers does for imported models."""
    from verify.ir.builder import Expr, GraphBuilder

    nets = []
    for rep in (False, True):
        b = GraphBuilder(8)
        xs = b.input_exprs()
        r = [b.relu(x * 2 - F(1, 2)) for x in xs]
        pooled = []
        for win in ([0, 1, 4, 5], [2, 3, 6, 7]):
            v = [r[i] for i in win]
            if not rep:
                pooled.append(b.max(v))
                continue
            m1 = v[1] + b.relu(v[0] - v[1])
            m2 = v[3] + b.relu(v[2] - v[3])
            e = m2 + b.relu(m1 - m2) + (0 if exact_tree else F(1, 8))
            pooled.append(Expr.node(b.materialise(e), e.level))
        b.output(pooled[0] * 2 - pooled[1] * 3 + F(1, 2))
        nets.append(b.build())
    return nets


@pytest.mark.parametrize("exact_tree", [True, False])
def test_python_networks_exact_tree_and_shifted_tree(exact_tree):
    model, rep = _python_models(exact_tree)
    r = pool_replacement(model, rep, Box.cube(8), whole_model=True)
    e = F(0) if exact_tree else F(1, 8)
    assert [(w.sup_over, w.sup_under) for w in r.windows] == [(e, -e)] * 2
    # R - M = 2 e - 3 e = -e exactly everywhere: over = -e, under = e
    out = r.outputs[0]
    assert (out.bound_over, out.bound_under) == (-e, e) == (out.exact.sup_over, out.exact.sup_under)


def test_single_window_finds_where_the_replacement_ends():
    def one(pool):
        nodes = [node("Relu", ["x"], ["r"]), node(pool, ["r"], ["p"], kernel_shape=[2, 2]),
                 node("Flatten", ["p"], ["f"]), node("Gemm", ["f", "hw", "hb"], ["y"], transB=1)]
        return make_model(nodes, [value_info("x", [1, 1, 2, 2])], [value_info("y", [1, 1])],
                          [tensor("hw", np.array([[2.0]], np.float32)), tensor("hb", np.array([0.5], np.float32))])
    r = pool_replacement(imp(one("MaxPool")), imp(one("AveragePool")), Box.cube(4))
    assert (r.windows[0].sup_over, r.windows[0].sup_under) == (0, F(3, 4))
    assert (r.outputs[0].bound_over, r.outputs[0].bound_under) == (0, F(3, 2))


def test_window_mlp_replacement_agrees_with_the_whole_model():
    rng = np.random.default_rng(3)
    mlp = (rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32) * 0.3,
           rng.standard_normal((3, 1)).astype(np.float32), np.array([0.1], np.float32))
    r = pool_replacement(imp(tiny()), imp(tiny(mlp=mlp)), Box.cube(8), whole_model=True)
    assert r.status is Status.PROVED and r.distinct_windows == 1
    out = r.outputs[0]
    # every point of the pooling-input box is reached, the head is linear and the windows disjoint:
    # the Lipschitz bound is the exact worst case of the whole models
    assert (out.bound_over, out.bound_under) == (out.exact.sup_over, out.exact.sup_under)
    w0 = r.windows[0]
    assert out.bound_over == max(2 * w0.sup_over, -2 * w0.sup_under) + max(-3 * w0.sup_over, 3 * w0.sup_under)


def test_nonlinear_head_bound_is_sound():
    # A head with a ReLU after the linear layer: the Jacobian is an interval, the bound still covers the
    # exact whole-model value.
    m = tiny()
    m2 = tiny("AveragePool")
    for mm in (m, m2):
        g = mm.graph
        g.node[-1].output[0] = "z"
        g.node.append(node("Relu", ["z"], ["y"]))
    r = pool_replacement(imp(m), imp(m2), Box.cube(8), whole_model=True)
    out = r.outputs[0]
    assert not r.head_linear
    assert out.exact.sup_over <= out.bound_over and out.exact.sup_under <= out.bound_under
    # by hand: relu(2 p0 - 3 p1 + 1/2) moves by at most |2| * 9/8 downward and 3 * 9/8 upward
    assert (out.bound_over, out.bound_under) == (F(27, 8), F(9, 4))


def test_interval_jacobian_hand_values():
    from verify.ir.builder import GraphBuilder
    b = GraphBuilder(2)
    x, y = b.input_exprs()
    b.output(b.relu(x * 2 - y) * 3 + y)
    net = b.build()
    # on [1, 2] x [0, 1] the ReLU is active: gradient (6, -3 + 1)
    assert interval_jacobian(net, Box((F(1), F(0)), (F(2), F(1)))) == [[(6, 6), (-2, -2)]]
    # on [-1, 1]^2 it is unstable: gradient in ([0, 6], [-2, 1])
    assert interval_jacobian(net, Box.cube(2, -1, 1)) == [[(0, 6), (-2, 1)]]


def test_errors_say_what_does_not_match():
    with pytest.raises(VerifyError, match="MODEL has no max nodes"):
        pool_replacement(imp(tiny("AveragePool")), imp(tiny("AveragePool")), Box.cube(8))
    with pytest.raises(VerifyError, match="layers before the pooling differ"):
        pool_replacement(imp(tiny()), imp(tiny("AveragePool", conv_w=3.0)), Box.cube(8))
    with pytest.raises(VerifyError, match="output 0: the layers after the pooling differ"):
        pool_replacement(imp(tiny()), imp(tiny("AveragePool", head=((2.0, -2.0),))), Box.cube(8))
    rng = np.random.default_rng(0)
    mlp = (rng.standard_normal((4, 3)).astype(np.float32), np.zeros(3, np.float32),
           rng.standard_normal((3, 1)).astype(np.float32), np.zeros(1, np.float32))
    with pytest.raises(VerifyError, match="keep_layers=True"):
        pool_replacement(imp(tiny()), imp(tiny(mlp=mlp), keep=False), Box.cube(8))
    with pytest.raises(VerifyError, match="box has dimension"):
        pool_replacement(imp(tiny()), imp(tiny("AveragePool")), Box.cube(4))


def test_committed_benchmark_models():
    # The practitioner's pair (benchmarks/make_cnn.py): imports agree with onnxruntime; the library's
    # window values bound every sampled window from above and are attained; sampled output gaps of the
    # two models (onnxruntime, float) stay below the sound output bounds.
    import os
    ort = pytest.importorskip("onnxruntime")
    from verify.analysis.decompose import restrict
    from verify.constructions.reference import reference_network
    from verify.backends.evaluator import evaluate, evaluate_batch
    from tests.test_onnx_ops import agree

    here = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "networks")
    paths = [os.path.join(here, f) for f in ("cnn6_maxpool.onnx", "cnn6_mlppool.onnx")]
    nets = [import_onnx(p, keep_layers=True) for p in paths]
    for p, n in zip(paths, nets):
        agree(onnx.load(p), (1, 1, 6, 6), net=n, scale=0.5)
    r = pool_replacement(paths[0], paths[1], Box.cube(36))
    assert r.status is Status.PROVED and len(r.windows) == 8 and r.distinct_windows == r.solver_calls <= 2
    match = match_pool_layer(*nets)
    rng = np.random.default_rng(0)
    for w in r.windows:
        sub = restrict(match.layer_replacement, w.window, match.windows[w.window])
        lo = np.array([float(a) for a, _ in w.box])
        hi = np.array([float(b) for _, b in w.box])
        X = lo + (hi - lo) * rng.random((2000, 4))
        gap = evaluate_batch(sub, X)[:, 0] - X.max(axis=1)
        assert gap.max() <= float(w.sup_over) + 1e-9 and (-gap).max() <= float(w.sup_under) + 1e-9
        ref = reference_network(sub)  # one output: its window is all four inputs
        assert evaluate(sub, w.witness_over)[0] - evaluate(ref, w.witness_over)[0] == w.sup_over
    sessions = [ort.InferenceSession(p) for p in paths]
    X = rng.random((200, 1, 1, 6, 6)).astype(np.float32)
    gaps = np.array([sessions[1].run(None, {sessions[1].get_inputs()[0].name: x})[0].ravel()
                     - sessions[0].run(None, {sessions[0].get_inputs()[0].name: x})[0].ravel() for x in X])
    for j, o in enumerate(r.outputs):
        assert gaps[:, j].max() <= float(o.bound_over) + 1e-4 and (-gaps[:, j]).max() <= float(o.bound_under) + 1e-4
