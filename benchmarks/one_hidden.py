"""Timings of ``one_hidden_layer`` (region enumeration + certificate or z3 proof), one run each.

No peer tool decides one-hidden-layer representability, so no ratio is printed. Run from the repository
root: ``python benchmarks/one_hidden.py``.
"""

from __future__ import annotations

import random
import time
from fractions import Fraction as F

from verify.analysis.one_hidden import check_certificate, max_network, one_hidden_layer
from verify.constructions import max_tree
from verify.ir.layers import Layer, from_layers


def random_one_hidden(d, width, seed):
    rnd = random.Random(seed)
    hidden = Layer(tuple(tuple(F(rnd.randint(-3, 3)) for _ in range(d)) for _ in range(width)),
                   tuple(F(rnd.randint(-2, 2)) for _ in range(width)), "relu")
    out = Layer((tuple(F(rnd.choice([-3, -2, -1, 1, 2, 3]), rnd.randint(1, 3)) for _ in range(width)),),
                (F(1),), "linear")
    return from_layers(d, [hidden, out], name=f"random {d}-{width}-1")


def main() -> None:
    cases = [(f"max_{d} (max node)", max_network(d)) for d in range(2, 7)]
    cases += [(f"max_tree({d}), gadget A", max_tree(d)) for d in (2, 3, 4)]
    cases += [(f"random {d}-{w}-1", random_one_hidden(d, w, d)) for d, w in ((2, 4), (3, 6), (4, 8), (6, 8))]
    print("| network | d | verdict | regions | facet points | certificate / width | seconds | of which z3 |")
    print("|---|---|---|---|---|---|---|---|")
    for label, net in cases:
        t = time.perf_counter()
        r = one_hidden_layer(net)
        seconds = time.perf_counter() - t
        if r.certificate is not None:
            assert check_certificate(net, r.certificate).valid
            extra = r.certificate["type"]
        elif r.network is not None:
            extra = f"width {r.network.n_relus}"
        else:
            extra = r.reason
        verdict = {True: "representable", False: "not representable", None: "unknown"}[r.representable]
        print(f"| {label} | {net.n_inputs} | {verdict} | {r.n_regions} | {r.n_facet_points} | {extra} | "
              f"{seconds:.2f} | {r.proof_seconds:.2f} |")


if __name__ == "__main__":
    main()
