"""A fuzz harness for the whole CLI (issue 16, item 6).

Random argument vectors and random file contents (tests/cli_cases.py) for EVERY command of
``verify.cli.COMMANDS``, each run as the program runs (a child forked from a preloaded server, stdout
and stderr captured at the file descriptors). Every run must: end with exit code 0-3 (an internal error,
4, is reported as a failure too: the harness exists to find them); print no traceback; print exactly
one line on stderr when it fails; end within ``--timeout`` plus the allowed overrun (10% or 2 s, plus a
second for the fork); leave no temporary file behind; and change nothing when it refuses (exit 2).

About 220 cases run here (8 per command, up to 25 for the query commands); ``-m slow`` adds 100 per
command. The soak of 10^4 cases is ``benchmarks/cli_soak.py``. Bugs found so far, each with its own
test, are in tests/test_fuzz_findings.py.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .cli_cases import DataPicker, check_outcome, command_names, make_case, make_pool, run_case

COMMANDS = command_names()
# Commands whose inputs are networks and boxes get more cases; the others a few each.
MORE = {"exact": 25, "error": 25, "regions": 15, "export": 15, "info": 12, "gradient": 12, "recheck": 12,
        "build": 12, "sympy": 10, "import": 10, "one-hidden": 10}
FEW = 8


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    pool = make_pool(tmp_path_factory.mktemp("pool"), seed=16)
    before = pool.fingerprint()
    yield pool
    assert pool.fingerprint() == before, "a case changed a file of the input pool"


def _report(outcome, problems) -> str:
    return (f"{', '.join(problems)}\n  argv: verify {' '.join(repr(a) if ' ' in a or not a else a for a in outcome.case.argv)}"
            f"\n  exit {outcome.code} after {outcome.seconds:.2f} s\n  stderr: {outcome.stderr[-800:]!r}")


def _fuzz(pool, tmp_path_factory, data, command):
    case_dir = tmp_path_factory.mktemp("case")
    try:
        case = make_case(DataPicker(data), pool, case_dir, command)
        outcome = run_case(case)
        problems = check_outcome(outcome)
        assert not problems, _report(outcome, problems)
    finally:
        shutil.rmtree(case_dir, ignore_errors=True)


def test_every_command_is_fuzzed():
    from verify.cli import COMMANDS as MODULES

    assert len(COMMANDS) == len(MODULES) and {"exact", "error", "export", "sweep", "import"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_fuzz(pool, tmp_path_factory, command):
    @settings(max_examples=MORE.get(command, FEW), deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        _fuzz(pool, tmp_path_factory, data, command)

    run()


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("VERIFY_FUZZ_MORE"), reason="set VERIFY_FUZZ_MORE=1 (about 2000 cases)")
@pytest.mark.parametrize("command", COMMANDS)
def test_cli_fuzz_more(pool, tmp_path_factory, command):
    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        _fuzz(pool, tmp_path_factory, data, command)

    run()


def test_the_checks_can_fail(tmp_path):
    """The harness's own checks are not vacuous: each promise, broken on purpose, is caught."""
    from .cli_cases import Case, Outcome

    case = Case(["error", "x.json"], tmp_path, 1.0)
    ok = Outcome(case, 2, 0.5, "", "verify: error: x.json: no such file\n", {}, {})
    assert check_outcome(ok) == []
    bad = [
        (Outcome(case, 1, 0.5, "", "Traceback (most recent call last):\n  ...\nOverflowError\n", {}, {}), "traceback"),
        (Outcome(case, 2, 0.5, "", "verify: error: one\nverify: error: two\n", {}, {}), "2 lines on stderr"),
        (Outcome(case, 4, 0.5, "", "verify: internal error: ...\n", {}, {}), "internal error"),
        (Outcome(case, 3, 9.0, "", "verify: unknown: ...\n", {}, {}), "overrun"),
        (Outcome(case, None, 9.0, "", "", {}, {}), "overrun (killed)"),
        (Outcome(case, 2, 0.5, "", "verify: error: x\n", {}, {str(tmp_path / "out.json"): ("file", b"{")}), "output written"),
        (Outcome(case, 0, 0.5, "", "", {}, {str(tmp_path / ".out.json.abc.tmp"): ("file", b"")}), "partial file"),
        (Outcome(case, 7, 0.5, "", "x\n", {}, {}), "exit code 7"),
    ]
    hung = Outcome(Case(["info", "x.json"], tmp_path, None, False), None, 61.0, "", "", {}, {})
    bad.append((hung, "hung"))
    # a command that has --timeout, run without one, may take as long as its work (killed at the cap)
    assert check_outcome(Outcome(Case(["search", "--max", "5"], tmp_path, None, True), None, 61.0, "", "", {}, {})) == []
    for outcome, fragment in bad:
        assert any(fragment in p for p in check_outcome(outcome)), (fragment, check_outcome(outcome))
