"""The exact engine against its peers on worst-case error against max, both sides, in one run.

Tools (each run is a child process killed at ``--cap`` seconds, reported as ">cap"):

* ``engine``: :func:`verify.engine.worst_case_error` (exact, witnesses re-evaluated exactly);
* ``default``: what ``verify error NET --box 0,1`` runs, :func:`verify.analysis.worst_case_error` with the
  default backend ``auto`` (a short z3 attempt on networks of at most 16 ReLUs, then the engine);
* ``parallel``: the same with the engine's tree farmed out to 2 local processes (``--workers 2``);
* ``gurobi``: Gurobi 13 (gurobipy, restricted licence), big-M MILP with interval big-M constants
  (``benchmarks/milp_peers.py``), 2 threads, float;
* ``highs``: the same MILPs solved by HiGHS, float;
* ``plain-z3``: z3 ``Optimize`` with ReLU as ``If`` (``benchmarks/scale_bench.py``), exact but generic;
* ``previous``: the toolkit's previous exact route, ``worst_case_error(..., backend="milp")``.

Each cell: seconds, the values ``sup(N - max) / sup(max - N)`` (6 digits), and the child's peak resident
memory. The last columns are ``peer seconds / engine seconds`` (">" when the peer hit the cap).

    python benchmarks/engine_bench.py --cap 600                       # full run (about an hour)
    python benchmarks/engine_bench.py --cap 60 --only random_4-16-16-1.json --tools engine gurobi
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HERE = Path(__file__).parent
NETS = ["random_4-16-16-1.json", "random_4-16-16-1_float32.json", "random_4-16-16-1_decimal17.json",
        "maxpool3x3_9-16-16-1.json", "maxpool3x3_9-32-32-1_float32.json", "random_9-32-32-1.json",
        "random_9-64-64-1.json"]
TOOLS = ["engine", "default", "gurobi", "highs", "plain-z3", "previous"]


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _note(r) -> str:
    """Values of both sides; an UNKNOWN shows its sound brackets [attained, upper]."""
    if str(r.status) == "PROVED" or r.status.value == "PROVED":
        return f"{float(r.sup_over):.6f} / {float(r.sup_under):.6f} PROVED"

    def br(v, u):
        return f"[{float(v):.6f}, {float(u):.6f}]" if u is not None else f"[{float(v):.6f}, ?]"

    return f"UNKNOWN {br(r.sup_over, r.upper_over)} / {br(r.sup_under, r.upper_under)}"


def _job(tool, name, box_text, timeout, q):
    import os
    import sys

    os.setpgrp()  # own process group: the cap kills this run and anything it started
    sys.path.insert(0, str(HERE))
    from verify.domain import parse_box
    from verify.io.json_format import load_network

    net = load_network(HERE / "networks" / name)
    box = parse_box(box_text, net.n_inputs)
    lo = [float(v) for v in box.lo]
    hi = [float(v) for v in box.hi]
    t = time.monotonic()
    try:
        if tool == "engine":
            from verify.engine import worst_case_error

            r = worst_case_error(net, box, timeout=timeout)
            note = _note(r)
            nodes = sum(s.get("nodes", 0) for side in ("over", "under") for s in r.stats[side]["subproblems"])
            note += f", {nodes} nodes"
        elif tool == "default":
            from verify.analysis import worst_case_error

            r = worst_case_error(net, box, timeout=timeout)
            note = _note(r)
        elif tool == "parallel":
            from verify.analysis import worst_case_error
            from verify.engine.entry import set_options

            set_options(workers=2)
            r = worst_case_error(net, box, timeout=timeout)
            note = _note(r)
        elif tool == "previous":
            from verify.analysis import worst_case_error

            r = worst_case_error(net, box, backend="milp", timeout=timeout)
            note = _note(r)
        elif tool == "gurobi":
            try:
                import gurobipy  # noqa: F401
            except ImportError:
                q.put(("skip", None, "gurobipy not installed (pip install gurobipy)", 0.0))
                return
            from milp_peers import gurobi_worst_case

            over, under, secs = gurobi_worst_case(net, lo, hi)
            note = f"{over:.6f} / {under:.6f} (float; {secs[0]:.1f} + {secs[1]:.1f} s)"
        elif tool == "highs":
            from milp_peers import highs_worst_case

            over, under, secs = highs_worst_case(net, lo, hi)
            note = f"{over:.6f} / {under:.6f} (float; {secs[0]:.1f} + {secs[1]:.1f} s)"
        else:
            from scale_bench import _plain_z3

            from fractions import Fraction

            over, under = _plain_z3(net, box)
            note = f"{float(Fraction(over)):.6f} / {float(Fraction(under)):.6f} (exact)"
    except Exception as exc:  # a peer that fails is reported, not fatal
        q.put(("skip", None, f"failed: {exc.__class__.__name__}: {exc}", _peak_mb()))
        return
    q.put(("ok", time.monotonic() - t, note, _peak_mb()))


def run_capped(tool, name, box, cap):
    from capped import run_child

    # The exact routes get a timeout a little under the cap, so that a run that does not finish reports
    # its sound brackets instead of being killed (the kill stays as the backstop).
    timeout = 0.95 * cap if tool in ("engine", "default", "parallel", "previous") else None
    how, item = run_child(_job, (tool, name, box, timeout), cap)
    if how == "killed":
        return None, f">{cap:g} s", None
    if how == "failed":
        return None, f"failed (exit {item})", None
    kind, secs, note, mb = item
    if kind == "skip":
        return None, note, mb
    if "UNKNOWN" in note:
        return None, f">{secs:.0f} s, {note}", mb
    return secs, note, mb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cap", type=float, default=600.0, help="seconds per run before the child is killed")
    ap.add_argument("--only", nargs="*", default=None, help="network file names")
    ap.add_argument("--tools", nargs="*", default=TOOLS)
    ap.add_argument("--box", default="0,1")
    ap.add_argument("--base", default="engine", help="the tool the ratios divide by (engine or default)")
    ap.add_argument("--slow-cap", type=float, default=None,
                    help="a smaller cap for the routes known to be slow (plain-z3, previous)")
    args = ap.parse_args(argv)
    names = args.only or NETS
    base = args.base
    peers = [t for t in args.tools if t != base]
    print(f"| network | {' | '.join(args.tools)} | {' | '.join(p + ' / ' + base for p in peers)} |")
    print("|---|" + "---|" * (len(args.tools) + len(peers)))
    for name in names:
        cells, secs = [], {}
        caps = {}
        for tool in args.tools:
            caps[tool] = args.slow_cap if args.slow_cap and tool in ("plain-z3", "previous") else args.cap
            s, note, mb = run_capped(tool, name, args.box, caps[tool])
            secs[tool] = (s, note)
            mem = f", {mb:.0f} MB" if mb else ""
            cells.append(f"{s:.2f} s ({note}{mem})" if s is not None else f"{note}{mem}")
        ratios = []
        e = secs.get(base, (None, ""))[0]
        for peer in peers:
            p, note = secs[peer]
            if e and p:
                ratios.append(f"{p / e:.2f}x")
            elif e and p is None and note.startswith(">"):
                ratios.append(f">{caps[peer] / e:.1f}x")
            elif e is None and p is not None:
                ratios.append(f"<{p / caps[base]:.2f}x")
            else:
                ratios.append("n/a")
        print(f"| {name} | {' | '.join(cells)} | {' | '.join(ratios)} |", flush=True)


if __name__ == "__main__":
    main()
