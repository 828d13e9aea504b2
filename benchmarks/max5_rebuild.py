"""Timings of the max-of-5 rebuild: blocks, network, exact identity and evaluation checks.

Optionally (``--z3 SECONDS``) asks z3 to prove the rebuilt network equal to the shipped file on R^5.
Run from the repository root: ``python benchmarks/max5_rebuild.py [--z3 600]``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from verify.analysis import check_equivalent
from verify.backends.evaluator import evaluate
from verify.analysis.max5 import compare_structure, prove_same_function
from verify.constructions.max5 import identity_value, max5_blocks, max5_two_hidden
from verify.io.json_format import load_network

GRID = list(itertools.product((-1, 0, 1), repeat=5))


def shipped() -> Path | None:
    for p in (Path("verify/data/max5_depth2.json"), Path("/work/shared/data/max5_depth2.json")):
        if p.exists():
            return p
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--z3", type=float, default=None, metavar="SECONDS")
    args = ap.parse_args()
    rows = []
    t = time.perf_counter()
    blocks = max5_blocks()
    rows.append(("600 blocks (orbits, exact vertex sets)", time.perf_counter() - t))
    t = time.perf_counter()
    net = max5_two_hidden(blocks)
    rows.append((f"network {net.widths}", time.perf_counter() - t))
    t = time.perf_counter()
    assert all(identity_value(blocks, x) == 2 * max(x) for x in GRID)
    rows.append(("identity at {-1,0,1}^5 (243 points, exact)", time.perf_counter() - t))
    t = time.perf_counter()
    assert all(evaluate(net, x) == (max(x),) for x in GRID)
    rows.append(("network == max at {-1,0,1}^5 (exact evaluation)", time.perf_counter() - t))
    path = shipped()
    if path is not None:
        file_net = load_network(path)
        t = time.perf_counter()
        report = compare_structure(net, file_net)
        rows.append((f"structure vs file: widths {report['widths']}, common layer-2 units "
                     f"{report['second_layer_common']}/602", time.perf_counter() - t))
        t = time.perf_counter()
        proved, details = prove_same_function(net, file_net)
        rows.append((f"exact structural proof rebuilt == file on R^5: {proved} ({details['terms']} support terms)",
                     time.perf_counter() - t))
        if args.z3:
            t = time.perf_counter()
            r = check_equivalent(net, file_net, timeout=args.z3)
            rows.append((f"z3 rebuilt == file on R^5: {r.status} {r.reason}", time.perf_counter() - t))
    print("| step | seconds |")
    print("|---|---|")
    for label, s in rows:
        print(f"| {label} | {s:.2f} |")


if __name__ == "__main__":
    main()
