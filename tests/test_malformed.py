"""Malformed inputs through the real CLI: one line on stderr, exit code 2, no traceback, no partial output.

Every file of ``tests/malformed/`` is run through ``info``, ``exact`` and ``error`` as a subprocess
(``python -m verify.cli``); the message must name the problem (a fragment listed in ``EXPECT``), and a
``--certificate`` file must be neither created nor, if it existed, touched. Bad box syntax, bad
timeouts, bad ``build`` arguments (including sizes refused by :mod:`verify.limits`) and malformed
certificates given to ``recheck`` are checked the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from verify.cli import main

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = Path(__file__).resolve().parent / "malformed"
SENTINEL = "pre-existing output: must stay untouched\n"

# file -> a fragment the one-line message must contain (what is wrong, and where when it is known)
EXPECT = {
    "bad_activation.json": "layer 1: activation must be 'relu' or 'linear'",
    "bad_json.json": "not valid JSON",
    "bad_windows.json": "window 1: invalid input index 5",
    "bias_length.json": "layer 1: bias has 1 entries, expected 2",
    "bool_weight.json": "layer 2, row 1, column 1: expected a number",
    "deep_nesting.json": "nested too deeply",
    "div_zero.json": "layer 2, row 1, column 1: zero denominator",
    "empty_file.json": "not valid JSON",
    "empty_layers.json": "layers must be a non-empty list",
    "empty_weights.json": "layer 1: weights must be a non-empty list",
    "graph_bad_op.json": "node 1 (s1): unknown op 'sigmoid'",
    "graph_bad_term.json": "node 1 (a1), term 1: must be an [id, weight] pair",
    "graph_cycle.json": "refers to unknown or later node 'a2'",
    "graph_duplicate_id.json": "node 2 (a1): duplicate id",
    "graph_empty_max.json": "node 1 (m1): 'in' of a max node",
    "graph_no_outputs.json": "outputs must be a non-empty list",
    "graph_nodes_not_list.json": "nodes must be a list",
    "graph_relu_two_inputs.json": "node 1 (r1)",
    "graph_self_loop.json": "refers to unknown or later node 'a1'",
    "graph_unknown_ref.json": "node 1 (a1), term 2: refers to unknown or later node 'zz'",
    "huge_exponent.json": "exponent too large",
    "huge_exponent_string.json": "layer 2, row 1, column 1: exponent too large",
    "huge_inputs.json": "inputs must be between 1 and",
    "huge_integer.json": "digits, more than the limit",
    "huge_integer_string.json": "layer 2, row 1, column 1: number with 5001 digits",
    "inf_string.json": "not a number: 'inf'",
    "infinity.json": "Infinity is not allowed",
    "last_layer_relu.json": "layer 2: the last layer must be linear",
    "mismatched_shapes.json": "layer 2, row 1: has 3 weights, expected 2",
    "missing_tag.json": "unknown format tag None",
    "nan.json": "NaN is not allowed",
    "nan_string.json": "not a number: 'nan'",
    "negative_inputs.json": "inputs must be between 1 and",
    "non_utf8.json": "not UTF-8",
    "null_weight.json": "layer 2, row 1, column 1: expected a number",
    "ragged_rows.json": "layer 1, row 2: has 1 weights, expected 2",
    "string_inputs.json": "inputs must be an integer",
    "top_level_array.json": "top level must be a JSON object",
    "truncated.json": "not valid JSON",
    "unknown_layer_key.json": "layer 1: unknown key(s) ['activaton']",
    "windows_count.json": "2 windows for 1 outputs",
    "wrong_tag.json": "unknown format tag 'relu-net/9'",
    "zero_inputs.json": "inputs must be between 1 and",
    # strict reading (issue 16): the same rules for both formats, one line naming the place
    "graph_relu_bias.json": "node 2 (r1): unknown key(s) ['bias'] (a relu node has id, op, in)",
    "graph_affine_weight.json": "node 1 (a1): unknown key(s) ['weight'] (an affine node has id, op, in, bias)",
    "graph_max_bias.json": "node 2 (m1): unknown key(s) ['bias'] (a max node has id, op, in)",
    "unknown_top_key.json": "top level: unknown key(s) ['output']",
    "duplicate_top_key.json": "top level: key 'inputs' is given twice",
    "duplicate_layer_key.json": "layer 2: key 'weights' is given twice",
    "graph_duplicate_key.json": "node 1: key 'bias' is given twice",
    "arabic_digit.json": "layer 2, row 1, column 1: not a number: '\u0661' (numbers are written with the ASCII digits",
    "fullwidth_digit.json": "layer 2, row 1, column 1: not a number: '\uff11/2'",
    "graph_arabic_digit.json": "node 1 (a1), bias: not a number: '\u0663'",
    "graph_reserved_output_id.json": "node 2 (y0): the id 'y0' is reserved for the outputs",
    "graph_reserved_input_id.json": "node 1 (x1): the id 'x1' is reserved for the inputs",
    "window_fraction_index.json": "window 1: invalid input index 3/2 (inputs are 0..1)",
    "graph_fraction_inputs.json": "inputs must be an integer, got 5/2",
}
CORPUS = sorted(p.name for p in CORPUS_DIR.glob("*.json"))


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "verify.cli", *map(str, args)], capture_output=True, env=env, timeout=120)


def assert_bad_input(proc, fragment: str | None = None):
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("verify: error: "), err
    assert proc.stdout == b"", proc.stdout
    if fragment is not None:
        assert fragment in lines[0], (fragment, lines[0])


def test_every_corpus_file_has_an_expected_message():
    assert set(CORPUS) == set(EXPECT)


COMMANDS = ("info", "exact", "error")


def _corpus_args(name: str, command: str, out: Path) -> list:
    args = [command, CORPUS_DIR / name]
    if command == "exact":  # a certificate file that exists already must stay as it was
        out.write_text(SENTINEL)
        args += ["--certificate", out]
    elif command == "error":  # one that does not exist must not be created
        args += ["--box", "0,1", "--certificate", out]
    return args


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory):
    """Every (file, command) run as its own CLI process; processes run a few at a time to save wall time."""
    jobs = {}
    for name in CORPUS:
        for command in COMMANDS:
            folder = tmp_path_factory.mktemp(f"{command}-{name}")
            jobs[name, command] = (folder, _corpus_args(name, command, folder / "cert.json"))
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        futures = {key: pool.submit(run, *args) for key, (folder, args) in jobs.items()}
        return {key: (f.result(), jobs[key][0]) for key, f in futures.items()}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", CORPUS)
def test_malformed_network(corpus_runs, name, command):
    proc, folder = corpus_runs[name, command]
    assert_bad_input(proc, EXPECT[name])
    out = folder / "cert.json"
    if command == "exact":
        assert out.read_text() == SENTINEL
    else:
        assert not out.exists()
    assert [p.name for p in folder.iterdir()] in ([], ["cert.json"])  # no temporary files left behind


@pytest.fixture(scope="module")
def good_net(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "tree.json"
    assert main(["build", "max-tree", "--d", "3", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("box, fragment", [
    ("0", "expected LO,HI"), ("1,0", "LO > HI"), ("a,b", "not a number"), ("0,1,2", "expected LO,HI"),
    ("0,inf", "not a number: 'inf'"), ("nan,1", "not a number: 'nan'"), ("1/0,1", "zero denominator"),
    ("", "expected LO,HI"), ("0,1e999999", "exponent too large"), (",1", "expected LO,HI"),
])
def test_bad_box(tmp_path, good_net, box, fragment):
    out = tmp_path / "cert.json"
    assert_bad_input(run("error", good_net, f"--box={box}", "--certificate", out), fragment)
    assert_bad_input(run("exact", good_net, f"--box={box}"), fragment)
    assert not out.exists()


@pytest.mark.parametrize("timeout", ["nan", "-1", "abc", "inf"])
def test_bad_timeout(good_net, timeout):
    assert_bad_input(run("exact", good_net, f"--timeout={timeout}"), "--timeout")


@pytest.mark.parametrize("args, fragment", [
    (["max-tree", "--d", "0"], "d must be a positive integer"),
    (["max-tree", "--d", "-3"], "d must be a positive integer"),
    (["max-tree", "--d", "abc"], "invalid int value"),
    (["max-tree"], "needs --d"),
    (["max-tree", "--d", "3", "--gadget", "Z"], "invalid choice"),
    (["max-tree", "--d", "100000000"], "max-tree d=100000000 gadget=A would have about 700,000,104 nodes"),
    (["max-chain", "--d", "5000"], "would have about"),
    (["mean", "--d", "100000000"], "would have about"),
    (["truncated-tree", "--d", "4", "--level", "-1"], "level must be a non-negative integer"),
    (["truncated-tree", "--d", "4"], "needs --level"),
    (["pool2d", "--height", "3", "--width", "3", "--kernel", "4"], "does not fit"),
    (["pool2d", "--height", "3", "--width", "3", "--kernel", "2", "--stride", "0"], "stride must be a positive integer"),
    (["pool2d", "--height", "100000", "--width", "100000", "--kernel", "2"], "pool2d 100000x100000 k=2 s=2 gadget=A would have about"),
])
def test_bad_build_leaves_an_existing_output_untouched(tmp_path, args, fragment):
    out = tmp_path / "net.json"
    out.write_text(SENTINEL)
    assert_bad_input(run("build", *args, "-o", out), fragment)
    assert out.read_text() == SENTINEL
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]
    out.unlink()
    assert_bad_input(run("build", *args, "-o", out), fragment)
    assert not out.exists()


def test_unwritable_outputs(tmp_path, good_net):
    missing = tmp_path / "no" / "such" / "dir"
    assert_bad_input(run("build", "max-tree", "--d", "3", "-o", missing / "net.json"), "cannot write")
    assert_bad_input(run("exact", good_net, "--certificate", missing / "c.json"), "cannot write certificate")


@pytest.mark.parametrize("text, fragment", [
    ("{", "not valid JSON"),
    ('{"format": "relu-net/1", "inputs": 1, "layers": []}', "not a certificate"),
    ('{"format": "verify-certificate/1", "query": "exact", "status": "UNKNOWN"}', "no certificate kind"),
    ('{"format": "verify-certificate/1", "query": "exact", "status": "PROVED"}', "missing 'network'"),
    ('{"format": "verify-certificate/1", "query": "error", "status": "PROVED", "network": {"format": "relu-net/1",'
     ' "inputs": 1, "layers": [{"weights": [[1]], "activation": "linear"}]}, "domain": {"kind": "box", "lo": ["0"],'
     ' "hi": ["x"]}}', "malformed domain"),
])
def test_malformed_certificate(tmp_path, text, fragment):
    path = tmp_path / "cert.json"
    path.write_text(text)
    assert_bad_input(run("recheck", path), fragment)


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    from verify.io import files

    target = tmp_path / "out.json"
    target.write_text(SENTINEL)

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        files.atomic_write_text(target, "partial")
    assert target.read_text() == SENTINEL
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
