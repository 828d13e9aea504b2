"""Core query speeds (issue 2): exactness of max trees, errors of approximations, a random network.

Prints a markdown table. Peer figures are from PEERS.md (plain z3 Optimize with ReLU as If, measured
on this kind of machine); pass ``--peer`` to re-run plain z3 Optimize on the random network here.

    python benchmarks/core_bench.py [--quick] [--peer] [--timeout 600]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from verify import Box, check_exact, max_tree, mean_network, truncated_tree, worst_case_error  # noqa: E402
from verify.io import load_network  # noqa: E402
from verify.numbers import to_text  # noqa: E402

PEER_RANDOM_4_16_16 = 181.0  # seconds, plain z3 Optimize, PEERS.md (iii)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def plain_z3_optimize(net, box, timeout):
    """The peer: z3 Optimize with every ReLU as If and no bounds (maximise max - N)."""
    import z3

    from verify.backends.z3_backend import Z3Lowering, domain_constraints, max_expr

    xs = [z3.Real(f"x{i}") for i in range(net.n_inputs)]
    low = Z3Lowering(net, xs)
    side = []
    m = max_expr(xs, "m", side)
    opt = z3.Optimize()
    opt.set("timeout", int(timeout * 1000))
    opt.add(domain_constraints(xs, box) + side + low.side)
    opt.maximize(m - low.outputs[0])
    return str(opt.check())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="smaller d values")
    p.add_argument("--peer", action="store_true", help="re-run plain z3 Optimize on the random network")
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()
    ds = (4, 9, 16) if args.quick else (4, 9, 16, 25, 49, 64)
    print("| query | d | gadget | result | seconds |")
    print("|---|---|---|---|---|")
    for d in ds:
        for g in ("A", "B", "skip"):
            r, t = timed(lambda: check_exact(max_tree(d, g)))
            print(f"| exact on R^d | {d} | {g} | {r.status.value} | {t:.3f} |")
    for d in ds:
        r, t = timed(lambda: worst_case_error(mean_network(d), Box.cube(d)))
        print(f"| error of mean on [0,1]^d | {d} | - | {to_text(r.sup_under)} ({r.status.value}) | {t:.3f} |")
        r, t = timed(lambda: worst_case_error(truncated_tree(d, 1, "A"), Box.cube(d)))
        print(f"| error of truncated tree, level 1 | {d} | A | {to_text(r.sup_under)} ({r.status.value}) | {t:.3f} |")
    net = load_network(Path(__file__).resolve().parent / "networks" / "random_4-16-16-1.json")
    box = Box.cube(4)
    for backend in _backends():
        r, t = timed(lambda: worst_case_error(net, box, timeout=args.timeout, **backend[1]))
        ratio = f"ratio {PEER_RANDOM_4_16_16 / t:.1f}x" if r.status.value == "PROVED" else "not decided within the timeout"
        print(f"| error of random 4-16-16-1 ({backend[0]}) | 4 | - | over {float(r.sup_over):.6f}, under "
              f"{float(r.sup_under):.6f} ({r.status.value}) | {t:.2f} (plain z3 Optimize: {PEER_RANDOM_4_16_16:.0f} s, "
              f"{ratio}) |")
    if args.peer:
        r, t = timed(lambda: plain_z3_optimize(net, box, args.timeout))
        print(f"| peer: plain z3 Optimize, random 4-16-16-1 | 4 | - | {r} | {t:.2f} |")


def _backends():
    import inspect

    params = inspect.signature(worst_case_error).parameters
    if "backend" in params:
        return [("z3", {"backend": "z3"}), ("milp", {"backend": "milp"})]
    return [("z3", {})]


if __name__ == "__main__":
    main()
