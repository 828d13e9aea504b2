"""``--windows`` / ``--windows-from`` on exact, error and diff, and the refusals of a comparison with max
that would mean nothing (issue 14, item 4); models given as ONNX files directly, checked against
onnxruntime."""

import json
import os
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from verify.cli import main
from verify.commands.windows_arg import parse_windows
from verify.constructions import pool2d
from verify.errors import VerifyError
from verify.io.json_format import save_network
from verify.ir.graph import Network

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True, env=env, timeout=300)


def test_window_spellings_agree():
    # a 2x2 pooling with stride 2 on a 4x4 image, windows written out by hand (row-major indices)
    by_hand = [(0, 1, 4, 5), (2, 3, 6, 7), (8, 9, 12, 13), (10, 11, 14, 15)]
    assert parse_windows("0,1,4,5;2,3,6,7;8,9,12,13;10,11,14,15") == by_hand
    assert parse_windows("[[0,1,4,5],[2,3,6,7],[8,9,12,13],[10,11,14,15]]") == by_hand
    assert parse_windows("pool:2x2/2@4x4") == by_hand == parse_windows("pool:2@4x4")
    # stride 1 on 3x3: four overlapping windows; two channels of 2x2 with a 2x2 kernel: one window each
    assert parse_windows("pool:2x2/1@3x3") == [(0, 1, 3, 4), (1, 2, 4, 5), (3, 4, 6, 7), (4, 5, 7, 8)]
    assert parse_windows("pool:2x2/2@2x2x2") == [(0, 1, 2, 3), (4, 5, 6, 7)]
    # 1x3 kernel, stride 1x3 on a 2x6 image
    assert parse_windows("pool:1x3/1x3@2x6") == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11)]


@pytest.mark.parametrize("text", ["", "0,1;;2", "0,a", "[[0],[true]]", "[1,2]", "pool:2x2@", "pool:3x3@2x2", "[[0,"])
def test_bad_window_text_is_one_verify_error(text):
    with pytest.raises(VerifyError) as e:
        parse_windows(text)
    assert "\n" not in str(e.value)


@pytest.fixture
def nowin(tmp_path):
    """The 2x4 pooling layer saved without its windows (as a user's file would be)."""
    n = pool2d(2, 4, 2, 2, "A")
    p = tmp_path / "nowin.json"
    save_network(Network(n.graph, n.inputs, n.outputs, name="layer"), p)
    return str(p)


def test_windows_attach_on_exact_and_error(nowin, tmp_path, capsys):
    assert main(["exact", nowin, "--windows", "pool:2x2/2@2x4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "PROVED"
    f = tmp_path / "w.json"
    f.write_text("[[0, 1, 4, 5], [2, 3, 6, 7]]")
    assert main(["error", nowin, "--box", "0,1", "--windows-from", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["sup_over"], out["sup_under"]) == ("0", "0")
    # wrong windows: the layer is not the max of (0, 1) and (2, 3, 6, 7); refuted with a real counterexample
    assert main(["exact", nowin, "--windows", "0,1;2,3,6,7", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    x = [F(v) for v in out["counterexample"]]
    from verify.backends.evaluator import evaluate
    o = out["output_index"]
    assert evaluate(pool2d(2, 4, 2, 2, "A"), x)[o] != max(x[i] for i in ((0, 1), (2, 3, 6, 7))[o])


@pytest.mark.parametrize("cmd", [["exact"], ["error", "--box", "0,1"]])
def test_several_outputs_without_windows_is_refused(nowin, cmd):
    proc = run(cmd[0], nowin, *cmd[1:])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no windows" in lines[0] and "--windows" in lines[0]


def _onnx(tmp_path, name, model):
    import onnx

    p = tmp_path / name
    onnx.save(model, p)
    return str(p)


def test_image_model_with_one_output_is_refused_but_a_pool_is_not(tmp_path):
    pytest.importorskip("onnx")
    from onnx import helper

    from tests.onnx_models import cnn_model, make_model, value_info

    cnn = _onnx(tmp_path, "cnn.onnx", cnn_model(outputs=1))
    for cmd in (["exact", cnn], ["error", cnn, "--box", "0,1"]):
        proc = run(*cmd)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "image model" in lines[0] and "--windows" in lines[0]
    # a model that is one 2x2 max pooling window: its output is the max of its 4 inputs, PROVED
    pool = make_model([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], name="p")],
                      [value_info("x", [1, 1, 2, 2])], [value_info("y", [1, 1, 1, 1])], [])
    proc = run("exact", _onnx(tmp_path, "pool.onnx", pool))
    assert proc.returncode == 0 and proc.stdout.startswith("PROVED"), proc.stdout + proc.stderr


def test_diff_of_onnx_models_agrees_with_onnxruntime(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    from tests.onnx_models import cnn_model

    a = cnn_model("MaxPool", size=3, channels=1, outputs=2)
    b = cnn_model("AveragePool", size=3, channels=1, outputs=2)
    pa, pb = _onnx(tmp_path, "a.onnx", a), _onnx(tmp_path, "b.onnx", b)
    assert main(["diff", pa, pb, "--box", "0,1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "PROVED"

    def ort_run(path, x):
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return s.run(None, {"x": np.asarray(x, dtype=np.float32).reshape(1, 1, 3, 3)})[0].reshape(-1)

    # the exact supremum is attained at the witness: onnxruntime's float values agree there
    for side, sign in (("over", 1), ("under", -1)):
        x = [float(F(v)) for v in out[f"witness_{side}"]]
        o = out[f"output_{side}"]
        gap = sign * (ort_run(pa, x)[o] - ort_run(pb, x)[o])
        assert abs(gap - float(F(out[f"sup_{side}"]))) < 1e-4
    # the overall answer is the largest of the per-output answers
    assert F(out["sup_abs"]) == max(max(F(p["sup_over"]), F(p["sup_under"])) for p in out["per_output"])


def test_diff_of_torch_files_by_extension(tmp_path, capsys):
    # max(a, b) = relu(a - b) + b as a torch Sequential (hand weights, exact in float32) against the
    # mean (a + b)/2 as a Linear: sup(max - mean) on [0,1]^2 = 1/2 at a vertex (1, 0) or (0, 1), and
    # sup(mean - max) = 0 (mean <= max); the torch file against itself differs by 0.
    torch = pytest.importorskip("torch")
    from torch import nn

    mx = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    mean = nn.Sequential(nn.Linear(2, 1))
    with torch.no_grad():
        mx[0].weight.copy_(torch.tensor([[1.0, -1.0], [0.0, 1.0], [0.0, -1.0]]))
        mx[0].bias.zero_()
        mx[2].weight.copy_(torch.tensor([[1.0, 1.0, -1.0]]))
        mx[2].bias.zero_()
        mean[0].weight.copy_(torch.tensor([[0.5, 0.5]]))
        mean[0].bias.zero_()
    pa, pb = tmp_path / "max.pt", tmp_path / "mean.pt"
    torch.save(mx, pa)
    torch.save(mean, pb)
    assert main(["diff", str(pa), str(pb), "--box", "0,1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["sup_over"], out["sup_under"]) == ("1/2", "0")
    assert main(["diff", str(pa), str(pa), "--equal", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "PROVED"


def test_a_pool_spec_for_another_image_size_is_refused(nowin, capsys):
    # pool:1x2/1x2@1x4 gives 2 windows, as many as the layer's outputs, with indices in range, but of an
    # image of 4 values where the layer has 8 inputs: one line, exit 2.
    assert main(["exact", nowin, "--windows", "pool:1x2/1x2@1x4", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "4 values" in err and "8 inputs" in err
