"""Seconds to certify the optimal subpool approximation for R = {0,...,d-1}, d = 4..16.

Columns: HiGHS LP (float, chooses the basis), exact recovery + certificate check (Fractions), total,
the float-only baseline (scipy.optimize.linprog with HiGHS, no certificate) and the ratio total/baseline,
then the independent z3 cross-check on the built network (shared subtrees, skip gadget: the smallest
network, 2^d - d - 2 ReLUs) up to --z3-max-d, with a per-query timeout.

Usage: PYTHONPATH=. python benchmarks/optimal_bench.py [--dmax 16] [--z3-max-d 7] [--z3-timeout 600]
"""

from __future__ import annotations

import argparse
import statistics
import time
from fractions import Fraction

from verify.analysis.optimal import optimal_approximation, vertex_features


def float_baseline(d: int) -> float:
    """Float LP only (what a user would do without exactness): median of 3 runs."""
    import numpy as np
    from scipy.optimize import linprog

    a, m = vertex_features(d, range(d))
    A = np.array([[float(v) for v in row] for row in a])
    mm = np.array([float(v) for v in m])
    n = d
    c = np.r_[np.zeros(n), 1.0]
    A_ub = np.vstack([np.c_[-A, -np.ones(d + 1)], np.c_[A, -np.ones(d + 1)]])
    b_ub = np.r_[-mm, mm]
    times = []
    for _ in range(3):
        t = time.perf_counter()
        linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * n + [(0, None)], method="highs")
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dmin", type=int, default=4)
    ap.add_argument("--dmax", type=int, default=16)
    ap.add_argument("--z3-max-d", type=int, default=7)
    ap.add_argument("--z3-timeout", type=float, default=600)
    args = ap.parse_args()
    print("| d | error | LP (s) | exact + check (s) | total (s) | float LP only (s) | total / float | "
          "ReLUs (shared, skip) | build (s) | z3 cross-check (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d in range(args.dmin, args.dmax + 1):
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            opt = optimal_approximation(d, range(d))
            runs.append((time.perf_counter() - t, opt.seconds["lp"], opt.seconds["exact"]))
        total, lp, ex = (statistics.median(r[i] for r in runs) for i in range(3))
        assert opt.error == Fraction(1, 2 ** d)
        base = float_baseline(d)
        relus = 2 ** d - d - 2
        build = z3col = "-"
        if d <= args.z3_max_d:
            from verify.analysis import worst_case_error
            from verify.analysis.results import Status
            from verify.constructions.subpool import subpool_network
            from verify.domain import Box

            t = time.perf_counter()
            net = subpool_network(d, range(d), opt.beta, "skip", share=True)
            build = f"{time.perf_counter() - t:.2f}"
            relus = net.n_relus
            r = worst_case_error(net, Box.cube(d), timeout=args.z3_timeout)
            if r.status is Status.PROVED:
                z3col = f"{r.seconds:.2f} ({'agrees' if r.sup_abs == opt.error else 'DISAGREES'})"
            else:
                z3col = f"timeout after {r.seconds:.0f}"
        print(f"| {d} | 1/{2 ** d} | {lp:.4f} | {ex:.4f} | {total:.4f} | {base:.4f} | {total / base:.1f} | "
              f"{relus} | {build} | {z3col} |", flush=True)


if __name__ == "__main__":
    main()
