"""The theorem catalogue: formulas on hand-computed cases, loud failures, `verify prove` exit codes."""

import json
import random
from fractions import Fraction

import pytest

from verify.analysis import Status, check_exact
from verify.backends.evaluator import evaluate
from verify.bounds import catalogue
from verify.bounds.catalogue import Claim, Computed, Outcome, compare_snapshot, run_claim
from verify.bounds.citations import source
from verify.bounds.claims_depth import load_max5
from verify.bounds.depth import (
    arora_cpwl_depth,
    averkov_decimal_lower_bound,
    bakaev_upper_bound,
    ceil_log,
    check_depth_consistency,
    haase_integer_lower_bound,
    is_decimal_fraction,
    tree_depth,
)
from verify.cli import main
from verify.errors import ToolkitBugError
from verify.io import loads_network, network_to_mapping


def test_depth_formulas_on_hand_computed_cases():
    assert [ceil_log(n, 2) for n in (1, 2, 3, 4, 5, 8, 9)] == [0, 1, 2, 2, 3, 3, 4]
    assert [ceil_log(n, 3) for n in (1, 3, 4, 9, 10, 27, 28)] == [0, 1, 2, 2, 3, 3, 4]
    assert tree_depth(9) == 4 and arora_cpwl_depth(3) == 2 and arora_cpwl_depth(4) == 3
    assert haase_integer_lower_bound(5) == 3 and averkov_decimal_lower_bound(5) == 2
    # Bakaev et al.: ceil(log3(n-2)) + 1: n=4 -> 2, n=5 -> 2, n=11 -> 3, n=12 -> 4.
    assert [bakaev_upper_bound(n) for n in (4, 5, 11, 12)] == [2, 2, 3, 4]
    assert is_decimal_fraction(Fraction(1, 20)) and is_decimal_fraction(Fraction(-3, 2))
    assert not is_decimal_fraction(Fraction(1, 6))


def test_proof_below_a_depth_lower_bound_fails_loudly():
    with pytest.raises(ToolkitBugError):
        check_depth_consistency(2, [Fraction(1), Fraction(-1)], 5)  # integer weights need 3 for MAX_5
    with pytest.raises(ToolkitBugError):
        check_depth_consistency(1, [Fraction(1, 7)], 3)  # one hidden layer cannot compute MAX_3
    with pytest.raises(ToolkitBugError):
        check_depth_consistency(2, [Fraction(1, 2)], 10)  # decimal weights need ceil(log3 10) = 3
    check_depth_consistency(2, [Fraction(1, 6)], 5)  # non-decimal weights: only the MAX_3 bound applies


def test_broken_max5_network_is_refuted_with_confirmed_counterexample():
    data = network_to_mapping(load_max5())
    rng = random.Random(5)
    layer = data["layers"][1]
    r = rng.randrange(len(layer["weights"]))
    c = next(k for k, w in enumerate(layer["weights"][r]) if w != "0")
    w = Fraction(layer["weights"][r][c]) + Fraction(1, 1000)
    layer["weights"][r][c] = f"{w.numerator}/{w.denominator}"
    broken = loads_network(json.dumps(data))
    result = check_exact(broken, timeout=300)
    assert result.status is Status.REFUTED
    x = result.counterexample
    assert evaluate(broken, x)[0] != max(x)


def test_max5_network_agrees_with_max_on_the_cube_lattice():
    # Exact evaluation on {-1,0,1}^5 (243 points), independent of any solver.
    import itertools

    net = load_max5()
    for x in itertools.product((-1, 0, 1), repeat=5):
        assert evaluate(net, x) == (max(x),)


def _fake(expected: str, value: str, id="test.fake"):
    return Claim(id, "test", "a test claim", source("project"), "none", lambda: expected, lambda: Computed(value, {"k": value}))


def test_claim_outcomes_and_snapshot_drift():
    assert run_claim(_fake("1/2", "1/2")).outcome is Outcome.PASS
    assert run_claim(_fake("1/2", "1/3")).outcome is Outcome.FAIL
    snap = {"test.fake": {"computed": "1/2", "detail": {"k": "1/4"}}}
    r = run_claim(_fake("1/2", "1/2"), snap)
    assert r.outcome is Outcome.FAIL and "drift" in r.note
    assert compare_snapshot({"computed": "1/2", "detail": {"k": "1/2"}}, Computed("1/2", {"k": "1/2"})) == ""


def test_prove_exits_1_when_an_entry_fails(monkeypatch, capsys):
    catalogue.all_claims()
    monkeypatch.setitem(catalogue._REGISTRY, "test.fail", _fake("2", "3", id="test.fail"))
    assert main(["prove", "--only", "test.fail", "--no-snapshot"]) == 1
    assert "FAILED test.fail" in capsys.readouterr().out


def test_prove_runs_a_family_and_matches_the_snapshot(tmp_path, capsys):
    md = tmp_path / "out.md"
    js = tmp_path / "out.json"
    assert main(["prove", "--only", "depth", "--only", "errors", "--markdown", str(md), "--json", str(js)]) == 0
    rows = json.loads(js.read_text())
    assert rows and all(r["status"] == "PASS" for r in rows)
    assert "| claim | statement | source |" in md.read_text()


def test_unknown_claim_id_is_a_usage_error(capsys):
    assert main(["prove", "--only", "no.such.claim"]) == 2


@pytest.mark.parametrize("script", ["prove_gradients.py", "prove_max5.py", "prove_one_hidden.py"])
def test_proof_scripts_run_and_exit_zero(script):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, script], cwd=root / "proofs", capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failed" in proc.stdout
