"""Numbers beyond float range (issue 16, item 2): handled exactly or refused up front, never a traceback.

The parser accepts any rational ("1e400"); the float-guided routes cannot use such numbers. The
decision per route (docs/reliability.md): z3 routes skip float sampling and answer exactly; ``auto``
takes the z3 steps; routes that are float-guided by nature (``--backend milp``, ``regions``,
``one-hidden``, ONNX export) refuse with one line naming the file and the place. The exact answers of
the tests are closed forms: relu(10^400 x0) * 10^-400 = x0 on [0,1]^2 misses max(x0, x1) by at most 1
(at (0, 1)) and never exceeds it; the mean of two inputs misses the max on [-L, L]^2 by at most L.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from verify.cli import main
from verify.constructions import mean_network
from verify.domain import Box, RealSpace
from verify.io.json_format import loads_network

HUGE = {"format": "relu-net/1", "inputs": 2,
        "layers": [{"weights": [["1e400", 0]], "activation": "relu"},
                   {"weights": [["1e-400"]], "activation": "linear"}]}


@pytest.fixture
def huge(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(HUGE))
    return path


@pytest.fixture
def mean2(tmp_path):
    path = tmp_path / "mean2.json"
    assert main(["build", "mean", "--d", "2", "-o", str(path)]) == 0
    return path


def _json(capsys, argv):
    capsys.readouterr()  # what the fixtures printed
    code = main([str(a) for a in argv] + ["--json"])
    out, err = capsys.readouterr()
    assert out.strip(), (code, err)
    return code, json.loads(out), err


def _refused(capsys, argv, *fragments):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    for f in fragments:
        assert f in err, (f, err)


# -- the check ------------------------------------------------------------------------------------------
def test_the_check_names_the_place():
    from verify.backends.float_range import FLOAT_LIMIT, float_range_issue, magnitude_text

    net = loads_network(json.dumps(HUGE))
    issue = float_range_issue(net, Box.cube(2))
    assert issue.describe() == "layer 1, row 1, column 1: weight about 1e400"
    assert float_range_issue(mean_network(2), Box.cube(2, -Fraction(10) ** 400, Fraction(10) ** 400)).kind == "box"
    assert float_range_issue(mean_network(2), Box.cube(2, -Fraction(10) ** 99, Fraction(10) ** 99)) is None
    assert magnitude_text(Fraction(10) ** 400) == "about 1e400" and magnitude_text(Fraction(1, 10 ** 300)) == "about 1e-300"


def test_products_of_numbers_in_range_are_caught():
    """Each weight is 1e60, but two layers make values of 1e120 on [0,1]^2 (and coefficients 1e120 on R^2)."""
    from verify.backends.float_range import FLOAT_LIMIT, float_range_issue, magnitude_text

    data = {"format": "relu-net/1", "inputs": 2,
            "layers": [{"weights": [["1e60", "1e60"]], "activation": "relu"},
                       {"weights": [["1e60"]], "activation": "linear"}]}
    net = loads_network(json.dumps(data))
    issue = float_range_issue(net, Box.cube(2))
    assert issue.kind == "value" and issue.describe().startswith("layer 2, row 1: values reach")
    assert float_range_issue(net, RealSpace(2)).kind == "coefficient"
    data["layers"][1]["weights"] = [["1e-60"]]
    assert float_range_issue(loads_network(json.dumps(data)), Box.cube(2)) is None


def test_tiny_numbers_are_fine_for_floats():
    from verify.backends.float_range import FLOAT_LIMIT, float_range_issue, magnitude_text

    data = {"format": "relu-graph/1", "inputs": 1,
            "nodes": [{"id": "a", "op": "affine", "in": [["x0", "1e-400"]], "bias": "-1e-300"}], "outputs": ["a"]}
    assert float_range_issue(loads_network(json.dumps(data)), Box.cube(1)) is None
    data["nodes"][0]["bias"] = "1e101"
    assert float_range_issue(loads_network(json.dumps(data)), Box.cube(1)).describe() == "node 'a', bias: bias about 1e101"
    assert FLOAT_LIMIT == 1e100


# -- the routes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["z3", "auto"])
def test_error_with_a_huge_weight_is_exact(capsys, huge, backend):
    code, r, err = _json(capsys, ["error", huge, "--box", "0,1", "--backend", backend])
    assert code == 0, err
    assert r["status"] == "PROVED" and r["sup_under"] == "1" and r["sup_over"] == "0"
    assert r["witness_under"] == ["0", "1"]


@pytest.mark.parametrize("box", ["-1e400,1e400", "-1e308,1e308"])
@pytest.mark.parametrize("backend", ["z3", "auto"])
def test_error_on_a_huge_box_is_exact(capsys, mean2, box, backend):
    code, r, err = _json(capsys, ["error", mean2, f"--box={box}", "--backend", backend])
    L = box.split(",")[1]
    assert code == 0, err
    assert r["status"] == "PROVED" and r["sup_under"] == str(Fraction(L)) and r["sup_over"] == "0"


@pytest.mark.parametrize("backend", ["z3", "auto"])
def test_exact_on_a_huge_box_refutes_with_a_checked_counterexample(capsys, mean2, backend):
    code, r, err = _json(capsys, ["exact", mean2, "--box=-1e400,1e400", "--backend", backend])
    assert code == 1 and r["status"] == "REFUTED", err
    x = [Fraction(v) for v in r["counterexample"]]
    assert all(abs(v) <= Fraction(10) ** 400 for v in x) and sum(x) / 2 != max(x)


def test_exact_with_a_huge_weight_auto(capsys, huge):
    code, r, err = _json(capsys, ["exact", huge, "--backend", "auto"])
    assert code == 1 and r["status"] == "REFUTED"
    x = [Fraction(v) for v in r["counterexample"]]
    assert max(x[0], 0) != max(x)


@pytest.mark.parametrize("argv, fragments", [
    (["error", "{huge}", "--box", "0,1", "--backend", "milp"], ["huge.json: layer 1, row 1, column 1: weight about 1e400", "--backend z3 or auto"]),
    (["exact", "{huge}", "--backend", "milp"], ["huge.json: layer 1, row 1, column 1: weight about 1e400"]),
    (["exact", "{mean2}", "--box=-1e400,1e400", "--backend", "milp"], ["--box -1e400,1e400: an end about 1e400"]),
    (["error", "{mean2}", "--box=-1e308,1e308", "--backend", "milp"], ["--box -1e308,1e308: an end about 1e308"]),
    (["regions", "{mean2}", "--box=-1e400,1e400"], ["--box -1e400,1e400", "region enumeration"]),
    (["regions", "{mean2}", "--box=-1e308,1e308", "--backend", "z3"], ["--box -1e308,1e308"]),
    (["regions", "{huge}", "--box", "0,1"], ["huge.json: layer 1, row 1, column 1"]),
    (["one-hidden", "{huge}"], ["huge.json: layer 1, row 1, column 1", "facet search"]),
    (["export", "{huge}", "--onnx", "{tmp}/x.onnx", "--allow-rounding"], ["huge.json: layer 1 weights, row 1, column 1", "float32 range"]),
])
def test_float_guided_routes_refuse_up_front(capsys, tmp_path, huge, mean2, argv, fragments):
    argv = [a.format(huge=huge, mean2=mean2, tmp=tmp_path) for a in argv]
    _refused(capsys, argv, *fragments)
    assert not (tmp_path / "x.onnx").exists()


def test_library_routes_raise_one_error_too():
    from verify.analysis.worst_case import worst_case_error
    from verify.errors import FloatRangeError

    net = loads_network(json.dumps(HUGE))
    with pytest.raises(FloatRangeError, match="weight about 1e400"):
        worst_case_error(net, Box.cube(2), backend="milp")
    assert worst_case_error(net, Box.cube(2), backend="z3").sup_under == 1
