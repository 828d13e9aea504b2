"""The practitioner's case end to end (issue 14, "Benchmarks"): a 6x6 CNN with MaxPool2d(2) and its copy
whose pooling is a trained ReLU MLP per 2x2 window (``benchmarks/make_cnn.py``), through the layer-level
library and through the command line (`verify pool-replacement`, the default route), with Gurobi on each
window in the same run.

Reports: import seconds; :func:`verify.analysis.pool_replacement.pool_replacement` seconds (interval and
LP bounds on the pooling inputs), windows, distinct windows and solver calls, seconds per window; per
window the exact ``sup (R_w - max)`` and ``sup (max - R_w)`` over the bounds box beside Gurobi's float
big-M MILP (interval big-M bounds; the max encoded by ``y >= x_i`` for ``sup (R - max)`` and by argmax
binaries for ``sup (max - R)``, as in shared PEERS.md) on the same window and box, with its seconds;
and the toolkit on the whole 8-window layer without decomposition (capped), for the ratio.

    python benchmarks/pool_replacement_bench.py [--cap 120] [--json out.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).parent
MODEL = HERE / "networks" / "cnn6_maxpool.onnx"
REPLACEMENT = HERE / "networks" / "cnn6_mlppool.onnx"


def gurobi_window(net, box, sense: str, time_limit: float):
    """Float big-M MILP of ``sup (net - max(x))`` (sense "over") or ``sup (max(x) - net)`` ("under") on
    ``box`` with Gurobi; big-M constants from exact interval bounds. Returns (value, seconds, status)."""
    import gurobipy as gp

    from verify.backends.intervals import interval_bounds
    from verify.ir.ops import Op

    bounds = interval_bounds(net, box)
    m = gp.Model()
    m.Params.OutputFlag = 0
    m.Params.Threads = 2
    m.Params.TimeLimit = time_limit
    var = {}
    for n in net.order:
        op = net.op(n)
        lo, hi = (float(v) for v in bounds[n])
        if op is Op.INPUT:
            var[n] = m.addVar(lb=lo, ub=hi)
        elif op is Op.AFFINE:
            v = m.addVar(lb=-gp.GRB.INFINITY, ub=gp.GRB.INFINITY)
            m.addConstr(v == float(net.bias(n)) + gp.quicksum(float(w) * var[p] for p, w in net.affine_terms(n)))
            var[n] = v
        elif op is Op.RELU:
            p = net.single_pred(n)
            plo, phi = (float(v) for v in bounds[p])
            a = m.addVar(lb=0, ub=max(phi, 0.0))
            if plo >= 0:
                m.addConstr(a == var[p])
            elif phi <= 0:
                m.addConstr(a == 0)
            else:
                z = m.addVar(vtype=gp.GRB.BINARY)
                m.addConstr(a >= var[p])
                m.addConstr(a <= var[p] - plo * (1 - z))
                m.addConstr(a <= phi * z)
            var[n] = a
        elif op is Op.OUTPUT:
            var[n] = var[net.single_pred(n)]
        else:
            raise ValueError("ReLU networks only")
    xs = [var[i] for i in net.inputs]
    out = var[net.outputs[0]]
    lo = [float(v) for v in box.lo]
    hi = [float(v) for v in box.hi]
    top = max(hi)
    y = m.addVar(lb=max(lo), ub=top)
    for x in xs:
        m.addConstr(y >= x)
    if sense == "over":
        m.setObjective(out - y, gp.GRB.MAXIMIZE)  # maximising pushes y down onto the max
    else:
        zs = [m.addVar(vtype=gp.GRB.BINARY) for _ in xs]
        m.addConstr(gp.quicksum(zs) == 1)
        for x, z, xl in zip(xs, zs, lo):
            m.addConstr(y <= x + (top - xl) * (1 - z))
        m.setObjective(y - out, gp.GRB.MAXIMIZE)
    t = time.perf_counter()
    m.optimize()
    secs = time.perf_counter() - t
    status = {gp.GRB.OPTIMAL: "optimal", gp.GRB.TIME_LIMIT: "time limit"}.get(m.Status, str(m.Status))
    return (m.ObjVal if m.SolCount else None), secs, status


def cli_route(cap: float, backend: str = "auto") -> dict:
    """Run the practitioner's command line on the committed pair; the wall time includes starting Python,
    importing the toolkit and both ONNX models."""
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "verify.cli", "pool-replacement", str(MODEL), str(REPLACEMENT), "--box", "0,1",
           "--json", "--quiet", "--timeout", str(cap), "--backend", backend]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 3):
        raise SystemExit(f"verify pool-replacement failed ({proc.returncode}): {proc.stderr.strip()}")
    return {"wall": wall, "json": json.loads(proc.stdout), "code": proc.returncode}


def tile_windows(sub, copies: int):
    """``copies`` copies of the one-output network ``sub`` side by side on disjoint inputs (a layer
    applying the same window MLP to every window), with the windows recorded."""
    from verify.ir.builder import Expr, GraphBuilder
    from verify.ir.ops import Op

    k = sub.n_inputs
    b = GraphBuilder(k * copies)
    xs = b.input_exprs()
    for c in range(copies):
        val = {}
        for n in sub.order:
            op = sub.op(n)
            if op is Op.INPUT:
                val[n] = xs[c * k + sub.graph.nodes[n]["index"]]
            elif op is Op.AFFINE:
                e = Expr(const=sub.bias(n))
                for p, w in sub.affine_terms(n):
                    e = e + val[p] * w
                val[n] = e
            elif op is Op.RELU:
                val[n] = b.relu(val[sub.single_pred(n)])
            else:
                val[n] = val[sub.single_pred(n)]
        b.output(val[sub.outputs[0]])
    return b.build(windows=[list(range(c * k, c * k + k)) for c in range(copies)], name=f"{copies} windows")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap", type=float, default=120.0, help="seconds for the undecomposed run and each Gurobi solve")
    ap.add_argument("--json", default=None, help="write the figures as JSON too")
    ap.add_argument("--quick", action="store_true", help="skip the capped undecomposed runs")
    args = ap.parse_args()

    from verify.analysis.decompose import restrict
    from verify.analysis.pool_replacement import match_pool_layer, pool_replacement
    from verify.analysis.worst_case import both_sides
    from verify.domain import Box
    from verify.io.onnx_import import import_onnx

    t = time.perf_counter()
    model = import_onnx(MODEL, keep_layers=True)
    rep = import_onnx(REPLACEMENT, keep_layers=True)
    t_import = time.perf_counter() - t
    box = Box.cube(model.n_inputs)
    runs = {}
    for method in ("interval", "lp"):
        t = time.perf_counter()
        r = pool_replacement(model, rep, box, bounds=method)
        runs[method] = (r, time.perf_counter() - t)
    r, secs = runs["interval"]
    match = match_pool_layer(model, rep)
    from verify.commands.options import difference_backends

    clis = {b: cli_route(args.cap, b) for b in difference_backends() if b != "z3"}
    cli = clis["auto"]
    n_win = len(r.windows)
    print(f"models: {model} / {rep}; import {t_import:.2f} s")
    print()
    print("| bounds | seconds | windows | distinct | solver calls | seconds per window | max window error | output bound |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method, (rr, s) in runs.items():
        print(f"| {method} | {s:.2f} | {len(rr.windows)} | {rr.distinct_windows} | {rr.solver_calls} | {s / len(rr.windows):.2f} "
              f"| {float(rr.max_window_error):.6f} | {float(rr.output_bound):.4f} |")
    print()
    print("CLI route: `verify pool-replacement MODEL REPLACEMENT --box 0,1 --json [--backend B]`")
    print()
    print("| backend | wall seconds (process, import included) | query seconds | windows | distinct | solver calls "
          "| seconds per window | seconds per distinct window | piece engines | status |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for b, c in clis.items():
        cj = c["json"]
        pieces = [s for s in cj["stats"]["piece_seconds"] if s is not None]
        print(f"| {b}{' (default)' if b == 'auto' else ''} | {c['wall']:.2f} | {cj['seconds']:.2f} | {len(cj['windows'])} | "
              f"{cj['distinct_windows']} | {cj['solver_calls']} | {cj['seconds'] / len(cj['windows']):.2f} | "
              f"{sum(pieces) / max(len(pieces), 1):.2f} | {', '.join(str(e) for e in cj['stats']['piece_backends'])} | "
              f"{cj['status']} |")
    cj = cli["json"]
    same = [(w["sup_over"], w["sup_under"]) for w in cj["windows"]] == [(str(w.sup_over), str(w.sup_under)) for w in r.windows]
    print()
    same = same and all([(w["sup_over"], w["sup_under"]) for w in c["json"]["windows"]]
                        == [(w["sup_over"], w["sup_under"]) for w in cj["windows"]] for c in clis.values())
    print(f"CLI ({', '.join(clis)}) and library (default route) window values identical: {same}")
    print()
    print("Per window (interval bounds): exact values and Gurobi (float big-M MILP) on the same window and box")
    print()
    print("| window | piece | box hi | exact sup(R-max) | Gurobi | s | exact sup(max-R) | Gurobi | s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    g_total = 0.0
    fbox_lo = [Fraction(0)] * len(match.frontier)
    fbox_hi = [Fraction(0)] * len(match.frontier)
    for w in r.windows:
        for k, (a, b) in zip(match.windows[w.window], w.box):
            fbox_lo[k], fbox_hi[k] = a, b
    for w in r.windows:
        sub = restrict(match.layer_replacement, w.window, match.windows[w.window])
        wbox = Box(tuple(a for a, _ in w.box), tuple(b for _, b in w.box))
        go, so, sto = gurobi_window(sub, wbox, "over", args.cap)
        gu, su, stu = gurobi_window(sub, wbox, "under", args.cap)
        g_total += so + su
        agree = go is not None and gu is not None and abs(go - float(w.sup_over)) < 1e-5 and abs(gu - float(w.sup_under)) < 1e-5
        rows.append({"window": w.window, "piece": w.piece, "box_hi": float(w.box[0][1]),
                     "exact_over": str(w.sup_over), "exact_under": str(w.sup_under), "gurobi_over": go,
                     "gurobi_under": gu, "gurobi_seconds": [so, su], "gurobi_status": [sto, stu], "agree": agree})
        print(f"| {w.window} | {w.piece} | {float(w.box[0][1]):.4f} | {float(w.sup_over):.6f} | "
              f"{'-' if go is None else f'{go:.6f}'} | {so:.2f} | {float(w.sup_under):.6f} | "
              f"{'-' if gu is None else f'{gu:.6f}'} | {su:.2f} |")
    print()
    print(f"Gurobi, all {n_win} windows, both directions: {g_total:.2f} s; toolkit (exact, decomposed, interval "
          f"bounds): {secs:.2f} s for {r.distinct_windows} distinct windows; ratio toolkit/Gurobi {secs / g_total:.2f}")
    if args.quick:
        return 0 if same and all(row["agree"] for row in rows) else 1
    # The same layer without decomposition: every window's ReLUs in each output's search.
    t = time.perf_counter()
    whole = both_sides(match.layer_replacement, match.layer_model, Box(tuple(fbox_lo), tuple(fbox_hi)),
                       timeout=args.cap, backend="milp")
    t_whole = time.perf_counter() - t
    print(f"toolkit without decomposition on the {n_win}-window layer ({match.layer_replacement.n_relus} ReLUs): "
          f"{whole.status} after {t_whole:.1f} s (cap {args.cap:.0f} s), sup(R-max) >= {float(whole.sup_over):.6f}, "
          f"sup(max-R) >= {float(whole.sup_under):.6f}; decomposed/undecomposed time ratio "
          f"{secs / t_whole:.3f}")
    # The second case: 8 identical windows of the trained 4-16-1 MLP in one 32-input layer on [-1,1]^32.
    from verify.analysis.decompose import decomposed_error
    from verify.analysis.worst_case import worst_case_error
    live = next(w for w in r.windows if w.box[0][1] > 0)
    one = restrict(match.layer_replacement, live.window, match.windows[live.window])
    layer8 = tile_windows(one, 8)
    box8 = Box.cube(32, -1, 1)
    t = time.perf_counter()
    d8 = decomposed_error(layer8, box8, backend="milp")  # the same engine as the single window below
    t_d8 = time.perf_counter() - t
    t = time.perf_counter()
    single = worst_case_error(one, Box.cube(4, -1, 1), backend="milp")
    t_one = time.perf_counter() - t
    t = time.perf_counter()
    u8 = worst_case_error(layer8, box8, backend="milp", timeout=args.cap)
    t_u8 = time.perf_counter() - t
    g8 = 0.0
    for sense in ("over", "under"):
        g8 += gurobi_window(one, Box.cube(4, -1, 1), sense, args.cap)[1] * 8
    print()
    print("8 identical windows of the trained 4-16-1 MLP in one 32-input layer, [-1,1]^32:")
    print()
    print("| run | status | seconds | sup(N-max) | sup(max-N) | solver calls |")
    print("|---|---|---:|---:|---:|---:|")
    print(f"| one window alone (4 inputs) | {single.status} | {t_one:.2f} | {float(single.sup_over):.6f} | "
          f"{float(single.sup_under):.6f} | 1 |")
    print(f"| decomposed, 8 windows | {d8.overall.status} | {t_d8:.2f} | {float(d8.overall.sup_over):.6f} | "
          f"{float(d8.overall.sup_under):.6f} | {d8.solver_calls} |")
    print(f"| undecomposed, 8 windows (cap {args.cap:.0f} s) | {u8.status} | {t_u8:.2f} | >= {float(u8.sup_over):.6f} | "
          f">= {float(u8.sup_under):.6f} | - |")
    print(f"| Gurobi, 8 windows x 2 directions (float) | - | {g8:.2f} | | | 16 |")
    print()
    for o in r.outputs:
        print(f"output {o.output}: sup(R - M) <= {float(o.bound_over):.4f}, sup(M - R) <= {float(o.bound_under):.4f}")
    print("assumptions:")
    for a in r.assumptions:
        print(f"- {a}")
    if args.json:
        Path(args.json).write_text(json.dumps({"import_seconds": t_import,
                                               "runs": {k: {"seconds": s, **v.to_json()} for k, (v, s) in runs.items()},
                                               "gurobi": rows, "gurobi_seconds": g_total,
                                               "cli": {b: {"wall_seconds": c["wall"], "exit": c["code"],
                                                           "report": c["json"]} for b, c in clis.items()},
                                               "undecomposed": {"status": whole.status.value, "seconds": t_whole}},
                                              indent=1))
    return 0 if same and all(row["agree"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
