"""One import test per ONNX operator against onnxruntime at random points.

Each model is a small onnx.helper graph; the exact import is evaluated by the exact evaluator at the
rational values of random float32 inputs, which onnxruntime also takes, and the two agree within float
tolerance (onnxruntime computes in float32). Hand-derived exact values are checked where they are known.
"""

from fractions import Fraction as F

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

from tests.onnx_models import make_model, tensor, value_info  # noqa: E402
from verify.backends.evaluator import evaluate  # noqa: E402
from verify.errors import NetworkFormatError, UnsupportedOpError  # noqa: E402
from verify.io.onnx_import import SUPPORTED_ONNX_OPS, import_onnx  # noqa: E402

node = helper.make_node


def agree(model, shape, *, n=6, seed=0, scale=2.0, net=None, atol=1e-5):
    """The exact import and onnxruntime agree at ``n`` random float32 points; returns the network."""
    net = net or import_onnx(model)
    sess = ort.InferenceSession(model.SerializeToString())
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = (scale * rng.standard_normal(shape)).astype(np.float32)
        want = np.concatenate([o.ravel() for o in sess.run(None, {name: x})]).astype(np.float64)
        got = np.array([float(v) for v in evaluate(net, [F(float(v)) for v in x.ravel()])])
        assert got.shape == want.shape
        assert np.allclose(got, want, atol=atol, rtol=1e-5), (got, want)
    return net


def unary(op_nodes, shape, out_shape, inits=(), opset=17):
    return make_model(op_nodes, [value_info("x", shape)], [value_info("y", out_shape)], list(inits), opset=opset)


# -- piecewise-linear activations --------------------------------------------------------------------------
@pytest.mark.parametrize("lo,hi", [(-0.5, 0.75), (0.0, 6.0), (None, 1.0), (-1.0, None), (None, None), (1.0, -1.0)])
def test_clip_as_relus(lo, hi):
    inputs = ["x", "lo" if lo is not None else "", "hi" if hi is not None else ""]
    while inputs and inputs[-1] == "":
        inputs.pop()
    inits = [tensor(n, np.array(v, dtype=np.float32)) for n, v in (("lo", lo), ("hi", hi)) if v is not None]
    m = unary([node("Clip", inputs, ["y"], name="clip")], [1, 6], [1, 6], inits)
    net = agree(m, (1, 6))
    # hand values: clip(z, a, b) at z = -3, 0.25, 3
    for z in (F(-3), F(1, 4), F(3)):
        want = z
        if lo is not None and hi is not None and lo >= hi:
            want = F(hi)
        else:
            want = max(want, F(lo)) if lo is not None else want
            want = min(want, F(hi)) if hi is not None else want
        assert evaluate(net, [z] * 6) == (want,) * 6
    expected_relus = {(-0.5, 0.75): 12, (0.0, 6.0): 12, (None, 1.0): 6, (-1.0, None): 6, (None, None): 0, (1.0, -1.0): 0}
    assert net.n_relus == expected_relus[(lo, hi)] and not net.max_nodes


def test_clip_opset6_attributes():
    m = unary([node("Clip", ["x"], ["y"], min=-0.25, max=0.5)], [1, 4], [1, 4], opset=6)
    agree(m, (1, 4))


def test_max_min_elementwise():
    w = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, -1.0], [0.5, 0.25, 1.0]], dtype=np.float32)
    c = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    nodes = [node("MatMul", ["x", "w"], ["h"]),
             node("Max", ["x", "h"], ["m1"], name="max_sym"),    # two network values: an IR max node
             node("Min", ["x", "h", "c"], ["m2"], name="min_mixed"),  # -max(-x, -h) and a constant
             node("Max", ["m2", "c"], ["m3"]),                   # one value and a constant: a ReLU
             node("Concat", ["m1", "m3"], ["y"], axis=1)]
    m = make_model(nodes, [value_info("x", [1, 3])], [value_info("y", [1, 6])], [tensor("w", w), tensor("c", c)])
    net = agree(m, (1, 3))
    assert len(net.max_nodes) == 6
    x = (F(1), F(-2), F(1, 2))
    h = tuple(sum(F(float(w[i, j])) * x[i] for i in range(3)) for j in range(3))
    cc = [F(float(v)) for v in c]
    m1 = [max(a, b) for a, b in zip(x, h)]
    m3 = [max(min(a, b, k), k) for a, b, k in zip(x, h, cc)]
    assert evaluate(net, x) == tuple(m1 + m3)


def test_abs_leaky_prelu_hardsigmoid():
    slope = np.array([0.25, -0.5, 2.0, 0.125], dtype=np.float32)
    nodes = [node("Abs", ["x"], ["a"]), node("LeakyRelu", ["x"], ["l"], alpha=0.1),
             node("PRelu", ["x", "s"], ["p"]), node("HardSigmoid", ["x"], ["h"], alpha=0.3, beta=0.4),
             node("Concat", ["a", "l", "p", "h"], ["y"], axis=1)]
    m = make_model(nodes, [value_info("x", [1, 4])], [value_info("y", [1, 16])], [tensor("s", slope)])
    net = agree(m, (1, 4))
    y = evaluate(net, [F(-2), F(1), F(-1), F(3)])
    assert y[:4] == (2, 1, 1, 3)
    assert y[8:12] == (F(-1, 2), 1, -2, 3)


def test_relu_on_constants_and_symbolic_constant_minus_value():
    # 1 - x (a constant minus a network value), then Relu
    m = unary([node("Sub", ["one", "x"], ["d"]), node("Relu", ["d"], ["y"])], [1, 3], [1, 3],
              [tensor("one", np.array([1.0], dtype=np.float32))])
    net = agree(m, (1, 3))
    assert evaluate(net, (F(1, 2), 2, -1)) == (F(1, 2), 0, 2)


# -- BatchNormalization --------------------------------------------------------------------------------------
def _bn_params(rng, c):
    return [tensor("s", rng.uniform(0.5, 2, c).astype(np.float32)), tensor("B", rng.standard_normal(c).astype(np.float32)),
            tensor("mu", rng.standard_normal(c).astype(np.float32)), tensor("var", rng.uniform(0.2, 3, c).astype(np.float32))]


@pytest.mark.parametrize("where", ["after_gemm", "after_relu", "after_conv", "input"])
def test_batchnorm_any_position(where):
    rng = np.random.default_rng(1)
    bn = lambda i, o: node("BatchNormalization", [i, "s", "B", "mu", "var"], [o], epsilon=1e-3, name="bn")  # noqa: E731
    if where in ("after_gemm", "after_relu"):
        w = rng.standard_normal((3, 4)).astype(np.float32)
        nodes = [node("Gemm", ["x", "w"], ["g"], transB=1)]
        if where == "after_gemm":
            nodes += [bn("g", "n"), node("Relu", ["n"], ["y"])]
        else:
            nodes += [node("Relu", ["g"], ["r"]), bn("r", "y")]
        m = make_model(nodes, [value_info("x", [1, 4])], [value_info("y", [1, 3])], [tensor("w", w)] + _bn_params(rng, 3))
        agree(m, (1, 4))
    elif where == "after_conv":
        w = rng.standard_normal((2, 1, 2, 2)).astype(np.float32)
        nodes = [node("Conv", ["x", "w"], ["c"], kernel_shape=[2, 2]), bn("c", "n"), node("Relu", ["n"], ["r"]),
                 node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
        m = make_model(nodes, [value_info("x", [1, 1, 5, 5])], [value_info("y", [1, 2, 2, 2])],
                       [tensor("w", w)] + _bn_params(rng, 2))
        net = agree(m, (1, 1, 5, 5))
        assert len(net.max_nodes) == 8
    else:
        m = make_model([bn("x", "y")], [value_info("x", [1, 3, 2])], [value_info("y", [1, 3, 2])], _bn_params(rng, 3))
        agree(m, (1, 3, 2))


def test_batchnorm_exact_when_the_root_is_rational():
    # var + eps = 1/4 + 0 exactly: factor scale / (1/2), no rounding at all.
    inits = [tensor("s", np.array([3.0], np.float32)), tensor("B", np.array([0.5], np.float32)),
             tensor("mu", np.array([1.0], np.float32)), tensor("var", np.array([0.25], np.float32))]
    m = make_model([node("BatchNormalization", ["x", "s", "B", "mu", "var"], ["y"], epsilon=0.0)],
                   [value_info("x", [1, 1])], [value_info("y", [1, 1])], inits)
    net = import_onnx(m)
    assert evaluate(net, (F(1, 3),)) == (3 * (F(1, 3) - 1) / F(1, 2) + F(1, 2),)


def test_batchnorm_training_mode_refused():
    rng = np.random.default_rng(0)
    m = make_model([node("BatchNormalization", ["x", "s", "B", "mu", "var"], ["y"], training_mode=1, name="bnt")],
                   [value_info("x", [1, 3])], [value_info("y", [1, 3])], _bn_params(rng, 3), opset=15)
    with pytest.raises(UnsupportedOpError, match="bnt.*training_mode"):
        import_onnx(m)


# -- linear and reductions ----------------------------------------------------------------------------------
def test_sum_mean_div_neg_reduce():
    nodes = [node("Neg", ["x"], ["n"]), node("Div", ["x", "four"], ["d"]), node("Sum", ["x", "n", "d"], ["s"]),
             node("Mean", ["x", "d"], ["me"]), node("ReduceSum", ["x"], ["rs"], keepdims=1),
             node("ReduceMean", ["x"], ["rm"], keepdims=1), node("ReduceMin", ["x"], ["rn"], keepdims=1),
             node("ReduceMax", ["x"], ["rx"], keepdims=1),
             node("Concat", ["s", "me", "rs", "rm", "rn", "rx"], ["y"], axis=1)]
    m = make_model(nodes, [value_info("x", [1, 4])], [value_info("y", [1, 12])],
                   [tensor("four", np.array([4.0], np.float32))], opset=13)
    net = agree(m, (1, 4))
    y = evaluate(net, (1, 2, 3, -4))
    assert y[8:] == (2, F(1, 2), -4, 3)


# -- data movement --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_modes(mode):
    nodes = [node("Pad", ["x", "pads", "cv"] if mode == "constant" else ["x", "pads"], ["p"], mode=mode, name="pad"),
             node("Relu", ["p"], ["y"])]
    inits = [tensor("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))]
    if mode == "constant":
        inits.append(tensor("cv", np.array(0.5, np.float32)))
    m = make_model(nodes, [value_info("x", [1, 1, 3, 3])], [value_info("y", [1, 1, 6, 6])], inits)
    agree(m, (1, 1, 3, 3))


def test_pad_with_axes_and_negative_pads():
    nodes = [node("Pad", ["x", "pads", "", "axes"], ["y"])]
    inits = [tensor("pads", np.array([2, -1], np.int64)), tensor("axes", np.array([-1], np.int64))]
    m = make_model(nodes, [value_info("x", [1, 2, 3])], [value_info("y", [1, 2, 4])], inits, opset=18)
    net = agree(m, (1, 2, 3))
    assert evaluate(net, (1, 2, 3, 4, 5, 6)) == (0, 0, 1, 2, 0, 0, 4, 5)


def test_slice_split_expand_tile_where():
    inits = [tensor("st", np.array([1, 0], np.int64)), tensor("en", np.array([100, -1], np.int64)),
             tensor("ax", np.array([2, 3], np.int64)), tensor("sp", np.array([1, 1], np.int64)),
             tensor("shape", np.array([1, 2, 2, 3], np.int64)), tensor("reps", np.array([1, 1, 1, 2], np.int64)),
             tensor("cond", np.array([True, False, True], bool)),
             tensor("zero", np.array([0.0], np.float32))]
    nodes = [node("Slice", ["x", "st", "en", "ax"], ["s"]),              # [1,1,2,3]
             node("Split", ["s", "sp"], ["s1", "s2"], axis=2),           # two [1,1,1,3]
             node("Expand", ["s1", "shape"], ["e"]),                     # [1,2,2,3]
             node("Tile", ["s2", "reps"], ["t"]),                        # [1,1,1,6]
             node("Where", ["cond", "s2", "zero"], ["w"]),               # [1,1,1,3]
             node("Flatten", ["e"], ["fe"]), node("Flatten", ["t"], ["ft"]), node("Flatten", ["w"], ["fw"]),
             node("Concat", ["fe", "ft", "fw"], ["y"], axis=1)]
    m = make_model(nodes, [value_info("x", [1, 1, 3, 4])], [value_info("y", [1, 21])], inits)
    agree(m, (1, 1, 3, 4))


def test_constant_comparisons_select_values():
    # Less/Greater/Not on constants choose, through Where, between a value and its negation. By hand:
    # a < b is (T, F, T), not(a > b) is (T, F, T): y = (x0, -x1, x2, -x0, x1, -x2).
    inits = [tensor("a", np.array([1.0, 3.0, 5.0], np.float32)), tensor("b", np.array([2.0, 2.0, 6.0], np.float32))]
    nodes = [node("Less", ["a", "b"], ["lt"]), node("Greater", ["a", "b"], ["gt"]), node("Not", ["gt"], ["ng"]),
             node("Neg", ["x"], ["nx"]), node("Where", ["lt", "x", "nx"], ["y1"]),
             node("Where", ["ng", "nx", "x"], ["y2"]), node("Concat", ["y1", "y2"], ["y"], axis=1)]
    m = make_model(nodes, [value_info("x", [1, 3])], [value_info("y", [1, 6])], inits)
    net = agree(m, (1, 3))
    assert evaluate(net, (1, 2, 3)) == (1, -2, 3, -1, 2, -3)


def test_slice_negative_steps():
    inits = [tensor("st", np.array([-1], np.int64)), tensor("en", np.array([-100], np.int64)),
             tensor("ax", np.array([1], np.int64)), tensor("steps", np.array([-2], np.int64))]
    m = make_model([node("Slice", ["x", "st", "en", "ax", "steps"], ["y"])], [value_info("x", [1, 5])],
                   [value_info("y", [1, 3])], inits)
    net = agree(m, (1, 5))
    assert evaluate(net, (1, 2, 3, 4, 5)) == (5, 3, 1)


def test_identity_dropout_with_mask():
    nodes = [node("Identity", ["x"], ["i"]), node("Dropout", ["i"], ["d", "mask"]), node("Relu", ["d"], ["y"])]
    m = make_model(nodes, [value_info("x", [1, 3])], [value_info("y", [1, 3])], [], opset=13)
    agree(m, (1, 3))
    tm = make_model([node("Dropout", ["x", "r", "t"], ["y"], name="drop")], [value_info("x", [1, 3])],
                    [value_info("y", [1, 3])], [tensor("r", np.array(0.5, np.float32)), tensor("t", np.array(True))],
                    opset=13)
    with pytest.raises(UnsupportedOpError, match="drop.*training_mode"):
        import_onnx(tm)


# -- shape arithmetic folded at import (what exporters write for nn.Unfold and reshapes) ---------------------
def test_unfold_style_index_arithmetic():
    # Shape -> Gather -> Sub/Div -> Range -> Unsqueeze/Add -> Gather along two axes (2x2 patches, stride 2),
    # then ConstantOfShape/Equal/Where on constant shapes: every value is folded exactly at import.
    i64 = lambda n, v: tensor(n, np.array(v, np.int64))  # noqa: E731
    nodes = [node("Shape", ["x"], ["sh"]), node("Gather", ["sh", "two"], ["h"]),          # h = 4 (a 0-d tensor)
             node("Sub", ["h", "one"], ["h1"]), node("Div", ["h1", "two"], ["nb"]),        # (4-1)/2 = 1 (truncated)
             node("Add", ["nb", "one"], ["nwin"]), node("Mul", ["nwin", "two"], ["lim"]),  # 2 windows, limit 4
             node("Range", ["zero", "lim", "two"], ["starts"]),                            # [0, 2]
             node("Unsqueeze", ["starts", "one1"], ["st2"]),                               # [[0], [2]]
             node("Range", ["zero", "two", "one"], ["offs"]),                              # [0, 1]
             node("Add", ["st2", "offs"], ["idx"]),                                        # [[0,1],[2,3]]
             node("Gather", ["x", "idx"], ["g1"], axis=2),                                 # [1,1,2,2,4]
             node("Gather", ["g1", "idx"], ["g2"], axis=4),                                # [1,1,2,2,2,2]
             node("Transpose", ["g2"], ["tp"], perm=[0, 1, 2, 4, 3, 5]),                   # [n, c, wi, wj, ki, kj]
             node("Shape", ["tp"], ["tsh"]), node("Slice", ["tsh", "zero1", "two1"], ["lead"]),
             node("Concat", ["lead", "m1"], ["newshape"], axis=0),                         # [1, 1, -1]
             node("Reshape", ["tp", "newshape"], ["patches"]),                             # [1, 1, 16]
             node("ConstantOfShape", ["lead"], ["ones"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
             node("Slice", ["tsh", "zero1", "one1"], ["lead1"]), node("Equal", ["lead1", "lead1"], ["eq"]), node("Cast", ["eq"], ["eqf"], to=TensorProto.FLOAT),
             node("Mul", ["ones", "eqf"], ["k"]), node("Unsqueeze", ["k", "m1"], ["k3"]),
             node("Mul", ["patches", "k3"], ["pk"]), node("Size", ["pk"], ["sz"]), node("Cast", ["sz"], ["szf"], to=TensorProto.FLOAT),
             node("Div", ["pk", "szf"], ["y"])]                                             # divided by 16
    inits = [i64("two", 2), i64("one", 1), i64("zero", 0), i64("one1", [1]), i64("zero1", [0]), i64("two1", [2]),
             i64("m1", [-1])]
    m = make_model(nodes, [value_info("x", [1, 1, 4, 4])], [value_info("y", [1, 1, 16])], inits)
    net = agree(m, (1, 1, 4, 4))
    x = list(range(16))
    # patches of a row-major 4x4 image, window by window, each row-major inside: divided by 16
    want = [F(x[(2 * wi + ki) * 4 + 2 * wj + kj], 16) for wi in (0, 1) for wj in (0, 1) for ki in (0, 1) for kj in (0, 1)]
    assert list(evaluate(net, x)) == want


# -- errors ---------------------------------------------------------------------------------------------------
def test_unsupported_operator_names_op_node_and_file(tmp_path):
    m = unary([node("Relu", ["x"], ["r"]), node("Sigmoid", ["r"], ["y"], name="act3")], [1, 2], [1, 2])
    p = tmp_path / "sig.onnx"
    onnx.save(m, p)
    with pytest.raises(UnsupportedOpError) as info:
        import_onnx(p)
    text = str(info.value)
    assert "sig.onnx" in text and "'Sigmoid'" in text and "act3" in text and "\n" not in text


def test_every_message_names_the_file(tmp_path):
    empty = tmp_path / "empty.onnx"
    onnx.save(helper.make_model(helper.make_graph([], "g", [], [])), empty)
    with pytest.raises(UnsupportedOpError, match=r"empty\.onnx: the model has 0 inputs"):
        import_onnx(empty)
    m = unary([node("Mul", ["x", "x"], ["y"], name="sq")], [1, 2], [1, 2])
    p = tmp_path / "square.onnx"
    onnx.save(m, p)
    with pytest.raises(UnsupportedOpError, match=r"square\.onnx: node 'sq' \(Mul\): product of two non-constant"):
        import_onnx(p)
    bad = make_model([node("Reshape", ["x", "s"], ["y"], name="rs")], [value_info("x", [1, 4])],
                     [value_info("y", [1, 4])], [tensor("s", np.array([3, 5], np.int64))])
    p2 = tmp_path / "reshape.onnx"
    onnx.save(bad, p2)
    with pytest.raises(NetworkFormatError, match=r"reshape\.onnx: node 'rs' \(Reshape\): cannot reshape"):
        import_onnx(p2)


def test_supported_list_covers_the_documented_operators():
    for op in ("Pad", "BatchNormalization", "Clip", "Min", "Max", "Identity", "Dropout", "Shape", "Gather", "Range",
               "Slice", "Concat", "Unsqueeze", "Reshape", "Abs", "ConstantOfShape", "Where"):
        assert op in SUPPORTED_ONNX_OPS
