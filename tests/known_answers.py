"""Networks with exactly known properties, shared by the tests of every backend (DESIGN.md, habit 7).

Each entry gives the network, the box, and facts derived by hand or from the literature (not from the
toolkit): whether it equals max on R^d, and its worst-case errors on the box.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from verify.constructions import max_chain, max_tree, mean_network, pool2d, truncated_tree
from verify.constructions.approximations import truncated_groups
from verify.domain import Box


@dataclass(frozen=True)
class KnownAnswer:
    name: str
    make: object
    box: Box
    exact: bool  # equals max on all of R^d
    sup_over: Fraction  # sup (N - max) on the box
    sup_under: Fraction  # sup (max - N) on the box


def _cases():
    cases = []
    for g in ("A", "B", "skip"):
        for d in (2, 3, 4, 5):
            cases.append(KnownAnswer(f"tree-{g}-{d}", lambda d=d, g=g: max_tree(d, g), Box.cube(d), True, Fraction(0), Fraction(0)))
        cases.append(KnownAnswer(f"chain-{g}-4", lambda g=g: max_chain(4, g), Box.cube(4, -1, 2), True, Fraction(0), Fraction(0)))
    for d in (2, 3, 4, 6):
        # mean on [0,1]^d: max - mean is largest at a unit vector, (d-1)/d; mean <= max always.
        cases.append(KnownAnswer(f"mean-{d}", lambda d=d: mean_network(d), Box.cube(d), False, Fraction(0), Fraction(d - 1, d)))
    for d, level in ((4, 1), (6, 1), (8, 2), (5, 2)):
        m = len(truncated_groups(d, level))
        # m groups: one group max 1, the others 0 -> N = 1/m, error (m-1)/m; N <= max always.
        cases.append(KnownAnswer(f"truncated-{d}-{level}", lambda d=d, level=level: truncated_tree(d, level, "A"),
                                 Box.cube(d), False, Fraction(0), Fraction(m - 1, m)))
    # mean on [-1,1]^d: max - mean <= 2(d-1)/d at (1,-1,...,-1): max 1, mean (2-d)/d.
    cases.append(KnownAnswer("mean-3-sym", lambda: mean_network(3), Box.cube(3, -1, 1), False, Fraction(0), Fraction(4, 3)))
    cases.append(KnownAnswer("pool-3x3-k2-s1", lambda: pool2d(3, 3, 2, 1, "B"), Box.cube(9), True, Fraction(0), Fraction(0)))
    return cases


KNOWN_ANSWERS = _cases()
