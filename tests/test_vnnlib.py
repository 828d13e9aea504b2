"""ONNX export and VNN-LIB properties: checked by re-import (z3 equivalence), onnxruntime and z3."""

from fractions import Fraction as F
import itertools

import numpy as np
import pytest

pytest.importorskip("onnx")

from verify.analysis import Status, check_equivalent, reference_network, worst_case_error  # noqa: E402
from verify.backends.evaluator import evaluate  # noqa: E402
from verify.backends.z3_backend import z3  # noqa: E402
from verify.constructions import max_chain, max_tree, mean_network, pool2d, truncated_tree  # noqa: E402
from verify.domain import Box  # noqa: E402
from verify.errors import VerifyError  # noqa: E402
from verify.io.onnx_import import import_onnx  # noqa: E402
from verify.io.smtlib import network_definitions  # noqa: E402
from verify.io.vnnlib import export_vnnlib, network_to_onnx, vnnlib_property  # noqa: E402
from verify.reductions.difference import difference_network  # noqa: E402

NETS = [max_tree(4, "A"), max_tree(5, "skip"), max_chain(3, "B"), pool2d(3, 3, 2, 1, "A"),
        reference_network(pool2d(3, 3, 2, 1)), truncated_tree(4, 1, "B"), mean_network(4)]


@pytest.mark.parametrize("net", NETS, ids=lambda n: n.name)
def test_onnx_round_trip_by_meaning(net):
    back = import_onnx(network_to_onnx(net))
    assert check_equivalent(net, back).status is Status.PROVED


def test_onnx_export_runs_in_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    for net in (max_tree(5, "skip"), reference_network(pool2d(3, 3, 2, 1))):
        sess = ort.InferenceSession(network_to_onnx(net).SerializeToString())
        for p in itertools.islice(itertools.product([0, 0.5, -1.25], repeat=net.n_inputs), 20):
            got = sess.run(None, {"X": np.array([p], dtype=np.float32)})[0].ravel()
            assert [F(float(v)) for v in got] == list(evaluate(net, [F(v) for v in p]))


def test_rounding_is_refused_unless_allowed():
    with pytest.raises(VerifyError, match="float32"):
        network_to_onnx(mean_network(3))  # weights 1/3
    network_to_onnx(mean_network(3), allow_rounding=True)


def test_difference_network_is_n_minus_max():
    net = truncated_tree(4, 1, "A")
    diff = difference_network(net)
    assert diff.is_relu_network
    for p in itertools.product([0, F(1, 3), 1], repeat=4):
        assert evaluate(diff, p) == (evaluate(net, p)[0] - max(p),)


def _vnnlib_verdict(prop_text, diff):
    # The property's meaning: add the difference network's definitions over X_i and Y_o = D_o(X).
    defs, outs = network_definitions(diff, "n", [f"X_{i}" for i in range(diff.n_inputs)])
    links = [f"(assert (= Y_{o} {name}))" for o, name in enumerate(outs)]
    s = z3.Solver()
    s.add(z3.parse_smt2_string(prop_text + "\n".join(defs + links)))
    return str(s.check())


def test_vnnlib_property_brackets_the_exact_error(tmp_path):
    # mean of 4 on [0,1]^4: exact worst-case error 3/4 (seed paper, R = {0}: (d-1)/d), attained.
    net, box = mean_network(4), Box.cube(4)
    e = worst_case_error(net, box).sup_abs
    assert e == F(3, 4)
    diff = difference_network(net)
    assert _vnnlib_verdict(vnnlib_property(box, 1, e), diff) == "sat"
    assert _vnnlib_verdict(vnnlib_property(box, 1, e + F(1, 100)), diff) == "unsat"
    # an exact pooling layer never reaches any positive threshold
    pool = pool2d(3, 3, 2, 1, "B")
    assert _vnnlib_verdict(vnnlib_property(Box.cube(9), 4, F(1, 10 ** 6)), difference_network(pool)) == "unsat"


def test_export_directory(tmp_path):
    paths = export_vnnlib(max_tree(4, "A"), tmp_path / "bench", Box.cube(4), F(1, 2))
    assert sorted(p.name for p in (tmp_path / "bench").iterdir()) == [
        "difference.onnx", "instances.csv", "network.onnx", "property.vnnlib"]
    assert (tmp_path / "bench" / "instances.csv").read_text().strip() == "difference.onnx,property.vnnlib,300"
    back = import_onnx(paths["difference"])
    assert check_equivalent(back, difference_network(max_tree(4, "A"))).status is Status.PROVED
    text = (tmp_path / "bench" / "property.vnnlib").read_text()
    assert "(declare-const X_3 Real)" in text and "(>= Y_0 0.5)" in text


def test_difference_network_of_a_model_with_max_nodes_is_relu_only():
    ref = reference_network(pool2d(3, 3, 2, 1))  # four max nodes, error 0 against itself
    diff = difference_network(ref)
    assert diff.is_relu_network
    zero = import_onnx(network_to_onnx(diff))
    for p in itertools.product([0, 1], repeat=9):
        assert evaluate(zero, p) == (0, 0, 0, 0)
