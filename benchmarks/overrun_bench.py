"""How far past ``--timeout`` do commands run, and how much memory do they take?

    PYTHONPATH=. python benchmarks/overrun_bench.py [--only NAME ...] [--cap 240] [--json FILE]

Each case is one ``python -m verify.cli`` child process; the table gives its wall time, the allowed
time (``--timeout`` plus the allowed overrun: 10% or 2 s, whichever is larger), the overrun beyond
``--timeout``, the peak resident memory of the child (``ru_maxrss`` from ``os.wait4``), the exit code
and the last line of stderr. A child still running at ``--cap`` seconds is killed (shown as ``>cap``).

The cases are the ones of issue 16: ``verify error`` on ``benchmarks/networks/random_9-64-64-1.json``
with ``--timeout 20`` and each backend; random networks with 10^4 and 10^5 inputs (float32-valued
weights, fixed seed, written once to a cache folder) with ``--timeout 10`` and ``--timeout 30``; and
``verify build max-tree --d 100000`` (refused up front, not killed by the kernel).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NETS = ROOT / "benchmarks" / "networks"
CACHE = Path(tempfile.gettempdir()) / "verify-overrun-bench"


def allowed(timeout: float) -> float:
    """The promise of docs/reliability.md: ``--timeout`` plus 10% of it or 2 s, whichever is larger."""
    return timeout + max(0.1 * timeout, 2.0)


def wide_net(n_inputs: int, hidden: int, seed: int) -> Path:
    """A random ``n_inputs``-``hidden``-1 network with float32 weights, written once to the cache."""
    path = CACHE / f"wide_{n_inputs}-{hidden}-1_seed{seed}.json"
    if path.exists():
        return path
    import numpy as np

    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((hidden, n_inputs)) * np.sqrt(2.0 / n_inputs)).astype(np.float32)
    b1 = (rng.standard_normal(hidden) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((1, hidden)) * np.sqrt(2.0 / hidden)).astype(np.float32)
    # numpy's shortest round-trip text of each float32 value, as a user would write it
    data = {"format": "relu-net/1", "inputs": n_inputs,
            "layers": [{"weights": [[repr(float(v)) for v in row] for row in w1],
                        "bias": [repr(float(v)) for v in b1], "activation": "relu"},
                       {"weights": [[repr(float(v)) for v in row] for row in w2], "activation": "linear"}]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
    return path


def cases() -> list[tuple[str, list[str], float | None]]:
    net9 = str(NETS / "random_9-64-64-1.json")
    out = []
    for backend in ("z3", "milp", "auto"):
        out.append((f"error 9-64-64-1 {backend}", ["error", net9, "--box", "0,1", "--timeout", "20", "--backend", backend], 20.0))
    out.append(("exact 9-64-64-1 z3 [-1,1]", ["exact", net9, "--box=-1,1", "--timeout", "20"], 20.0))
    # the default backend (auto: the engine at the end) on wide inputs, where every fixed cost scales
    for t in ("3", "10"):
        out.append((f"error 3000-8-1 default, T={t}", ["error", "@wide:3000:8", "--box", "0,1", "--timeout", t], float(t)))
    out.append(("error 10^4-16-1 default", ["error", "@wide:10000:16", "--box", "0,1", "--timeout", "10"], 10.0))
    out.append(("error 10^4-16-1 milp", ["error", "@wide:10000:16", "--box", "0,1", "--timeout", "10", "--backend", "milp"], 10.0))
    out.append(("exact 10^4-16-1 default", ["exact", "@wide:10000:16", "--box", "0,1", "--timeout", "10"], 10.0))
    out.append(("error 10^5-4-1 default", ["error", "@wide:100000:4", "--box", "0,1", "--timeout", "30"], 30.0))
    # flint's rank holds the GIL for tens of seconds: only the watchdog process can end it in time
    out.append(("search --max 5", ["search", "--max", "5", "--timeout", "5"], 5.0))
    out.append(("build max-tree --d 100000", ["build", "max-tree", "--d", "100000", "-o", "@tmp/t.json"], None))
    return out


def run_case(argv: list[str], cap: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "verify.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    killed = False
    err_chunks = []
    import threading

    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    reader.start()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > cap:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(5)
    err = b"".join(c for c in err_chunks if c).decode("utf-8", "replace").strip().splitlines()
    return {"seconds": seconds, "killed": killed, "rss_mb": usage.ru_maxrss / 1024, "code": proc.returncode,
            "stderr": err[-1] if err else "", "stderr_lines": len(err)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="run only cases whose name contains this (repeatable)")
    ap.add_argument("--cap", type=float, default=240.0, help="kill a child after this many seconds")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        subst = {"@tmp": tmp}
        print("| case | --timeout | allowed | wall s | overrun s | peak RSS MB | exit | stderr (last line) |")
        print("|---|---|---|---|---|---|---|---|")
        for name, cmd, timeout in cases():
            if args.only and not any(o in name for o in args.only):
                continue
            cmd = [str(wide_net(int(a.split(":")[1]), int(a.split(":")[2]), 0)) if a.startswith("@wide:")
                   else a.replace("@tmp", subst["@tmp"]) for a in cmd]
            r = run_case(cmd, args.cap)
            over = None if timeout is None else r["seconds"] - timeout
            wall = f">{args.cap:.0f} (killed)" if r["killed"] else f"{r['seconds']:.1f}"
            print(f"| {name} | {timeout if timeout is not None else '-'} | "
                  f"{'-' if timeout is None else f'{allowed(timeout):.0f}'} | {wall} | "
                  f"{'-' if over is None else f'{over:+.1f}'} | {r['rss_mb']:.0f} | {r['code']} | "
                  f"{r['stderr'][:90]} |", flush=True)
            rows.append({"case": name, "argv": cmd, "timeout": timeout, **r})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    bad = [r for r in rows if r["timeout"] is not None and (r["killed"] or r["seconds"] > allowed(r["timeout"]))]
    print(f"\n{len(bad)} of {len(rows)} cases over the allowed time")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
