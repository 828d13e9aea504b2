"""Speed and memory of exact region enumeration (issue 4).

For max trees (d = 3..8) and random fully connected networks (up to about 10^4 regions) prints:
regions, seconds, regions per second, LP solves, the ratio of the time to (regions x one LP solve),
and the peak memory of a streaming run (tracemalloc, regions not kept).

"one LP solve" is the median time to solve, from scratch with HiGHS, the Chebyshev-centre LP of one
region's full constraint system (measured on up to 50 of the enumerated regions): the cost of merely
re-checking each region once with an LP. A ratio near 1 means enumeration costs about as much as
checking the answer.

Peers (PEERS.md, random 4-16-16-1 network on [0,1]^4, exact region counting): nnenum 0.27 s (float),
pycddlib 4.5 s, scipy LP 11.9 s, pplpy 27.5 s. Our 4-16-16-1 network is a seeded random network of the
same shape (the peers' weights are not available), so the comparison is about the order of magnitude.

Usage: ``python benchmarks/regions_bench.py [--quick] [--pieces]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from fractions import Fraction

import numpy as np

from verify.analysis.regions import RegionEnumerator, count_regions
from verify.backends.lp import ChebyshevLP
from verify.constructions import max_tree
from verify.domain import Box
from verify.ir import Layer, from_layers

PEERS_4_16_16_1 = {"nnenum (float)": 0.27, "pycddlib": 4.5, "scipy LP": 11.9, "pplpy": 27.5}


def random_net(widths, seed):
    """Gaussian weights (scaled by 1/sqrt(fan-in)), biases N(0, 1/4), converted exactly from floats."""
    rng = np.random.default_rng(seed)
    layers, prev = [], widths[0]
    for l, w in enumerate(widths[1:]):
        W = rng.normal(size=(w, prev)) / np.sqrt(prev)
        b = rng.normal(size=w) * 0.5
        act = "relu" if l < len(widths) - 2 else "linear"
        layers.append(Layer(tuple(tuple(Fraction(float(v)) for v in row) for row in W),
                            tuple(Fraction(float(v)) for v in b), act))
        prev = w
    return from_layers(widths[0], layers, name=f"random {'-'.join(map(str, widths))} seed={seed}")


def one_lp_seconds(enum: RegionEnumerator, regions, box: Box) -> float:
    """Median time of one from-scratch max-margin LP over a region's constraints."""
    times = []
    lo = [float(v) for v in box.lo]
    hi = [float(v) for v in box.hi]
    for r in regions[:50]:
        t0 = time.perf_counter()
        lp = ChebyshevLP(enum.c.d, lo, hi, t_cap=enum.scale)
        for row in r.constraints:
            a, k = enum._float_row(row)
            lp.push(a, k)
        lp.solve()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) if times else float("nan")


def run_case(net, box, pieces: bool):
    t0 = time.perf_counter()
    enum = RegionEnumerator(net, box, self_check=False, keep_constraints=True)
    regions = list(enum)
    seconds = time.perf_counter() - t0
    t_lp = one_lp_seconds(enum, regions, box)
    n = len(regions)
    extra = ""
    if pieces:
        t1 = time.perf_counter()
        r = count_regions(net, box, self_check=False)
        extra = f"{r.linear_pieces} pieces in {time.perf_counter() - t1:.2f} s (with enumeration)"
    # streaming run under tracemalloc: regions are not kept
    tracemalloc.start()
    stream = RegionEnumerator(net, box, self_check=False, keep_constraints=False)
    m = 0
    for _ in stream:
        m += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert m == n, (m, n)
    return {
        "net": net.name,
        "relus": net.n_relus,
        "regions": n,
        "seconds": seconds,
        "rate": n / seconds if seconds else float("inf"),
        "lps": enum.lp_solves,
        "certs": enum.certificates,
        "z3": enum.z3_calls,
        "ratio": seconds / (n * t_lp),
        "t_lp_ms": t_lp * 1e3,
        "peak_mb": peak / 2 ** 20,
        "extra": extra,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small cases only")
    ap.add_argument("--pieces", action="store_true", help="also time linear pieces")
    ap.add_argument("--random-only", action="store_true", help="only the random networks")
    args = ap.parse_args(argv)
    cases = []
    top = 6 if args.quick else 8
    for gadget in () if args.random_only else ("A", "B", "skip"):
        for d in range(3, top + 1):
            if gadget == "B" and d > (5 if args.quick else 7):
                continue  # B at d = 8 has tens of thousands of regions
            cases.append((max_tree(d, gadget), Box.cube(d, -1, 1)))
    randoms = [([4, 16, 16, 1], 0, Box.cube(4, 0, 1)), ([3, 12, 12, 1], 1, Box.cube(3, -1, 1))]
    if not args.quick:
        randoms += [([3, 20, 20, 1], 4, Box.cube(3, -1, 1)), ([2, 40, 40, 1], 3, Box.cube(2, -2, 2)),
                    ([4, 24, 24, 1], 2, Box.cube(4, -1, 1))]
    for widths, seed, box in randoms:
        cases.append((random_net(widths, seed), box))
    header = (f"{'network':34} {'ReLUs':>5} {'regions':>8} {'seconds':>8} {'regions/s':>9} {'LPs':>7} "
              f"{'certs':>6} {'z3':>4} {'1 LP ms':>7} {'ratio':>6} {'peak MB':>7}")
    print(header)
    print("-" * len(header))
    for net, box in cases:
        row = run_case(net, box, args.pieces)
        print(f"{row['net']:34} {row['relus']:5d} {row['regions']:8d} {row['seconds']:8.2f} {row['rate']:9.0f} "
              f"{row['lps']:7d} {row['certs']:6d} {row['z3']:4d} {row['t_lp_ms']:7.3f} {row['ratio']:6.2f} "
              f"{row['peak_mb']:7.2f}" + (f"  {row['extra']}" if row["extra"] else ""))
        sys.stdout.flush()
        if net.name.startswith("random 4-16-16-1"):
            peers = ", ".join(f"{k} {v} s (x{v / row['seconds']:.2f})" for k, v in PEERS_4_16_16_1.items())
            print(f"    peers on a 4-16-16-1 net (their time / ours): {peers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
