"""Speed of the compiled walks on benchmarks/networks/random_9-64-64-1.json (issue 12: the walker port
must not make the hot paths slower).

Prints a markdown table of the best of several runs (milliseconds): float batch evaluation (256 points
and 1 point), sound interval propagation (the integer plan of verify.backends.bounds), exact evaluation
at one point, and, where the toolkit has it, the exact activation pattern and its affine map
(verify.backends.patterns). Run it on two checkouts to compare:

    PYTHONPATH=. python benchmarks/walk_bench.py
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from verify.backends import bounds as B
from verify.backends.evaluator import evaluate, evaluate_batch
from verify.domain import Box
from verify.io import load_network


def best(fn, reps: int) -> float:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return 1e3 * min(out)


def main() -> None:
    net = load_network(Path(__file__).resolve().parent / "networks" / "random_9-64-64-1.json")
    box = Box.cube(9)
    X = np.random.default_rng(0).random((256, 9))
    x = tuple(Fraction(int(v * 2 ** 20), 2 ** 20) for v in X[0])
    rows = [("float batch, 256 points", lambda: evaluate_batch(net, X), 300),
            ("float batch, 1 point", lambda: evaluate_batch(net, X[:1]), 1000),
            ("interval propagation (integer plan)", lambda: B.propagate_intervals(net, box), 300),
            ("exact evaluation, 1 point", lambda: evaluate(net, x), 30)]
    try:
        from verify.backends import patterns as P

        pat = P.activation_pattern(net, x)
        rows += [("activation pattern, 1 point (exact)", lambda: P.activation_pattern(net, x), 100),
                 ("affine map of the output under it", lambda: P.pattern_affine_map(net, pat), 30)]
    except ImportError:
        pass
    for _, fn, _ in rows:  # compile the plans once
        fn()
    print("| walk on random 9-64-64-1 | ms (best) |")
    print("|---|---|")
    for label, fn, reps in rows:
        print(f"| {label} | {best(fn, reps):.3f} |")


if __name__ == "__main__":
    main()
