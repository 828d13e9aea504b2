"""One-hidden-layer representability: known answers from the literature and hand-derived cases.

Known facts used: max(a, b) = b + relu(a - b) (one hidden layer suffices for max_2); one hidden layer
cannot compute max_3 at any width (Mukherjee & Basu, arXiv:1711.03073, as cited by Hertrich et al.,
arXiv:2105.14835), and hence not max_d for d >= 3 (setting x_4 = ... = x_d to a very negative value
would give max_3 from a one-hidden-layer network); a one-hidden-layer network is representable by
definition.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction as F

import pytest

from verify.analysis.one_hidden import check_certificate, local_region, max_network, one_hidden_layer
from verify.analysis.results import Status
from verify.backends.evaluator import evaluate
from verify.cli import main
from verify.constructions import max_tree
from verify.errors import VerifyError
from verify.io.json_format import save_network
from verify.ir.builder import GraphBuilder
from verify.ir.layers import Layer, from_layers


def random_one_hidden(d: int, width: int, seed: int, biases: bool = True):
    rnd = random.Random(seed)
    hidden = Layer(tuple(tuple(F(rnd.randint(-3, 3)) for _ in range(d)) for _ in range(width)),
                   tuple(F(rnd.randint(-2, 2)) if biases else F(0) for _ in range(width)), "relu")
    out = Layer((tuple(F(rnd.choice([-3, -2, -1, 1, 2, 3]), rnd.randint(1, 3)) for _ in range(width)),),
                (F(rnd.randint(-2, 2)),), "linear")
    return from_layers(d, [hidden, out], name=f"random 1-hidden d={d} w={width} seed={seed}")


def random_points(d, k, seed):
    rnd = random.Random(seed)
    return [tuple(F(rnd.randint(-60, 60), rnd.randint(1, 7)) for _ in range(d)) for _ in range(k)]


def test_max2_is_representable_as_b_plus_relu_a_minus_b():
    r = one_hidden_layer(max_network(2))
    assert r.status is Status.PROVED
    g = r.network
    assert g.hidden_layers == 1 and g.n_relus == 1
    # The only breakpoint hyperplane is x1 = x2, with jump e1 - e2 (max = x2 + relu(x1 - x2)).
    assert r.hyperplanes == [((F(1), F(-1)), F(0), F(1))]
    for x in random_points(2, 50, 1) + [(F(3), F(3))]:
        assert evaluate(g, x)[0] == max(x)


@pytest.mark.parametrize("d", [3, 4, 5, 6])
def test_max_d_is_not_representable(d):
    net = max_network(d)
    r = one_hidden_layer(net)
    assert r.status is Status.REFUTED
    cert = r.certificate
    assert check_certificate(net, cert).valid
    # Independent reading of the certificate for max: on the facet x_i = x_j (both the largest) the
    # gradient jumps from e_j to e_i, i.e. by e_i - e_j; the other point lies on the same hyperplane
    # with a strictly larger third coordinate, where max is a single coordinate (affine).
    n = cert["hyperplane"]["n"]
    i, j = [k for k, v in enumerate(n) if v != 0]
    assert cert["hyperplane"]["b"] == 0 and n[i] == 1 and n[j] == -1
    if cert["type"] == "differentiable-point":
        p1, p2 = cert["facet_point"], cert["smooth_point"]
        assert p1[i] == p1[j] == max(p1) and sorted(p1).count(max(p1)) == 2
        assert p2[i] == p2[j] and max(p2) > p2[i]
        assert cert["jumps"][0] == tuple(F(int(k == i) - int(k == j)) for k in range(d))


def test_max_tree_relu_network_for_max3_is_not_representable():
    net = max_tree(3)  # a ReLU network computing max_3 (2 hidden layers)
    r = one_hidden_layer(net)
    assert r.status is Status.REFUTED
    assert check_certificate(net, r.certificate).valid


@pytest.mark.parametrize("d,width,seed", [(2, 4, 0), (3, 5, 1), (3, 6, 2), (2, 6, 3)])
def test_random_one_hidden_network_is_recognised(d, width, seed):
    net = random_one_hidden(d, width, seed)
    r = one_hidden_layer(net)
    assert r.status is Status.PROVED, r.reason
    g = r.network
    assert g.hidden_layers <= 1
    # Merged hyperplanes never need more units than the original network has.
    assert g.n_relus <= width
    for x in random_points(d, 40, seed):  # second judge besides z3: exact evaluation
        assert evaluate(g, x) == evaluate(net, x)


def test_positively_homogeneous_one_hidden_network():
    net = random_one_hidden(3, 5, 7, biases=False)
    r = one_hidden_layer(net)
    assert r.status is Status.PROVED
    assert all(b == 0 for _, b, _ in r.hyperplanes)


def test_deep_network_with_a_one_hidden_function():
    # relu(relu(x) + relu(y)) == relu(x) + relu(y): two hidden layers, but representable with one.
    b = GraphBuilder(2)
    x, y = b.input_exprs()
    b.output(b.relu(b.relu(x) + b.relu(y)))
    r = one_hidden_layer(b.build())
    assert r.status is Status.PROVED
    assert sorted(r.hyperplanes) == [((F(0), F(1)), F(0), F(1)), ((F(1), F(0)), F(0), F(1))]


def test_hand_derived_non_representable_with_biases():
    # f = relu(relu(x) + relu(y) - 1): on the line x = 0 the gradient jumps by e1 where y > 1
    # (f = relu(x) + y - 1 there) and not at all where y < 1 (f = 0 near the line).
    b = GraphBuilder(2)
    x, y = b.input_exprs()
    b.output(b.relu(b.relu(x) + b.relu(y) - 1))
    net = b.build()
    r = one_hidden_layer(net)
    assert r.status is Status.REFUTED
    assert check_certificate(net, r.certificate).valid


def test_forged_certificates_are_rejected():
    net = max_network(3)
    good = one_hidden_layer(net).certificate
    assert check_certificate(net, good).valid
    # A smooth point off the hyperplane.
    bad = dict(good, smooth_point=(F(0), F(1), F(5)))
    assert not check_certificate(net, bad).valid
    # A "smooth" point that is on the breakpoint facet itself (max is not affine there).
    bad = dict(good, smooth_point=(F(1), F(1), F(0)))
    assert not check_certificate(net, bad).valid
    # Two facet points of max_2 have the same jump: no mismatch to certify.
    net2 = max_network(2)
    fake = {"type": "jump-mismatch", "hyperplane": {"n": ["1", "-1"], "b": "0"},
            "points": [["1", "1"], ["-7/3", "-7/3"]], "eps": ["1/8", "1/2"]}
    check = check_certificate(net2, fake)
    assert not check.valid and check.jumps == [(F(1), F(-1)), (F(1), F(-1))]
    # A facet point where the two sides are not both regions of f (p + eps n lands on a boundary).
    fake = {"type": "jump-mismatch", "hyperplane": {"n": ["1", "-1", "0"], "b": "0"},
            "points": [["0", "0", "0"], ["1", "1", "0"]], "eps": ["1/8", "1/8"]}
    assert not check_certificate(net, fake).valid


def test_local_region_is_none_on_a_boundary():
    net = max_network(3)
    assert local_region(net, (F(1), F(1), F(0))) is None
    region = local_region(net, (F(2), F(1), F(0)))
    assert region.gradient == (1, 0, 0) and region.offset == 0


def test_bad_inputs():
    b = GraphBuilder(2)
    x, y = b.input_exprs()
    b.output(x)
    b.output(y)
    with pytest.raises(VerifyError, match="outputs"):
        one_hidden_layer(b.build(windows=[[0], [1]]))
    with pytest.raises(VerifyError, match="dimension 7"):
        one_hidden_layer(max_network(7))


def test_cli(tmp_path, capsys):
    assert main(["one-hidden", "--max", "2"]) == 0
    assert "REPRESENTABLE" in capsys.readouterr().out
    assert main(["one-hidden", "--max", "4", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "REFUTED" and data["representable"] is False
    assert check_certificate(max_network(4), data["certificate"]).valid  # exact text round trip
    path = tmp_path / "net.json"
    save_network(random_one_hidden(2, 3, 5), path)
    out = tmp_path / "g.json"
    assert main(["one-hidden", str(path), "--save-network", str(out)]) == 0
    assert out.exists()
    assert main(["one-hidden"]) == 2
    assert main(["one-hidden", "--max", "7"]) == 2
    assert not (tmp_path / "missing.json").exists()
    assert main(["one-hidden", str(tmp_path / "missing.json")]) == 2


def test_certificate_hyperplane_may_be_scaled():
    # The same hyperplane written as -3 x1 + 3 x2 = 0: the + side is now x2 > x1, so the jump flips sign.
    net = max_network(3)
    cert = {"type": "differentiable-point", "hyperplane": {"n": ["-3", "3", "0"], "b": "0"},
            "facet_point": ["0", "0", "-1"], "eps": "1/100", "smooth_point": ["0", "0", "1"]}
    check = check_certificate(net, cert)
    assert check.valid and check.jumps == [(F(-1), F(1), F(0))]


def test_affine_function_needs_no_units():
    # relu(x) - relu(-x) + 5 relu(-1) + 2y = x + 2y: affine, a one-hidden-layer function of width 0.
    b = GraphBuilder(2)
    x, y = b.input_exprs()
    b.output(b.relu(x) - b.relu(-x) + b.relu(x * 0 - 1) * 5 + y * 2)
    r = one_hidden_layer(b.build())
    assert r.status is Status.PROVED and r.hyperplanes == [] and r.network.n_relus == 0


def test_clipped_ramp_through_max_and_nested_relus():
    # max(x, x+1) + relu(relu(s) - relu(s-1)) with s = x+y is x + 1 + min(max(s, 0), 1):
    # breakpoints on the whole lines s = 0 (jump +1) and s = 1 (jump -1).
    b = GraphBuilder(2)
    x, y = b.input_exprs()
    s = x + y
    b.output(b.max([x, x + 1]) + b.relu(b.relu(s) - b.relu(s - 1)))
    r = one_hidden_layer(b.build())
    assert r.status is Status.PROVED
    assert sorted(r.hyperplanes) == [((F(1), F(1)), F(-1), F(-1)), ((F(1), F(1)), F(0), F(1))]
