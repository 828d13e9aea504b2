"""CLI: verify import / export / sympy / ties / gradient (exit codes, one-line errors, no partial files)."""

import json
import subprocess
import sys
from fractions import Fraction as F

import pytest

from verify.analysis import Status, check_equivalent
from verify.cli import main
from verify.constructions import max_tree, mean_network
from verify.io.json_format import load_network, save_network


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def tree4(tmp_path):
    p = tmp_path / "tree4.json"
    save_network(max_tree(4, "A"), p)
    return p


def test_ties_json(capsys):
    code, out, _ = run(["ties", "--kernel", "2", "--gadget", "A", "--s", "0", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    zero = next(r for r in data["rows"] if r["pattern"] == ["0"] * 4)
    assert zero["gradient"] == ["0"] * 4 and zero["valid"] is False  # gadget A at (0,0), relu'(0) = 0
    assert data["summary"][0]["invalid"] == 6


def test_ties_text_and_bad_s(capsys):
    code, out, _ = run(["ties", "--kernel", "2"], capsys)
    assert code == 0 and "skip" in out and "invalid" in out
    code, _, err = run(["ties", "--kernel", "2", "--s", "0.5.1"], capsys)
    assert code == 2 and err.count("\n") == 1


def test_sympy_command(tree4, capsys):
    code, out, _ = run(["sympy", str(tree4), "--json"], capsys)
    assert code == 0
    import sympy as sp
    from verify.backends.sympy_backend import from_sympy
    xs = sp.symbols("x1:5", real=True)
    expr = sp.sympify(json.loads(out)["outputs"][0], locals={f"x{i}": s for i, s in enumerate(xs, 1)})
    assert check_equivalent(max_tree(4, "A"), from_sympy(expr, xs)).status is Status.PROVED
    code, out, _ = run(["sympy", str(tree4), "--latex"], capsys)
    assert code == 0 and r"\max" in out


def test_export_smtlib_and_vnnlib(tree4, tmp_path, capsys):
    smt = tmp_path / "q.smt2"
    code, _, _ = run(["export", str(tree4), "--smtlib", str(smt), "--box", "0,1"], capsys)
    assert code == 0
    from verify.backends.z3_backend import z3
    s = z3.Solver()
    s.add(z3.parse_smt2_string(smt.read_text()))
    assert s.check() == z3.unsat
    pytest.importorskip("onnx")
    code, _, _ = run(["export", str(tree4), "--vnnlib", str(tmp_path / "b"), "--box", "0,1", "--threshold", "1/2"], capsys)
    assert code == 0 and (tmp_path / "b" / "property.vnnlib").exists()
    code, _, err = run(["export", str(tree4), "--vnnlib", str(tmp_path / "c")], capsys)
    assert code == 2 and "--threshold" in err


def test_export_refuses_rounding_without_partial_file(tmp_path, capsys):
    pytest.importorskip("onnx")
    p = tmp_path / "mean3.json"
    save_network(mean_network(3), p)
    out = tmp_path / "mean3.onnx"
    code, _, err = run(["export", str(p), "--onnx", str(out)], capsys)
    assert code == 2 and "float32" in err and err.count("\n") == 1
    assert not out.exists()


def test_import_onnx_round_trip(tree4, tmp_path, capsys):
    pytest.importorskip("onnx")
    onnx_path, back = tmp_path / "t.onnx", tmp_path / "back.json"
    assert run(["export", str(tree4), "--onnx", str(onnx_path)], capsys)[0] == 0
    code, out, _ = run(["import", str(onnx_path), "-o", str(back)], capsys)
    assert code == 0 and "9 ReLUs" in out
    assert check_equivalent(load_network(back), max_tree(4, "A")).status is Status.PROVED


def test_import_errors_are_one_line(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    from onnx import helper
    from tests.onnx_models import make_model, value_info
    m = make_model([helper.make_node("Tanh", ["x"], ["y"], name="t1")], [value_info("x", [1, 2])],
                   [value_info("y", [1, 2])], [])
    path = tmp_path / "tanh.onnx"
    onnx.save(m, path)
    out = tmp_path / "o.json"
    code, _, err = run(["import", str(path), "-o", str(out)], capsys)
    assert code == 2 and "Tanh" in err and "t1" in err and err.count("\n") == 1
    assert not out.exists()
    code, _, err = run(["import", str(tmp_path / "model.h5"), "-o", str(out)], capsys)
    assert code == 2 and err.count("\n") == 1


def test_import_torch_file(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.MaxPool2d(2), torch.nn.Flatten())
    path = tmp_path / "pool.pt"
    torch.save(model, path)
    out = tmp_path / "pool.json"
    code, _, _ = run(["import", str(path), "--input-shape", "1,2,4", "-o", str(out)], capsys)
    assert code == 0
    net = load_network(out)
    assert net.windows == ((0, 1, 4, 5), (2, 3, 6, 7))
    assert run(["exact", str(out)], capsys)[0] == 0  # a pure pooling model is max pooling


def test_gradient_command(tree4, tmp_path, capsys):
    code, out, _ = run(["gradient", str(tree4), "--box", "0,1"], capsys)
    assert code == 0 and out.startswith("PROVED")
    code, out, _ = run(["gradient", str(tree4), "--box=-1,1", "--autodiff", "0", "--json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["status"] == "REFUTED"
    from verify.analysis.gradients import autodiff_gradient
    x = [F(v) for v in data["witness"]]
    assert [F(v) for v in data["gradient"]] == list(autodiff_gradient(max_tree(4, "A"), x, s=0))


def test_console_entry_runs_as_module(tree4):
    # the module form used in the docs works end to end (one subprocess only)
    r = subprocess.run([sys.executable, "-m", "verify.cli", "ties", "--kernel", "1"], capture_output=True, text=True)
    assert r.returncode == 0


def test_gradient_regions_command(tmp_path, capsys):
    p = tmp_path / "t2.json"
    save_network(max_tree(2, "A"), p)
    code, out, _ = run(["gradient", str(p), "--box=-1,1", "--regions", "--json"], capsys)
    data = json.loads(out)
    # relu(a-b), relu(b), relu(-b): the signs of a - b and b cut the open square into 4 regions
    assert code == 0 and len(data["regions"]) == 4
    assert sorted(r["gradient"] for r in data["regions"]) == [["0", "1"], ["0", "1"], ["1", "0"], ["1", "0"]]
