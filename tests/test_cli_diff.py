"""``verify diff`` and ``verify diff --equal`` (issue 14): values known independently of the code.

* A network against itself differs by 0 both ways.
* The max tree against the mean of d inputs on [0,1]^d: sup(max - mean) = (d-1)/d at a unit vertex, and
  sup(mean - max) = 0 (mean <= max everywhere, equal on the diagonal).
* A 2x4 max pooling layer (two 2x2 windows) against mean pooling: each window has the closed form 3/4; the
  decomposed and undecomposed answers agree exactly; one distinct piece for the two windows.
* ``--equal``: PROVED 0 / REFUTED 1 with a counterexample the test re-evaluates itself.
"""

import json
import os
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest

from verify.backends.evaluator import evaluate
from verify.cli import main
from verify.constructions import max_tree, mean_network, pool2d
from verify.io.json_format import load_network, save_network
from verify.ir.builder import GraphBuilder

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True, env=env, timeout=300)


def mean_pool_layer(h, w, k):
    b = GraphBuilder(h * w)
    xs = b.input_exprs()
    for win in pool2d(h, w, k, k, "A").windows:
        b.output(sum((xs[i] for i in win[1:]), xs[win[0]]) * F(1, len(win)))
    return b.build(name="mean pooling")


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, net in {"tree3": max_tree(3, "A"), "mean3": mean_network(3), "tree4": max_tree(4, "B"),
                      "mean4": mean_network(4), "pool": pool2d(2, 4, 2, 2, "A"), "meanpool": mean_pool_layer(2, 4, 2),
                      "tree2x": max_tree(2, "A")}.items():
        p = tmp_path / f"{name}.json"
        save_network(net, p)
        paths[name] = str(p)
    return paths


def _json(capsys):
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", ["tree4", "pool", "meanpool"])
def test_a_network_against_itself_is_zero_both_ways(files, capsys, name):
    assert main(["diff", files[name], files[name], "--box", "-1,2", "--json"]) == 0
    out = _json(capsys)
    assert (out["status"], out["sup_over"], out["sup_under"], out["sup_abs"]) == ("PROVED", "0", "0", "0")
    assert all(p["sup_over"] == "0" and p["sup_under"] == "0" for p in out["per_output"])


@pytest.mark.parametrize("d", [3, 4])
def test_max_tree_against_mean_closed_form(files, capsys, d):
    tree, mean = files[f"tree{d}"], files[f"mean{d}"]
    assert main(["diff", tree, mean, "--box", "0,1", "--json"]) == 0
    out = _json(capsys)
    assert F(out["sup_over"]) == F(d - 1, d) and F(out["sup_under"]) == 0
    # the witness attains the value on the original networks (re-evaluated here, not by the command)
    x = [F(v) for v in out["witness_over"]]
    assert evaluate(load_network(tree), x)[0] - evaluate(load_network(mean), x)[0] == F(d - 1, d)
    # and the other way round the sides swap
    assert main(["diff", mean, tree, "--box", "0,1", "--json"]) == 0
    out = _json(capsys)
    assert F(out["sup_under"]) == F(d - 1, d) and F(out["sup_over"]) == 0


def test_pooling_layer_decomposed_and_whole_agree(files, capsys):
    assert main(["diff", files["pool"], files["meanpool"], "--box", "0,1", "--json"]) == 0
    dec = _json(capsys)
    assert dec["decomposed"] is True and dec["decomposition"]["distinct"] == 1
    assert [(F(p["sup_over"]), F(p["sup_under"])) for p in dec["per_output"]] == [(F(3, 4), 0), (F(3, 4), 0)]
    assert [p["support"] for p in dec["per_output"]] == [[0, 1, 4, 5], [2, 3, 6, 7]]
    assert main(["diff", files["pool"], files["meanpool"], "--box", "0,1", "--json", "--no-decompose"]) == 0
    whole = _json(capsys)
    assert (whole["sup_over"], whole["sup_under"]) == (dec["sup_over"], dec["sup_under"]) == ("3/4", "0")


def test_text_output_names_both_sides_and_per_output(files, capsys):
    assert main(["diff", files["pool"], files["meanpool"], "--box", "0,1"]) == 0
    text = capsys.readouterr().out
    assert "sup(A - B) = 3/4" in text and "sup(B - A) = 0" in text
    assert "output 1: sup(A - B) = 3/4" in text and "1 distinct piece" in text


def test_equal_proved_and_refuted(files, capsys):
    assert main(["diff", files["pool"], files["pool"], "--equal", "--json"]) == 0
    assert _json(capsys)["status"] == "PROVED"
    assert main(["diff", files["tree4"], files["mean4"], "--equal", "--box", "0,1", "--json"]) == 1
    out = _json(capsys)
    x = [F(v) for v in out["counterexample"]]
    assert all(0 <= v <= 1 for v in x)
    assert evaluate(max_tree(4, "B"), x)[0] != evaluate(mean_network(4), x)[0]
    # decomposed: the counterexample is lifted to all 8 inputs and separates the original layers
    assert main(["diff", files["pool"], files["meanpool"], "--equal", "--box", "0,1", "--json"]) == 1
    out = _json(capsys)
    x = [F(v) for v in out["counterexample"]]
    o = out["output_index"]
    assert len(x) == 8 and evaluate(pool2d(2, 4, 2, 2, "A"), x)[o] != evaluate(mean_pool_layer(2, 4, 2), x)[o]


def test_equal_unknown_exit_3(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_network(max_tree(16, "A"), a)
    save_network(max_tree(16, "B"), b)
    proc = run("diff", str(a), str(b), "--equal", "--timeout", "0")
    assert proc.returncode == 3, proc.stderr


def test_windows_on_diff_are_checked_against_the_supports(files, capsys):
    assert main(["diff", files["pool"], files["meanpool"], "--box", "0,1", "--windows", "0,1,4,5;2,3,6,7", "--json"]) == 0
    assert _json(capsys)["sup_over"] == "3/4"


@pytest.mark.parametrize("args", [
    ["diff", "{tree3}", "{tree4}", "--box", "0,1"],                      # different shapes
    ["diff", "{tree4}", "{mean4}"],                                      # no box and no --equal
    ["diff", "{tree4}", "{mean4}", "--box", "0,1", "--backend", "gurobi"],
    ["diff", "{tree4}", "{tree4}.txt", "--box", "0,1"],                  # unknown extension
    ["diff", "{pool}", "{meanpool}", "--box", "0,1", "--windows", "0,1;2"],  # window outside the support
    ["diff", "{pool}", "{meanpool}", "--box", "0,1", "--windows", "0,1,4,5"],  # one window for two outputs
    ["diff", "{pool}", "{meanpool}", "--box", "0,1", "--windows", "[[0,1],[x]]"],
    ["diff", "{pool}", "{meanpool}", "--box", "0,1", "--windows-from", "{tree4}.missing"],
    ["diff", "{tree4}", "{mean4}", "--box", "0,1", "--timeout", "-1"],
    ["diff", "{tree4}", "{mean4}", "--box", "0,1", "--input-shape", "1,x"],
    ["diff", "{tree4}", "{mean4}", "--box", "0,1", "--windows", "0,1", "--windows-from", "{tree4}"],  # both
    ["exact", "{pool}", "--windows", "pool:2x2/2@2x4;"],
    ["error", "{pool}", "--box", "0,1", "--windows", "0,1,4,5;2,3,6,99"],
])
def test_diff_bad_input_one_line_exit_2(files, args):
    proc = run(*[a.format(**files) for a in args])
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_python_default_route_decomposes_and_agrees():
    from verify.analysis.compare import worst_case_difference
    from verify.analysis.decompose import decomposed_difference
    from verify.analysis.worst_case import both_sides
    from verify.domain import Box

    box = Box.cube(8)
    f, g = pool2d(2, 4, 2, 2, "B"), mean_pool_layer(2, 4, 2)
    r = worst_case_difference(f, g, box)  # default: backend auto, decomposed (outputs read 4 of 8 inputs)
    assert r.backend.startswith("decomposed/") and (r.sup_over, r.sup_under) == (F(3, 4), 0)
    whole = both_sides(f, g, box, backend="milp")
    assert (whole.sup_over, whole.sup_under) == (r.sup_over, r.sup_under)
    d = decomposed_difference(f, g, box, backend="auto")
    assert d.distinct == 1 and d.solver_calls == 1
