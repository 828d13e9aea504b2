"""ONNX import: exact weights, max pooling kept as max nodes, agreement with onnxruntime."""

from fractions import Fraction as F

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import helper  # noqa: E402

from tests.onnx_models import cnn_model, make_model, tensor, value_info  # noqa: E402
from verify.analysis import Status, check_equivalent, check_exact, worst_case_error  # noqa: E402
from verify.analysis.compare import worst_case_difference  # noqa: E402
from verify.backends.evaluator import evaluate  # noqa: E402
from verify.constructions import max_tree, pool2d  # noqa: E402
from verify.constructions.emulate import emulate_max  # noqa: E402
from verify.domain import Box  # noqa: E402
from verify.errors import NetworkFormatError, UnsupportedOpError  # noqa: E402
from verify.io.onnx_import import import_onnx  # noqa: E402


def _exact_input(x):
    return [F(float(v)) for v in np.asarray(x, dtype=np.float32).ravel()]


def test_hand_weights_exactly():
    # y = relu(0.5*x0 - 2*x1 + 0.25) - 3*relu(x1): weights are dyadic, so the import is exact and the
    # exact evaluator must reproduce the hand computation.
    w1 = np.array([[0.5, 0.0], [-2.0, 1.0]], dtype=np.float32)  # MatMul: [1,2] @ [2,2]
    b1 = np.array([0.25, 0.0], dtype=np.float32)
    w2 = np.array([[1.0], [-3.0]], dtype=np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["z"]),
             helper.make_node("Relu", ["z"], ["r"]), helper.make_node("MatMul", ["r", "w2"], ["y"])]
    m = make_model(nodes, [value_info("x", [1, 2])], [value_info("y", [1, 1])],
                   [tensor("w1", w1), tensor("b1", b1), tensor("w2", w2)])
    net = import_onnx(m)
    for x0, x1 in [(1, 0), (F(1, 3), F(-1, 7)), (-2, 5), (0, 0)]:
        want = max(F(1, 2) * x0 - 2 * x1 + F(1, 4), 0) - 3 * max(x1, 0)
        assert evaluate(net, (x0, x1)) == (want,)


def test_float32_weights_are_converted_exactly():
    w = np.array([[0.1]], dtype=np.float32)  # 0.1 is not a float32 value; the weight is its float32 rounding
    m = make_model([helper.make_node("MatMul", ["x", "w"], ["y"])], [value_info("x", [1, 1])],
                   [value_info("y", [1, 1])], [tensor("w", w)])
    net = import_onnx(m)
    assert evaluate(net, (1,)) == (F(float(np.float32(0.1))),)
    assert evaluate(net, (1,))[0] == F(13421773, 134217728)


@pytest.mark.parametrize("pool", ["MaxPool", "AveragePool"])
def test_cnn_agrees_with_onnxruntime(pool):
    ort = pytest.importorskip("onnxruntime")
    m = cnn_model(pool)
    net = import_onnx(m)
    assert net.n_inputs == 16 and net.n_outputs == 2
    assert len(net.max_nodes) == (8 if pool == "MaxPool" else 0)
    sess = ort.InferenceSession(m.SerializeToString())
    rng = np.random.default_rng(3)
    for _ in range(10):
        x = rng.standard_normal((1, 1, 4, 4)).astype(np.float32)
        got = np.array([float(v) for v in evaluate(net, _exact_input(x))])
        want = sess.run(None, {"x": x})[0].ravel()
        assert np.allclose(got, want, rtol=1e-5, atol=1e-5)


def test_pooling_model_against_its_emulation():
    # A pure MaxPool model imports as max nodes with windows; its ReLU emulation is proved equal
    # on all of R^d, and the worst-case error of the emulation against max pooling is 0.
    nodes = [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
             helper.make_node("Flatten", ["p"], ["y"])]
    m = make_model(nodes, [value_info("x", [1, 1, 4, 4])], [value_info("y", [1, 4])], [])
    net = import_onnx(m)
    assert net.windows == tuple(tuple(w) for w in [(0, 1, 4, 5), (2, 3, 6, 7), (8, 9, 12, 13), (10, 11, 14, 15)])
    emu = emulate_max(net, "B")
    assert emu.is_relu_network
    assert check_equivalent(net, emu).status is Status.PROVED
    assert check_exact(emu).status is Status.PROVED
    # same windows as the toolkit's own pool2d construction, which is exact
    assert check_equivalent(net, pool2d(4, 4, 2, 2, "A")).status is Status.PROVED
    r = worst_case_error(emu, Box.cube(16))
    assert (r.sup_over, r.sup_under) == (0, 0)


def test_cnn_with_max_vs_avg_pooling_differ():
    kw = dict(seed=1, size=3, channels=1, outputs=1)
    mx, av = import_onnx(cnn_model("MaxPool", **kw)), import_onnx(cnn_model("AveragePool", **kw))
    emu = emulate_max(mx, "skip")
    assert check_equivalent(mx, emu, Box.cube(9)).status is Status.PROVED
    r = check_equivalent(mx, av, Box.cube(9))
    assert r.status is Status.REFUTED
    x = r.counterexample
    assert evaluate(mx, x)[r.output_index] != evaluate(av, x)[r.output_index]


def test_worst_case_difference_on_a_tiny_model():
    # max of 2 inputs vs average of 2 inputs on [0,1]^2: max - mean = |a - b| / 2, sup 1/2, and never < 0.
    mk = lambda op: make_model([helper.make_node(op, ["x"], ["p"], kernel_shape=[2]),
                                helper.make_node("Flatten", ["p"], ["y"])],
                               [value_info("x", [1, 1, 2])], [value_info("y", [1, 1])], [])
    r = worst_case_difference(import_onnx(mk("MaxPool")), import_onnx(mk("AveragePool")), Box.cube(2))
    assert r.status is Status.PROVED and (r.sup_over, r.sup_under) == (F(1, 2), 0)


def test_padding_and_strides_match_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(5)
    w = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 1]),
             helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], pads=[1, 0, 0, 1], strides=[1, 2]),
             helper.make_node("AveragePool", ["p"], ["a"], kernel_shape=[2, 1], pads=[0, 0, 1, 0],
                              count_include_pad=1),
             helper.make_node("Flatten", ["a"], ["y"])]
    m = make_model(nodes, [value_info("x", [1, 1, 5, 4])], [value_info("y", [1, 12])], [tensor("w", w)])
    net = import_onnx(m)
    sess = ort.InferenceSession(m.SerializeToString())
    for _ in range(5):
        x = rng.standard_normal((1, 1, 5, 4)).astype(np.float32)
        want = sess.run(None, {"x": x})[0].ravel()
        got = np.array([float(v) for v in evaluate(net, _exact_input(x))])
        assert got.shape == want.shape and np.allclose(got, want, atol=1e-5)


def test_unsupported_op_names_op_and_node():
    m = make_model([helper.make_node("Sigmoid", ["x"], ["y"], name="act3")], [value_info("x", [1, 2])],
                   [value_info("y", [1, 2])], [])
    with pytest.raises(UnsupportedOpError, match="Sigmoid.*act3"):
        import_onnx(m)


def test_bad_files(tmp_path):
    p = tmp_path / "junk.onnx"
    p.write_bytes(b"\x00\x01 not a model")
    with pytest.raises(NetworkFormatError, match="junk.onnx"):
        import_onnx(p)
    with pytest.raises(NetworkFormatError):
        import_onnx(tmp_path / "missing.onnx")


def test_shape_arithmetic_on_constants():
    # Shape -> Cast -> Reshape (what exporters emit for flatten) and a cast integer constant.
    from onnx import TensorProto
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Cast", ["s"], ["s2"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["x", "s2"], ["r"]),
             helper.make_node("Cast", ["c"], ["cf"], to=TensorProto.FLOAT), helper.make_node("Add", ["r", "cf"], ["y"])]
    m = make_model(nodes, [value_info("x", [1, 4])], [value_info("y", [1, 4])],
                   [tensor("c", np.array([1, 2, 3, 4], dtype=np.int64))])
    assert evaluate(import_onnx(m), (0, 0, F(1, 2), -1)) == (1, 2, F(7, 2), 3)


def test_check_emulation_lemma_agrees_with_whole_network_query():
    from verify.analysis.emulation import check_emulation
    kw = dict(seed=1, size=3, channels=1, outputs=1)
    mx = import_onnx(cnn_model("MaxPool", **kw))
    for g in ("A", "B", "skip"):
        assert check_emulation(mx, g).status is Status.PROVED
        assert check_equivalent(mx, emulate_max(mx, g), Box.cube(9)).status is Status.PROVED
    # the lemma covers the bigger CNN too (8 windows of arity 4), where one z3 query takes minutes
    assert check_emulation(import_onnx(cnn_model("MaxPool")), "skip").status is Status.PROVED
