"""The `verify` command: exit codes, JSON keys, one-line errors, no partial outputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verify.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True, env=env, timeout=300)


def test_build_exact_error_info(tmp_path, capsys):
    net = tmp_path / "t.json"
    assert main(["build", "max-tree", "--d", "5", "--gadget", "B", "-o", str(net)]) == 0
    assert main(["exact", str(net), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert out["status"] == "PROVED" and out["domain"] == {"kind": "reals", "dim": 5}
    assert set(out) >= {"status", "counterexample", "domain", "seconds"}
    assert main(["info", str(net), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["hidden_layers"] == 3 and info["inputs"] == 5 and info["weight_denominators"] == [1, 2]


def test_error_json_keys_and_exact_strings(tmp_path, capsys):
    net = tmp_path / "m.json"
    main(["build", "mean", "--d", "3", "-o", str(net)])
    capsys.readouterr()
    assert main(["error", str(net), "--box", "0,1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sup_under"] == "2/3" and out["sup_over"] == "0" and out["sup_abs"] == "2/3"
    assert set(out) >= {"sup_over", "sup_under", "sup_abs", "witness_over", "witness_under", "seconds"}


def test_refuted_exit_code_and_unknown_exit_code(tmp_path):
    net = tmp_path / "m.json"
    assert run("build", "truncated-tree", "--d", "4", "--level", "1", "-o", str(net)).returncode == 0
    assert run("exact", str(net)).returncode == 1
    big = tmp_path / "big.json"
    run("build", "max-tree", "--d", "24", "--gadget", "B", "-o", str(big))
    assert run("exact", str(big), "--timeout", "0").returncode == 3


@pytest.mark.parametrize(
    "args",
    [
        ["exact", "{missing}"],
        ["exact", "{bad}"],
        ["error", "{good}", "--box", "1,0"],
        ["error", "{good}", "--box", "0,inf"],
        ["error", "{good}", "--box", "0"],
        ["error", "{good}"],
        ["build", "max-tree", "-o", "{out}"],
        ["build", "max-tree", "--d", "0", "-o", "{out}"],
        ["frobnicate"],
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args):
    good = tmp_path / "good.json"
    main(["build", "max-tree", "--d", "2", "-o", str(good)])
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "relu-net/1", "inputs": 2, "layers": [{"weights": [[1, 2], [3]], "activation": "relu"}]}')
    out = tmp_path / "out.json"
    names = {"missing": tmp_path / "nope.json", "bad": bad, "good": good, "out": out}
    proc = run(*[a.format(**names) for a in args])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert not out.exists()


def test_negative_box_ends_are_values_not_options(tmp_path, capsys):
    net = tmp_path / "m.json"
    main(["build", "mean", "--d", "3", "-o", str(net)])
    capsys.readouterr()
    assert main(["error", str(net), "--box", "-1,1", "--json"]) == 0
    # mean of 3 on [-1,1]^3: max - mean is largest at (1,-1,-1): 1 - (-1/3) = 4/3
    assert json.loads(capsys.readouterr().out)["sup_under"] == "4/3"


def test_milp_backend_json_output_is_clean_json(tmp_path):
    # HiGHS prints a banner on C-level stdout the first time it is created; --json must stay parseable.
    net = tmp_path / "m.json"
    run("build", "mean", "--d", "3", "-o", str(net))
    proc = run("error", str(net), "--box", "0,1", "--backend", "milp", "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["sup_under"] == "2/3"
