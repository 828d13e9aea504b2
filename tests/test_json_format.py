"""The relu-net/1 and relu-graph/1 formats: exact reading, round trips, malformed files."""

import json
from fractions import Fraction

import pytest

from verify.backends.evaluator import evaluate
from verify.constructions import max_tree, pool2d, truncated_tree
from verify.errors import NetworkFormatError
from verify.io import dumps_network, load_network, loads_network, network_hash, network_to_mapping, save_network
from verify.ir import GraphBuilder

SMALL = {
    "format": "relu-net/1",
    "inputs": 2,
    "layers": [
        {"weights": [[1, -1], ["0.1", "1/3"]], "bias": ["1e-1", 0], "activation": "relu"},
        {"weights": [[2, "-0.5"]], "activation": "linear"},
    ],
}


def test_numbers_read_from_text_exactly():
    net = loads_network(json.dumps(SMALL))
    # 0.1 is 1/10 exactly (a binary float would give a different value).
    x = (Fraction(1), Fraction(3))
    h1 = max(Fraction(1) - 3 + Fraction(1, 10), 0)
    h2 = max(Fraction(1, 10) * 1 + Fraction(1, 3) * 3, 0)
    assert evaluate(net, x) == (2 * h1 - Fraction(1, 2) * h2,)


def test_json_float_literal_read_as_decimal():
    text = '{"format":"relu-net/1","inputs":1,"layers":[{"weights":[[0.1]],"activation":"linear"}]}'
    net = loads_network(text)
    assert evaluate(net, [1]) == (Fraction(1, 10),)


def test_bias_may_be_omitted():
    net = loads_network(json.dumps(SMALL))
    assert evaluate(net, [0, 0]) == (2 * Fraction(1, 10),)


@pytest.mark.parametrize("make", [lambda: max_tree(5, "A"), lambda: max_tree(6, "B"), lambda: truncated_tree(9, 2, "A"),
                                  lambda: pool2d(4, 5, 2, 1, "B")])
def test_layered_round_trip_is_exact(make, tmp_path):
    net = make()
    assert network_to_mapping(net)["format"] == "relu-net/1"
    path = tmp_path / "n.json"
    save_network(net, path)
    back = load_network(path)
    assert network_to_mapping(back) == network_to_mapping(net)
    assert dumps_network(back) == dumps_network(net)
    assert back.windows == net.windows


def test_graph_round_trip_for_skip_and_max():
    b = GraphBuilder(3)
    x = b.input_exprs()
    m = b.max([x[0], x[1] * Fraction(1, 3)])
    b.output(x[2] + b.relu(m - x[2]))
    net = b.build()
    skip = max_tree(7, "skip")
    for n in (net, skip):
        data = network_to_mapping(n)
        assert data["format"] == "relu-graph/1"
        back = loads_network(dumps_network(n))
        assert network_hash(back) == network_hash(n)
        for pt in [(1, 2, 3), (-1, Fraction(5, 2), 0), (3, -7, Fraction(1, 9))]:
            pt = pt + (0,) * (n.n_inputs - 3)
            assert evaluate(back, pt) == evaluate(n, pt)


def _with(**changes):
    data = json.loads(json.dumps(SMALL))
    for path, value in changes.items():
        target = data
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        last = keys[-1]
        if value is KeyError:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("not json", "not valid JSON"),
        ('{"format": "relu-net/2", "inputs": 1, "layers": []}', "unknown format tag"),
        (_with(inputs=0), "inputs must be between 1"),
        (_with(inputs="2"), "inputs must be an integer"),
        (_with(layers=[]), "layers must be a non-empty list"),
        (_with(layers__0__weights__1=[1]), "layer 1, row 2"),
        (_with(layers__1__weights__0=[1, 2, 3]), "layer 2, row 1"),
        (_with(layers__0__bias=[1]), "bias has 1 entries"),
        (_with(layers__0__weights__0__1="nan"), "layer 1, row 1, column 2"),
        (_with(layers__0__weights__0__1="1/0"), "zero denominator"),
        (_with(layers__0__weights__0__1="abc"), "not a number"),
        (_with(layers__0__weights__0__1=True), "expected a number"),
        (_with(layers__1__activation="relu"), "last layer must be linear"),
        (_with(layers__1__activation="tanh"), "activation must be"),
        ('{"format":"relu-net/1","inputs":1,"layers":[{"weights":[[NaN]],"activation":"linear"}]}', "NaN is not allowed"),
        ('{"format":"relu-net/1","inputs":1,"layers":[{"weights":[[Infinity]],"activation":"linear"}]}', "Infinity is not allowed"),
        ('{"format":"relu-net/1","inputs":1,"layers":[{"weights":[[1e999999]],"activation":"linear"}]}', "exponent too large"),
        (_with(windows=[[0, 5]]), "window 1"),
        ('{"format":"relu-graph/1","inputs":1,"nodes":[{"id":"r1","op":"relu","in":"a9"}],"outputs":["r1"]}', "node 1 (r1)"),
        ('{"format":"relu-graph/1","inputs":1,"nodes":[{"id":"s","op":"sigmoid","in":"x0"}],"outputs":["s"]}', "unknown op"),
        ("[1, 2]", "top level must be a JSON object"),
    ],
)
def test_malformed_files_name_the_place(tmp_json, text, fragment):
    path = tmp_json("bad.json", text)
    with pytest.raises(NetworkFormatError) as info:
        load_network(path)
    message = str(info.value)
    assert str(path) in message
    assert fragment in message
    assert "\n" not in message
