"""Worst-case error and exactness at scale: this toolkit against plain z3 (ReLU as ``If``) and
Marabou, on the same networks and boxes, in one run.

Tools: "toolkit" is the toolkit's route for the query (worst-case error: ``--backend milp``; the
max-of-5 network exact on R^5: ``--backend auto``, i.e. proved symmetry, then the sorted cone's faces on
two processes); "toolkit-z3" is the toolkit's z3 backend; "plain-z3" is z3 with ReLU as ``If``
(``Optimize`` for errors, a ``Solver`` for exactness); "marabou" brackets errors by bisection.
Every run happens in a child process that is killed at ``--cap`` seconds (reported as ">cap").
Prints a markdown table: seconds per tool and the ratio of each peer to the toolkit.

    python benchmarks/scale_bench.py --cap 600            # full run
    python benchmarks/scale_bench.py --cap 60 --only random_4-16-16-1.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HERE = Path(__file__).parent
NETS = ["random_4-16-16-1.json", "random_9-32-32-1.json", "random_9-64-64-1.json", "maxpool3x3_9-16-16-1.json"]
TOOLS = ["toolkit", "toolkit-z3", "plain-z3", "marabou"]


def _load(name):
    from verify.io.json_format import load_network

    if name == "max5":
        from verify.constructions.published import load_max5

        return load_max5()
    return load_network(HERE / "networks" / name)


def _plain_terms(net):
    """z3 inputs, the network's output with ReLU as If (no bounds, no fixed phases: the toolkit's
    lowering with nothing added), its side constraints, and max of the inputs as an If chain."""
    import z3

    from verify.backends.z3_backend import Z3Lowering

    xs = [z3.Real(f"x{i}") for i in range(net.n_inputs)]
    low = Z3Lowering(net, xs)
    m = xs[0]
    for x in xs[1:]:
        m = z3.If(x > m, x, m)
    return xs, low.outputs[0], low.side, m


def _plain_z3_exact(net):
    """One z3 Solver call: exists x in R^d with N(x) != max(x)?"""
    import z3

    xs, out, side, m = _plain_terms(net)
    s = z3.Solver()
    s.add(side)
    s.add(out != m)
    return str(s.check())


def _plain_z3(net, box):
    """Two z3 Optimize calls (sup N - max, sup max - N) with ReLU as If and max as an If chain."""
    import z3

    from verify.backends.z3_backend import rational

    xs, out, side, m = _plain_terms(net)
    res = []
    for obj in (out - m, m - out):
        opt = z3.Optimize()
        opt.add(side)
        for x, a, b in zip(xs, box.lo, box.hi):
            opt.add(x >= rational(a), x <= rational(b))
        h = opt.maximize(obj)
        assert opt.check() == z3.sat
        res.append(str(opt.upper(h)))
    return res


def _job(tool, name, box_text, q):
    import os

    os.setpgrp()  # own process group: the cap kills this run and any solver children it forked
    from verify.domain import parse_box

    net = _load(name)
    t = time.monotonic()
    if name == "max5":
        from verify.analysis import check_exact

        if tool == "plain-z3":
            answer = _plain_z3_exact(net)
            q.put(("ok", time.monotonic() - t, "PROVED" if answer == "unsat" else answer))
            return
        backend = {"toolkit": "auto", "toolkit-z3": "z3"}.get(tool)
        if backend is None:
            q.put(("skip", None, "not run on the exactness query"))
            return
        r = check_exact(net, backend=backend)
        q.put(("ok", time.monotonic() - t, f"{r.status.value} via {r.backend}"))
        return
    box = parse_box(box_text, net.n_inputs)
    if tool in ("toolkit", "toolkit-z3"):
        from verify.analysis import worst_case_error

        r = worst_case_error(net, box, backend="milp" if tool == "toolkit" else "z3")
        q.put(("ok", time.monotonic() - t, f"{float(r.sup_over):.6f} / {float(r.sup_under):.6f} {r.status}"))
    elif tool == "plain-z3":
        over, under = _plain_z3(net, box)
        q.put(("ok", time.monotonic() - t, f"{over} / {under}"))
    else:
        try:
            import maraboupy  # noqa: F401
            import onnx  # noqa: F401
        except Exception as exc:  # pragma: no cover - depends on the machine
            q.put(("skip", None, f"maraboupy/onnx unavailable ({exc.__class__.__name__}): pip install maraboupy onnx"))
            return
        import sys

        sys.path.insert(0, str(HERE))
        from marabou_peer import marabou_worst_case

        t = time.monotonic()
        try:
            over, under, nq = marabou_worst_case(net, box)
        except RuntimeError as exc:  # Marabou crashed or answered neither sat nor unsat
            q.put(("skip", None, f"failed after {time.monotonic() - t:.1f} s: {exc}"))
            return
        q.put(("ok", time.monotonic() - t, f"{over:.6f} / {under:.6f} +-1e-3, {nq} queries"))


def run_capped(tool, name, box, cap):
    from capped import run_child

    how, item = run_child(_job, (tool, name, box), cap)
    if how == "killed":
        return None, f">{cap:g}"
    if how == "failed":
        return None, f"failed (exit {item})"
    kind, secs, note = item
    if kind == "skip":
        return None, f"skipped: {note}"
    return secs, note


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cap", type=float, default=600.0, help="seconds per run before the child is killed")
    ap.add_argument("--only", nargs="*", default=None, help="network file names (or max5)")
    ap.add_argument("--tools", nargs="*", default=TOOLS)
    ap.add_argument("--box", default="0,1")
    args = ap.parse_args(argv)
    names = args.only or NETS + ["max5"]
    peers = [t for t in ("plain-z3", "marabou", "toolkit-z3") if t in args.tools]
    print(f"| network | query | {' | '.join(args.tools)} | {' | '.join(p + ' / toolkit' for p in peers)} |")
    print("|---|---|" + "---|" * (len(args.tools) + len(peers)))
    for name in names:
        cells, secs = [], {}
        for tool in args.tools:
            s, note = run_capped(tool, name, args.box, args.cap)
            secs[tool] = s
            cells.append(f"{s:.2f} s ({note})" if s is not None else note)
        ratios = []
        for peer in peers:
            m, p = secs.get("toolkit"), secs.get(peer)
            if m and p:
                ratios.append(f"{p / m:.2f}x")
            elif m and p is None and cells[args.tools.index(peer)].startswith(">"):
                ratios.append(f">{args.cap / m:.1f}x")
            else:
                ratios.append("n/a")
        query = "exact on R^5" if name == "max5" else f"error on [{args.box}]^d"
        print(f"| {name} | {query} | {' | '.join(cells)} | {' | '.join(ratios)} |", flush=True)


if __name__ == "__main__":
    main()
