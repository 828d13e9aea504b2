"""The frontier tasks (issue 15): seconds and peak memory, beside the public repository's own checks.

Each task runs in a fresh child process (peak resident memory is that process's ``ru_maxrss``, Python and
numpy included), killed at ``--cap`` seconds. The public repository msun170/relu-max6 reports about 10
minutes for its chamber proof of max_6 (``check_max6.py``: cell enumeration, exact gradients, adjacency
closure) and about 20 s to check its max_7 certificate; those are its numbers on its machine, quoted
from its README and LITERATURE.md section 6, not re-run here.

    python benchmarks/frontier_bench.py              # every task
    python benchmarks/frontier_bench.py --only prove-max6 --cap 600
    python benchmarks/frontier_bench.py --with-previous   # also the earlier symmetry route on max5
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

PUBLIC = {"prove-max6": ("~600 s (its chamber proof)", 600.0), "recheck-max7": ("~20 s (its certificate check)", 20.0)}


def _scrambled_max5(seed=13):
    import random
    from fractions import Fraction

    from verify.constructions.published import load_max5
    from verify.ir.layers import Layer, from_layers, to_layers

    rnd = random.Random(seed)
    L = to_layers(load_max5())
    W1, W2, W3 = ([list(r) for r in l.weights] for l in L)
    perm = list(range(5))
    rnd.shuffle(perm)
    W1 = [[row[perm[i]] for i in range(5)] for row in W1]
    for j in range(len(W1)):
        c = Fraction(rnd.randint(1, 9), rnd.randint(1, 9))
        W1[j] = [w * c for w in W1[j]]
        for row in W2:
            row[j] /= c
    for u in range(len(W2)):
        c = Fraction(rnd.randint(1, 9), rnd.randint(1, 9))
        W2[u] = [w * c for w in W2[u]]
        W3[0][u] /= c
    o1 = list(range(len(W1)))
    rnd.shuffle(o1)
    o2 = list(range(len(W2)))
    rnd.shuffle(o2)
    W1 = [W1[j] for j in o1]
    W2 = [[row[j] for j in o1] for row in W2]
    W2, W3 = [W2[u] for u in o2], [[W3[0][u] for u in o2]]
    z = lambda n: (Fraction(0),) * n
    return from_layers(5, [Layer(tuple(map(tuple, W1)), z(len(W1)), "relu"),
                           Layer(tuple(map(tuple, W2)), z(len(W2)), "relu"),
                           Layer(tuple(map(tuple, W3)), z(1), "linear")])


def _task(name):
    """Run one task; returns a short result text."""
    import json
    from fractions import Fraction

    from verify.analysis.arrangement import arrangement_certificate, prove_by_arrangement
    from verify.analysis.arrangement_check import recheck_arrangement
    from verify.analysis.search import search_max
    from verify.analysis.search_check import recheck_search
    from verify.constructions.support_sum import compile_support_sum, load_shipped_support_sum, max6_two_hidden

    if name == "build-max6":
        net = compile_support_sum(load_shipped_support_sum("max6"))
        return f"{net.n_inputs}-" + "-".join(map(str, net.widths)) + "-1"
    if name == "prove-max6":
        res, _ = prove_by_arrangement(max6_two_hidden())
        return f"{res.status} ({res.stats['rays']} lines, {res.stats['hyperplanes']} hyperplanes)"
    if name == "prove-max6-distinct":
        res, _ = prove_by_arrangement(max6_two_hidden("distinct"))
        return f"{res.status} (6-42-1352-1)"
    if name == "certificate-max6":
        net = max6_two_hidden()
        res, proof = prove_by_arrangement(net)
        text = json.dumps(arrangement_certificate(net, proof))
        out = recheck_arrangement(json.loads(text))
        return f"prove + write ({len(text) // 1000} kB) + recheck: {'holds' if out.holds else out.reason}"
    if name == "refute-max6":
        from verify.ir.layers import Layer, from_layers, to_layers

        net = max6_two_hidden()
        L = to_layers(net)
        W = [[list(r) for r in l.weights] for l in L]
        W[1][700][3] += Fraction(1, 3)  # one second-layer weight changed
        bad = from_layers(6, [Layer(tuple(map(tuple, w)), l.bias, l.activation) for w, l in zip(W, L)])
        res, _ = prove_by_arrangement(bad)
        return f"{res.status} at ({', '.join(str(v) for v in res.counterexample)})"
    if name == "search-max5":
        r = search_max(5, 2, 2, symmetric=True)
        return f"{r.status}: {r.stats['blocks_used']} blocks, 5-" + "-".join(map(str, r.network.widths)) + "-1, PROVED"
    if name == "search-max6":
        r = search_max(6, 2, 2, symmetric=True)
        return f"{r.status}: {r.stats['blocks_used']} blocks, 6-" + "-".join(map(str, r.network.widths)) + "-1, PROVED"
    if name == "max7-certificate":
        r = search_max(7, 2, 2, symmetric=True, prove=False)
        return f"{r.status}: {len(r.certificate['points'])} points, rank {r.stats['rank']}"
    if name == "recheck-max7":
        from importlib import resources

        cert = json.loads(resources.files("verify").joinpath("data", "max7_weight2_certificate.json").read_text())
        out = recheck_search(cert)
        return f"shipped certificate ({len(cert['points'])} points): {'holds' if out.holds else out.reason}"
    if name == "max5-scrambled":
        res, _ = prove_by_arrangement(_scrambled_max5())
        return f"{res.status} ({res.stats['rays']} lines)"
    if name == "max5-scrambled-previous":
        from verify.analysis.exactness import check_exact

        res = check_exact(_scrambled_max5(), backend="auto", timeout=200)
        return f"{res.status} (backend auto before the arrangement route)"
    raise ValueError(name)


TASKS = ["build-max6", "prove-max6", "prove-max6-distinct", "certificate-max6", "refute-max6", "search-max5",
         "search-max6", "max7-certificate", "recheck-max7", "max5-scrambled"]


def _child(name, conn):
    import resource

    t = time.monotonic()
    try:
        text = _task(name)
    except Exception as exc:  # report, do not crash the table
        text = f"error: {type(exc).__name__}: {exc}"
    conn.send((time.monotonic() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, text))


def run(name, cap):
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(name, b))
    p.start()
    if a.poll(cap):
        sec, mem, text = a.recv()
    else:
        sec, mem, text = None, None, f">{cap:.0f} s (killed)"
    p.kill()
    p.join()
    return sec, mem, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append")
    ap.add_argument("--cap", type=float, default=900)
    ap.add_argument("--with-previous", action="store_true")
    args = ap.parse_args()
    names = args.only or TASKS + (["max5-scrambled-previous"] if args.with_previous else [])
    print("| task | seconds | peak MB | public repository | ratio | result |")
    print("|---|---|---|---|---|---|")
    for name in names:
        sec, mem, text = run(name, args.cap)
        pub, pub_s = PUBLIC.get(name, ("", None))
        ratio = f"{pub_s / sec:.0f}x" if pub_s and sec else ""
        print(f"| {name} | {'' if sec is None else f'{sec:.2f}'} | {'' if mem is None else f'{mem:.0f}'} | {pub} "
              f"| {ratio} | {text} |", flush=True)


if __name__ == "__main__":
    main()
