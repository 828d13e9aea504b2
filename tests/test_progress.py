"""Progress bars (issue 14, item 4): on under a terminal (a pty), off when stderr is not one or with
--quiet (no stray stderr in --json runs); decimals beside long fractions; --timeout on the long commands."""

import json
import os
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest

from verify import progress
from verify.commands.render import num
from verify.constructions import max_tree, mean_network
from verify.io.json_format import save_network

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def run(*args):
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True, env=ENV, timeout=300)


def run_on_pty(*args) -> tuple[int, str, bytes]:
    """Run the CLI with stderr on a pseudo-terminal; return (exit code, stdout, what the terminal got)."""
    import pty

    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "verify.cli", *args], stdout=subprocess.PIPE, stderr=slave,
                            env=ENV)
    seen = b""
    # Drain the terminal while the command runs (its buffer is small); the slave stays open here, so the
    # master never reports end of file and what was written is not lost when the child exits.
    while proc.poll() is None or select.select([master], [], [], 0.2)[0]:
        if select.select([master], [], [], 0.2)[0]:
            seen += os.read(master, 65536)
    out = proc.stdout.read().decode()
    os.close(slave)
    os.close(master)
    return proc.returncode, out, seen


@pytest.fixture
def pair(tmp_path):
    a, b = tmp_path / "tree.json", tmp_path / "mean.json"
    save_network(max_tree(4, "A"), a)
    save_network(mean_network(4), b)
    return str(a), str(b)


def test_decimals_beside_long_fractions_only():
    assert num(F(1234567, 8388608)) == "1234567/8388608 (~0.147172)"  # 0.14717209...
    assert num(F(3, 4)) == "3/4" and num(F(-7)) == "-7" and num(F(2, 3)) == "2/3"
    assert num(F(-1, 1 << 20)) == "-1/1048576 (~-9.53674e-07)"


def test_text_output_has_the_decimals(tmp_path):
    from verify.ir.builder import GraphBuilder

    # N(x) = c x on [0, 1] with c = 1234567/2^23: sup(max - N) = 1 - c = 7154041/8388608 = 0.85282790... at x = 1
    b = GraphBuilder(1)
    (x,) = b.input_exprs()
    b.output(x * F(1234567, 8388608))
    p = tmp_path / "lin.json"
    save_network(b.build(name="lin"), p)
    proc = run("error", str(p), "--box", "0,1")
    assert proc.returncode == 0, proc.stderr
    assert "sup(max - N) = 7154041/8388608 (~0.852828)  at x = (1)" in proc.stdout
    assert "sup(N - max) = 0  at x" in proc.stdout


def test_no_stderr_when_not_a_terminal(pair):
    proc = run("diff", *pair, "--box", "0,1", "--json")
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout)["sup_over"] == "3/4"
    proc = run("error", pair[1], "--box", "0,1", "--json")
    assert proc.returncode == 0 and proc.stderr == ""


def test_bar_on_under_a_pty_and_off_with_quiet(pair):
    code, out, seen = run_on_pty("diff", *pair, "--box", "0,1", "--json")
    assert code == 0 and json.loads(out)["sup_under"] == "0"  # stdout stays clean JSON
    assert b"diff:" in seen and b"00:0" in seen  # the bar's description and elapsed time
    code, out, seen = run_on_pty("diff", *pair, "--box", "0,1", "--json", "--quiet")
    assert code == 0 and seen == b""


def test_report_is_a_noop_without_a_bar_and_fills_the_text():
    assert not progress.active()
    progress.report(nodes=3, attained=F(1, 2))  # no bar: nothing happens

    class Args:
        quiet = False

    class Tty:
        def __init__(self):
            self.data = ""

        def isatty(self):
            return True

        def write(self, s):
            self.data += s

        def flush(self):
            pass

    stream = Tty()
    with progress.progress_for(Args(), "test", stream=stream) as bar:
        assert progress.active()
        progress.report(piece=2, pieces=8, nodes=17, attained=F(3, 4), upper=1)
        assert bar.text() == "piece 2/8  nodes 17  bracket [0.75, 1]"
    assert not progress.active() and "test:" in stream.data
    Args.quiet = True
    with progress.progress_for(Args(), "test", stream=Tty()) as bar:
        assert bar is None and not progress.active()


def test_tradeoff_and_prove_timeouts_exit_3():
    proc = run("tradeoff", "--d", "6", "--timeout", "0", "--json")
    assert proc.returncode == 3 and json.loads(proc.stdout)["complete"] is False
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = run("prove", "--only", "trees", "--timeout", "0", "--no-snapshot")
    assert proc.returncode == 3 and "not run" in proc.stdout


def test_recheck_and_gradient_show_a_bar_on_a_pty(tmp_path):
    net = max_tree(3, "A")
    path = tmp_path / "tree3.json"
    save_network(net, path)
    cert = tmp_path / "cert.json"
    code, _, _ = run_on_pty("exact", path, "--box", "0,1", "--certificate", cert, "--quiet")
    assert code == 0 and cert.exists()
    code, out, seen = run_on_pty("recheck", cert, "--json")
    assert code == 0 and json.loads(out)["holds"] is True and b"recheck:" in seen
    code, _, seen = run_on_pty("recheck", cert, "--json", "--quiet")
    assert code == 0 and seen == b""
    # max tree: its gradient is the one-hot of the argmax off the tie set (PROVED, exit 0)
    code, _, seen = run_on_pty("gradient", path, "--box", "0,1")
    assert code == 0 and b"gradient:" in seen
