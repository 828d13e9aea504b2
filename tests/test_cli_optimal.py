"""CLI: ``verify optimal``, ``verify tradeoff``, ``verify images``."""

import json
from fractions import Fraction as F

import pytest

from verify.cli import main
from verify.io.json_format import load_network
from verify.backends.evaluator import evaluate
from verify.analysis.optimal import evaluate_subpool


def run_json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_optimal_json(capsys):
    code, data = run_json(capsys, ["optimal", "--d", "9", "--R", "0,1,7,8", "--json"])
    assert code == 0
    assert data["error"] == "1/81"
    assert {"error", "beta", "width", "relus", "hidden_layers", "certificate"} <= set(data)
    assert data["hidden_layers"] == 3  # ceil(log2 8)
    assert data["subset_maxima"] == 36 + 9
    assert F(data["beta"]["0"]) == F(1, 81)


def test_optimal_z3_and_save(capsys, tmp_path):
    out = tmp_path / "net.json"
    code, data = run_json(capsys, ["optimal", "--d", "4", "--R", "0,1,3", "--z3", "--save", str(out), "--json"])
    assert code == 0 and data["z3"]["agrees"] and data["z3"]["sup_abs"] == "1/10"
    net = load_network(out)
    beta = {int(k): F(v) for k, v in data["beta"].items()}
    x = (F(1, 3), F(0), F(7, 9), F(1, 2))
    assert evaluate(net, x)[0] == evaluate_subpool(4, [0, 1, 3], beta, x)


def test_optimal_text(capsys):
    assert main(["optimal", "--d", "5", "--R", "0,1,2,3,4"]) == 0
    out = capsys.readouterr().out
    assert "1/32" in out and "certified" in out


@pytest.mark.parametrize("argv", [["optimal", "--d", "9", "--R", "0,a"], ["optimal", "--d", "9", "--R", "0,9"],
                                  ["optimal", "--d", "1", "--R", "0"], ["tradeoff", "--d", "40"],
                                  ["images", "--kernel", "7"]])
def test_bad_input_exit_2(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify: error:") and len(err.strip().splitlines()) == 1


def test_tradeoff_json_and_plot(capsys, tmp_path):
    png = tmp_path / "t.png"
    code, data = run_json(capsys, ["tradeoff", "--d", "4", "--plot", str(png), "--json"])
    assert code == 0
    assert len(data["rows"]) == 4
    assert {tuple(r["R"]): r["error"] for r in data["rows"]} == {(0, 1): "3/8", (0, 1, 2): "1/6", (0, 1, 3): "1/10",
                                                                (0, 1, 2, 3): "1/16"}
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_images_cli(capsys, tmp_path):
    pytest.importorskip("skimage")
    png = tmp_path / "i.png"
    code, data = run_json(capsys, ["images", "--kernel", "2", "--images", "coins", "--plot", str(png), "--json"])
    assert code == 0 and data["windows"] == (303 // 2) * (384 // 2)
    assert png.exists()


@pytest.mark.parametrize("argv", [["optimal", "--d", "4", "--R", "0,1", "--save", "/nonexistent-dir/x.json"],
                                  ["tradeoff", "--d", "3", "--plot", "/nonexistent-dir/x.png", "--json"]])
def test_unwritable_output_is_bad_input(capsys, argv):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("verify: error: cannot write")
