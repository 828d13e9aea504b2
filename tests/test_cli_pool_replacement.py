"""``verify pool-replacement`` on the hand-known tiny models of tests/test_pool_replacement.py.

By hand (see that module): the pooling inputs' box is [0, 3/2]^8; with the mean instead of the max each
window has sup(R - max) = 0 and sup(max - R) = 3c/4 = 9/8; through the head y = 2 p_0 - 3 p_1 + 1/2 the
sound (and here exact) output bounds are sup(R - M) = 27/8 and sup(M - R) = 9/4.
"""

import json
import os
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")

from tests.test_pool_replacement import tiny  # noqa: E402
from verify.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def models(tmp_path):
    paths = {}
    for name, m in {"max": tiny(), "mean": tiny("AveragePool"), "conv3": tiny("AveragePool", conv_w=3.0)}.items():
        p = tmp_path / f"{name}.onnx"
        onnx.save(m, p)
        paths[name] = str(p)
    return paths


def test_hand_known_answer_json(models, capsys):
    assert main(["pool-replacement", models["max"], models["mean"], "--box", "0,1", "--json", "--whole-model"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "PROVED" and out["distinct_windows"] == 1 and out["solver_calls"] == 1
    assert [(w["sup_over"], w["sup_under"]) for w in out["windows"]] == [("0", "9/8"), ("0", "9/8")]
    assert [w["box"] for w in out["windows"]] == [[["0", "3/2"]] * 4] * 2
    (o,) = out["outputs"]
    assert (o["bound_over"], o["bound_under"]) == ("27/8", "9/4")
    assert (o["exact"]["sup_over"], o["exact"]["sup_under"]) == ("27/8", "9/4")


def test_text_states_assumptions(models, capsys):
    assert main(["pool-replacement", models["max"], models["mean"], "--box", "0,1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("PROVED")
    assert "window 1: sup(R - max) = 0, sup(max - R) = 9/8" in text
    assert "sup(REPLACEMENT - MODEL) <= 27/8" in text and "sup(MODEL - REPLACEMENT) <= 9/4" in text
    assert "assumed:" in text and "exact interval arithmetic" in text


def test_lp_bounds_give_the_same_box_here(models, capsys):
    # each pooling input is one pixel through relu(2x - 1/2): interval bounds are already exact
    assert main(["pool-replacement", models["max"], models["mean"], "--box", "0,1", "--bounds", "lp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [F(v) for v in out["windows"][0]["box"][0]] == [0, F(3, 2)] and out["output_bound"] == "27/8"


@pytest.mark.parametrize("args", [
    ["pool-replacement", "{max}", "{conv3}", "--box", "0,1"],           # the layers before the pooling differ
    ["pool-replacement", "{mean}", "{mean}", "--box", "0,1"],           # no max pooling in MODEL
    ["pool-replacement", "{max}", "{mean}"],                            # no box
    ["pool-replacement", "{max}", "{mean}", "--box", "0"],
    ["pool-replacement", "{max}", "{max}.nope", "--box", "0,1"],
    ["pool-replacement", "{max}", "{mean}", "--box", "0,1", "--timeout", "nan"],
])
def test_bad_input_one_line_exit_2(models, args):
    proc = run(*[a.format(**models) for a in args])
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
