"""Deadlines everywhere (issue 16, item 4): ``--timeout T`` ends a command by T plus 10% or 2 s.

The promise is about wall time, so the subprocess checks measure it; the start-up of the interpreter
(measured on the spot with ``verify --version``) is not part of it. A network of 3000 inputs with
float32 weights was enough to break it before: ``error --timeout 3`` took 15 s with z3 (exact
evaluation of start points with unrelated denominators) and more than a minute with the MILP backend
(a quadratic sum while building the difference network). Also checked: the pieces behind the promise
(Deadline.check, the walker's check, the backstops) and that the faster code computes the same values.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from verify.cli import main
from verify.deadline import Deadline


def allowed_overrun(timeout: float) -> float:
    """The promise of docs/reliability.md, written out here independently of the code."""
    return max(0.1 * timeout, 2.0)

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _startup() -> float:
    t = time.monotonic()
    subprocess.run([sys.executable, "-m", "verify.cli", "--version"], capture_output=True, env=ENV, timeout=60)
    return time.monotonic() - t


def _timed(*argv, preexec=None, code=None):
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "verify.cli", *map(str, argv)]
    t = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300, preexec_fn=preexec)
    return proc, time.monotonic() - t


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A 3000-8-1 network with float32 weights written as numpy's shortest decimal text (fixed seed)."""
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(1)
    w1 = (rng.standard_normal((8, 3000)) * np.sqrt(2.0 / 3000)).astype(np.float32)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((1, 8)) * 0.5).astype(np.float32)
    data = {"format": "relu-net/1", "inputs": 3000,
            "layers": [{"weights": [[repr(float(v)) for v in r] for r in w1], "bias": [repr(float(v)) for v in b1],
                        "activation": "relu"},
                       {"weights": [[repr(float(v)) for v in r] for r in w2], "activation": "linear"}]}
    path = tmp_path_factory.mktemp("wide") / "wide.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("backend", ["z3", "milp", "auto"])
def test_a_wide_network_ends_within_its_timeout(wide, backend):
    startup = _startup()
    proc, seconds = _timed("error", wide, "--box", "0,1", "--timeout", "3", "--backend", backend, "--json")
    assert seconds - startup <= 3 + allowed_overrun(3), (seconds, startup, proc.stderr)
    assert proc.returncode in (0, 3) and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") <= 1
    if backend == "auto" and proc.returncode == 3 and not proc.stdout:
        # since the merge of the engine route, auto can reach the end of 3 s with nothing found yet:
        # then the one line says so (reported as a regression to look at, docs/reliability.md)
        assert proc.stderr.strip() == "verify: unknown: the time limit of 3 s ran out", proc.stderr
        return
    out = json.loads(proc.stdout)
    # whatever the time allowed, the values reported are attained at their witnesses (exact evaluation)
    from verify.backends.evaluator import evaluate
    from verify.io.json_format import load_network

    net = load_network(wide)
    for side in ("over", "under"):
        x = [Fraction(v) for v in out[f"witness_{side}"]]
        e = evaluate(net, x)[0] - max(x)
        assert (e if side == "over" else -e) == Fraction(out[f"sup_{side}"])
        if out["status"] == "UNKNOWN" and out[f"upper_{side}"] is not None:
            assert Fraction(out[f"upper_{side}"]) >= Fraction(out[f"sup_{side}"])


def test_exact_on_a_wide_network_ends_within_its_timeout(wide):
    startup = _startup()
    proc, seconds = _timed("exact", wide, "--box", "0,1", "--timeout", "2")
    assert seconds - startup <= 2 + allowed_overrun(2), (seconds, startup, proc.stderr)
    assert proc.returncode in (1, 3), proc.stderr


# -- the pieces ------------------------------------------------------------------------------------------
def test_deadline_check_names_what_ran_out():
    from verify.errors import DeadlineExpired

    Deadline(None).check("anything")
    Deadline(60).check("anything")
    with pytest.raises(DeadlineExpired, match="the time limit of 0 s ran out while building the z3 query"):
        Deadline(0).check("building the z3 query")
    d = Deadline(5, start=time.monotonic() - 10)  # a deadline started earlier (the command's start)
    assert d.expired() and d.remaining() == 0


def test_the_walker_checks_the_deadline_between_nodes():
    from verify.errors import DeadlineExpired
    from verify.backends.evaluator import EXACT_HANDLERS
    from verify.constructions import max_tree
    from verify.ir.walk import walk

    net = max_tree(9)
    x = [Fraction(i) for i in range(9)]
    assert walk(net, EXACT_HANDLERS, x, deadline=Deadline(60))[net.outputs[0]] == 8
    with pytest.raises(DeadlineExpired, match="walking the network"):
        walk(net, EXACT_HANDLERS, x, deadline=Deadline(0))


def test_an_expired_query_still_reports_what_it_knows():
    """With no time at all, both sides of a worst-case query still give an exact value attained at a
    witness (the box centre at least) and, for a small network, sound upper bounds."""
    from verify.analysis.worst_case import worst_case_error
    from verify.backends.evaluator import evaluate
    from verify.constructions.random_nets import random_relu_network
    from verify.domain import Box

    net = random_relu_network([5, 12, 12, 1], seed=4)
    for backend in ("z3", "milp", "auto"):
        r = worst_case_error(net, Box.cube(5), timeout=0, backend=backend)
        assert r.status.value == "UNKNOWN"
        y, m = evaluate(net, r.witness_under)[0], max(r.witness_under)
        assert m - y == r.sup_under
        if r.upper_under is not None:
            assert r.upper_under >= r.sup_under


def test_the_alarm_stops_a_loop_without_checks(monkeypatch, capsys, tmp_path):
    """A pure-Python loop that never checks the deadline is stopped by SIGALRM at T + alarm_after(T)."""
    from verify.cli import alarm_after
    import verify.commands.error as error_cmd

    def spin(*args, **kwargs):
        while True:
            sum(range(1000))

    monkeypatch.setattr(error_cmd, "worst_case_error", spin)
    net = tmp_path / "m.json"
    assert main(["build", "mean", "--d", "2", "-o", str(net)]) == 0
    capsys.readouterr()
    t = time.monotonic()
    assert main(["error", str(net), "--box", "0,1", "--timeout", "0.5"]) == 3
    assert time.monotonic() - t <= 0.5 + alarm_after(0.5) + 1.0
    err = capsys.readouterr().err
    assert err.strip() == "verify: unknown: the time limit of 0.5 s ran out"
    import signal

    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler, None) or \
        not getattr(signal.getsignal(signal.SIGALRM), "__qualname__", "").startswith("_Backstops")


def test_the_alarm_never_fires_inside_a_finalizer(monkeypatch, capsys, tmp_path):
    """was: the alarm raised inside z3's Context.__del__ (run by the garbage collector), which Python
    prints as "Exception ignored in ..." with a traceback (seen on `exact` with 10^4 inputs). Here half
    of the loop is spent inside finalizers: the alarm waits until one is done, then stops the loop."""
    import verify.commands.error as error_cmd

    class Slow:
        def __del__(self):
            t = time.monotonic()
            while time.monotonic() - t < 0.02:
                sum(range(1000))

    def churn(*args, **kwargs):
        while True:
            Slow()  # freed at once: its __del__ runs here
            t = time.monotonic()
            while time.monotonic() - t < 0.02:
                sum(range(1000))

    monkeypatch.setattr(error_cmd, "worst_case_error", churn)
    net = tmp_path / "m.json"
    assert main(["build", "mean", "--d", "2", "-o", str(net)]) == 0
    capsys.readouterr()
    assert main(["error", str(net), "--box", "0,1", "--timeout", "0.5"]) == 3
    err = capsys.readouterr().err
    assert err.strip() == "verify: unknown: the time limit of 0.5 s ran out", err


HARD = r"""
import ctypes, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])  # the alarm cannot help: only the hard exit can
import verify.commands.error as error_cmd
from verify.io import files
libc = ctypes.CDLL(None)

def stuck(*args, **kwargs):
    files._PENDING.add(sys.argv[1] + ".partial")  # a write in progress
    open(sys.argv[1] + ".partial", "w").write("half")
    libc.sleep(60)  # a C call that holds on (the GIL is released, as in z3 or HiGHS)

error_cmd.worst_case_error = stuck
sys.argv = ["verify", "error", sys.argv[2], "--box", "0,1", "--timeout", "1"]
from verify.cli import main
sys.exit(main())
"""


def test_the_hard_exit_stops_a_stuck_c_call(tmp_path):
    net = tmp_path / "m.json"
    assert main(["build", "mean", "--d", "2", "-o", str(net)]) == 0
    startup = _startup()
    out = tmp_path / "out"
    proc, seconds = _timed(code=HARD.replace("sys.argv[1]", repr(str(out))).replace("sys.argv[2]", repr(str(net))))
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip() == "verify: unknown: the time limit of 1 s ran out (stopped)"
    assert seconds - startup <= 1 + allowed_overrun(1)
    assert not (tmp_path / "out.partial").exists()  # the temporary file of the write is removed


HOLDING_GIL = r"""
import ctypes, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
import verify.commands.error as error_cmd
from verify.io import files
python_api = ctypes.PyDLL(None)  # calls through PyDLL keep the GIL: no Python thread can run meanwhile

def stuck(*args, **kwargs):
    open(TMP, "w").write("half")  # a write in progress, named as the atomic writer names it
    python_api.sleep(60)  # like a long flint or gmpy call

error_cmd.worst_case_error = stuck
sys.argv = ["verify", "error", NET, "--box", "0,1", "--timeout", "1", "--certificate", OUT]
from verify.cli import main
sys.exit(main())
"""


def test_the_watchdog_stops_a_c_call_that_holds_the_gil(tmp_path):
    """The timer thread cannot run while a C call holds the GIL (seen: flint's rank in `verify search
    --max 5 --timeout 5` ended after 42 s); the watchdog process ends the command anyway, with exit
    code 3, one line, and the temporary file of the write removed."""
    net = tmp_path / "m.json"
    assert main(["build", "mean", "--d", "2", "-o", str(net)]) == 0
    startup = _startup()
    out, tmp = tmp_path / "c.json", tmp_path / ".c.json.abc123.tmp"
    code = HOLDING_GIL.replace("TMP", repr(str(tmp))).replace("NET", repr(str(net))).replace("OUT", repr(str(out)))
    proc, seconds = _timed(code=code)
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    assert proc.stderr.strip() == "verify: unknown: the time limit of 1 s ran out (stopped)"
    assert seconds - startup <= 1 + allowed_overrun(1)
    assert not tmp.exists() and not out.exists()


def test_the_watchdog_is_gone_after_a_normal_end(tmp_path):
    """A command that ends in time leaves no watchdog behind (it is killed and reaped)."""
    code = ("import os, sys\nfrom verify.cli import main\nsys.argv = ['verify', 'optimal', '--d', '3', '--R', '0,1', "
            "'--timeout', '30']\nc = main()\nprint(sorted(os.listdir('/proc/self/task')) and "
            "len([p for p in os.listdir('/proc') if p.isdigit() and open(f'/proc/{p}/stat').read().split()[3] == "
            "str(os.getpid())]))\nsys.exit(c)")
    proc, seconds = _timed(code=code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0"  # no child process left


# -- the faster code computes the same values ---------------------------------------------------------------
def test_wide_sums_are_exact():
    from verify.backends.evaluator import _wide_sum

    rng = random.Random(3)
    for _ in range(50):
        products = [(Fraction(rng.randint(-10**9, 10**9), rng.choice([1, 3, 2**30, 10**12])),
                     Fraction(rng.randint(-99, 99), rng.randint(1, 99))) for _ in range(rng.randint(1, 80))]
        bias = Fraction(rng.randint(-5, 5), rng.randint(1, 7))
        assert _wide_sum(bias, products) == bias + sum(w * v for w, v in products)


def test_expr_sum_is_the_sum():
    from verify.ir.builder import Expr

    exprs = [Expr({f"n{i % 7}": Fraction(i, 3)}, Fraction(1, i + 1), level=i % 4) for i in range(40)] + [Fraction(1, 2)]
    total = Expr.sum(exprs)
    assert total.const == sum(Fraction(1, i + 1) for i in range(40)) + Fraction(1, 2)
    assert total.coef == {f"n{k}": sum(Fraction(i, 3) for i in range(40) if i % 7 == k) for k in range(7)
                          if any(i % 7 == k and i for i in range(40))}
    assert total.level == 3


def test_wide_z3_terms_are_the_narrow_ones(monkeypatch):
    """The C-API path of wide affine nodes builds the same function: z3 proves the two lowerings equal
    and both agree with exact evaluation at a point."""
    from verify.backends import z3_backend
    from verify.backends.evaluator import evaluate
    from verify.backends.z3_session import Z3Session
    from verify.constructions.random_nets import random_relu_network

    net = random_relu_network([300, 6, 3, 1], seed=2)
    session = Z3Session()
    xs = session.reals(300)
    monkeypatch.setattr(z3_backend, "WIDE_AFFINE", 1)
    wide = z3_backend.Z3Lowering(net, xs, prefix="w")
    monkeypatch.setattr(z3_backend, "WIDE_AFFINE", 10**9)
    narrow = z3_backend.Z3Lowering(net, xs, prefix="n")
    s = session.solver()
    s.add(*wide.side, *narrow.side, wide.outputs[0] != narrow.outputs[0])
    assert s.check().unsat
    point = [Fraction(i % 5 - 2, 3) for i in range(300)]
    y = session.real("y")
    s = session.solver()
    s.add(*[x == session.rational(v) for x, v in zip(xs, point)], *wide.side, y == wide.outputs[0])
    assert s.check(point_of=[y]).point[0] == evaluate(net, point)[0]


def test_dense_forms_are_refused_not_made():
    from verify.backends.patterns import MAX_FORM_ENTRIES, activation_pattern, forms_fit, pattern_affine_map
    from verify.constructions import mean_network
    from verify.errors import ResourceLimitError

    big = mean_network(5000)  # 5002 nodes x 5001 columns > the limit
    assert len(big.order) * (big.n_inputs + 1) > MAX_FORM_ENTRIES and not forms_fit(big)
    x = [Fraction(1)] * 5000
    with pytest.raises(ResourceLimitError, match="affine forms"):
        pattern_affine_map(big, activation_pattern(big, x))
    assert forms_fit(mean_network(100))


WEAKREF = r"""
import sys, time, weakref
import verify.commands.error as error_cmd
from verify.cli import main

class Thing:
    pass

def callback(ref):  # half of the loop is spent here, so the alarm often lands inside it
    s = time.monotonic()
    while time.monotonic() - s < 0.02:
        sum(range(1000))

def churn(*args, **kwargs):
    keep = []
    while True:
        t = Thing()
        keep.append(weakref.ref(t, callback))
        del t  # the callback runs now; its exception is unraisable
        s = time.monotonic()
        while time.monotonic() - s < 0.01:
            sum(range(1000))

error_cmd.worst_case_error = churn
sys.exit(main(["error", sys.argv[1], "--box", "0,1", "--timeout", "0.5"]))
"""


def test_an_alarm_in_a_weakref_callback_is_raised_again_later(tmp_path):
    """A weakref callback is another place where Python cannot raise (like a finalizer, but with no
    ``__del__`` frame to see): an alarm landing there was printed as "Exception ignored in ..." with a
    traceback (the soak of the final code, seed 202500, saw one such traceback on `prove --timeout=0.2`).
    Here half of the time is spent in weakref callbacks; stderr must hold only the timeout line.
    Run as a program: pytest replaces Python's hook for such exceptions in its own process."""
    import subprocess
    import sys

    net = tmp_path / "m.json"
    assert main(["build", "mean", "--d", "2", "-o", str(net)]) == 0
    try:
        p = subprocess.run([sys.executable, "-c", WEAKREF, str(net)], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the alarm was lost in a callback and the command ran on: {exc.stderr!r}"[:2000])
    assert p.returncode == 3, p.stderr
    assert "Traceback" not in p.stderr and p.stderr.strip() == "verify: unknown: the time limit of 0.5 s ran out", \
        p.stderr
