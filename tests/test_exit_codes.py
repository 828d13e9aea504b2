"""Exit codes mean what they say (issue 16, item 1): an exception that is not a verdict nor a usage
error is one line on stderr naming the command and the file, exit code 4 (a bug in verify), never 1
(REFUTED) and never a traceback unless ``--debug``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verify.cli import COMMANDS, EXIT_BUG, main

ROOT = Path(__file__).resolve().parents[1]


def _crashing(exc):
    def run(args):
        raise exc

    return run


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "m.json"
    assert main(["build", "mean", "--d", "3", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("exc, text", [
    (OverflowError("integer division result too large for a float"), "OverflowError: integer division result"),
    (ZeroDivisionError("division by zero"), "ZeroDivisionError: division by zero"),
    (KeyError("a1_0"), "KeyError: 'a1_0'"),
    (MemoryError(), "out of memory"),
    (RecursionError("maximum recursion depth exceeded"), "recursion too deep"),
])
def test_unexpected_exception_is_one_line_and_exit_4(monkeypatch, capsys, net, exc, text):
    module = importlib.import_module("verify.commands.error")
    monkeypatch.setattr(module, "run", _crashing(exc))
    code = main(["error", str(net), "--box", "0,1"])
    err = capsys.readouterr().err
    assert code == EXIT_BUG == 4
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith(f"verify: internal error: verify error on {net}: "), lines[0]
    assert text in lines[0] and "Traceback" not in err and "report" in lines[0]


def test_debug_shows_the_traceback_and_keeps_the_code(monkeypatch, capsys, net):
    module = importlib.import_module("verify.commands.info")
    monkeypatch.setattr(module, "run", _crashing(ValueError("boom")))
    for argv in (["--debug", "info", str(net)], ["info", str(net), "--debug"]):
        assert main(argv) == EXIT_BUG
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err and "ValueError: boom" in err
        assert err.strip().splitlines()[-1].startswith("verify: internal error: verify info on")


def test_verify_errors_keep_their_codes_with_debug(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["info", str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["--debug", "info", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_every_command_names_its_input_in_an_internal_error(monkeypatch, capsys, net, tmp_path):
    """Every registered command goes through the handler (the file is named where there is one)."""
    argvs = {"build": ["build", "mean", "--d", "2", "-o", str(tmp_path / "o.json")],
             "info": ["info", str(net)], "exact": ["exact", str(net)],
             "error": ["error", str(net), "--box", "0,1"], "prove": ["prove", "--list"],
             "optimal": ["optimal", "--d", "3", "--R", "0,1"], "tradeoff": ["tradeoff", "--d", "3"],
             "images": ["images"], "one_hidden": ["one-hidden", str(net)],
             "import_": ["import", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "i.json")],
             "export": ["export", str(net), "--smtlib", str(tmp_path / "q.smt2")],
             "sympy_cmd": ["sympy", str(net)], "ties": ["ties", "--kernel", "2"],
             "gradient": ["gradient", str(net), "--box", "0,1"], "recheck": ["recheck", str(net)],
             "regions": ["regions", str(net), "--box", "0,1"], "sweep": ["sweep", str(tmp_path / "g.toml")]}
    for name in COMMANDS:
        if name not in argvs:  # a command added later: covered by the fuzz harness instead
            continue
        module = importlib.import_module(f"verify.commands.{name}")
        monkeypatch.setattr(module, "run", _crashing(RuntimeError("injected")))
        assert main(argvs[name]) == EXIT_BUG, name
        line = capsys.readouterr().err.strip()
        assert "\n" not in line and "RuntimeError: injected" in line, (name, line)
        if name in ("info", "exact", "error", "one_hidden", "import_", "export", "sympy_cmd", "gradient",
                    "recheck", "regions", "sweep"):
            assert f" on {argvs[name][1]}: " in line, (name, line)


def test_overflow_in_a_subprocess_is_never_exit_1(tmp_path):
    """Before issue 16 a weight 1e400 gave a traceback and exit code 1 (REFUTED). Now no traceback and
    a code that is not 1, whatever route handles it."""
    net = tmp_path / "big.json"
    net.write_text('{"format": "relu-net/1", "inputs": 2, "layers": [{"weights": [[1, -1], ["1e400", "1/3"]], '
                   '"activation": "relu"}, {"weights": [[2, "-0.5"]], "activation": "linear"}]}')
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "error", str(net), "--box", "0,1", "--backend", "milp"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode not in (1,), proc
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") <= 1, proc.stderr
