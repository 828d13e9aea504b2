"""Correctness fixes found while reshaping the code (issue 12), one test each.

Each test failed before its fix: a toolkit bug exited with the bad-input code 2; an UNKNOWN tree proof
read as FAIL; z3's ``unknown`` on a vertex question was reported as a toolkit bug; the MILP search
dropped an exactly better point on a float estimate and wrote an unattained sentinel into its
incumbent; the fuzz harness skipped its extra checks on the first case; interval bounds raised a bare
ValueError; ``verify prove --json`` to an unwritable path crashed with a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest

from verify.backends.evaluator import evaluate
from verify.cli import main
from verify.constructions import max_tree
from verify.domain import Box, RealSpace
from verify.errors import ToolkitBugError, VerifyError
from verify.io.json_format import save_network
from verify.ir import GraphBuilder
from verify.status import Status

ROOT = Path(__file__).resolve().parents[1]


def test_a_toolkit_bug_exits_with_its_own_code_and_asks_for_a_report(tmp_path, monkeypatch, capsys):
    import verify.commands.info as info

    path = tmp_path / "tree.json"
    save_network(max_tree(2), path)

    def broken(net):
        raise ToolkitBugError("an internal check failed")

    monkeypatch.setattr(info, "describe", broken)
    assert main(["info", str(path)]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "an internal check failed" in err[0] and "report" in err[0]
    # bad input still exits with 2
    assert main(["info", str(tmp_path / "missing.json")]) == 2


def test_an_unknown_tree_proof_is_unknown_not_fail(monkeypatch):
    import verify.bounds.claims_trees as trees
    from verify.analysis.results import ExactnessResult
    from verify.bounds.catalogue import Outcome, all_claims, run_claim

    def gives_up(net, domain=None, **kw):
        return ExactnessResult(Status.UNKNOWN, RealSpace(net.n_inputs), 0.0, reason="timeout")

    monkeypatch.setattr(trees, "check_exact", gives_up)
    claim = next(c for c in all_claims() if c.id == "trees.chain.skip")
    r = run_claim(claim)
    assert r.outcome is Outcome.UNKNOWN, (r.outcome, r.computed)


def test_z3_unknown_on_a_vertex_question_is_unknown_not_a_toolkit_bug(monkeypatch):
    from verify.analysis.max5 import polytope_vertices
    from verify.backends import z3_session
    from verify.errors import SolverUnknownError

    def unknown(self, point_of=None):
        return z3_session.Z3Answer(Status.UNKNOWN, reason="canceled", timed_out=True)

    monkeypatch.setattr(z3_session.Z3Solver, "check", unknown)
    with pytest.raises(SolverUnknownError) as info:
        polytope_vertices([(2, 0, 0, 0, 0), (0, 2, 0, 0, 0), (1, 1, 0, 0, 0)], method="z3")
    assert not isinstance(info.value, ToolkitBugError)


def _cancelling_net():
    """``relu(2^60 x + 1) - 2^60 x`` on [0, 1]: exactly 1 everywhere, 0 in floats at x = 1."""
    b = GraphBuilder(1)
    (x,) = b.input_exprs()
    big = Fraction(2 ** 60)
    b.output(b.relu(x * big + 1) - x * big)
    return b.build()


def test_milp_offer_keeps_a_point_that_is_exactly_better_than_its_float_estimate():
    from verify.backends.milp import _Search
    from verify.deadline import Deadline

    net = _cancelling_net()
    assert evaluate(net, [1]) == (1,)
    s = _Search(net, Box.cube(1), (), Deadline(None), Fraction(1, 2), None, {})
    assert s.offer((Fraction(1),)) is True  # exact value 1 beats the floor 1/2 (floats say 0)
    assert s.best_x == (Fraction(1),)


def test_milp_incumbent_is_always_attained(monkeypatch):
    # Constraints that no candidate point satisfies exactly (x0 + x1 = c with a denominator above the
    # rationalisation's 2^24): the search reaches a z3 leaf before it has any point. The incumbent must
    # then be empty, never a value that no point attains.
    import verify.backends.milp as milp

    b = GraphBuilder(2)
    x0, x1 = b.input_exprs()
    b.output(b.relu(x0) + x1)
    net = b.build()
    c = Fraction(1234567, 16777259)
    constraints = [({0: Fraction(1), 1: Fraction(1)}, c), ({0: Fraction(-1), 1: Fraction(-1)}, -c)]
    seen = []
    original = milp._Search.z3_leaf

    def spy(self, *args):
        seen.append((self.best, self.best_x))
        return original(self, *args)

    monkeypatch.setattr(milp._Search, "z3_leaf", spy)
    r = milp.maximize(net, Box.cube(2), constraints, samples=16)
    assert seen, "the search never reached a z3 leaf (the test no longer exercises the empty incumbent)"
    for best, best_x in seen:
        assert best is None or (best_x is not None and evaluate(net, best_x)[0] == best)
    assert r.status is Status.PROVED and r.value == c and r.witness[0] + r.witness[1] == c


def test_fuzz_harness_runs_its_extra_checks_from_the_first_case():
    code = textwrap.dedent("""
        import verify.testing as T
        calls = []
        original = T.EXTRA_CHECKS["regions"] if "regions" in T.EXTRA_CHECKS else T._check_regions
        def counting(case):
            calls.append(1)
            return original(case)
        T.EXTRA_CHECKS["regions"] = counting
        T._check_regions = counting
        T.run_case(0, seed=0, timeout=10)   # case 0 is an "evaluators" case: extra checks run there
        print("CALLS", len(calls))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert "CALLS 1" in out.stdout, out.stdout + out.stderr


def test_interval_bounds_of_a_wrong_box_is_a_verify_error():
    from verify.backends.intervals import interval_bounds

    with pytest.raises(VerifyError, match="dimension"):
        interval_bounds(max_tree(2), Box.cube(3))


def test_prove_json_to_an_unwritable_path_is_bad_input(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "dir" / "out.json"
    assert main(["prove", "--only", "gradients.passthrough", "--no-snapshot", "--json", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(target) in err[0]
    assert not target.exists()
