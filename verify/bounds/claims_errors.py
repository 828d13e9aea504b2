"""Catalogue family ``errors``: exact worst-case errors of simple approximations of max pooling.

Derived here (a hand proof in each docstring) and checked by the z3 worst-case query.
"""

from __future__ import annotations

from fractions import Fraction

from ..status import Status
from ..analysis.worst_case import worst_case_error
from ..constructions import mean_network, truncated_tree
from ..constructions.approximations import truncated_groups
from ..domain import Box
from ..numbers import to_text
from .catalogue import Computed, claim, collect

__all__: list[str] = []  # the claims register themselves with the catalogue on import

MEAN_D = range(2, 10)
TRUNCATED = ((4, 1), (8, 1), (8, 2), (9, 1), (9, 2), (16, 2), (16, 3))


def _errors(cases) -> Computed:
    def rows():
        for label, net, box in cases:
            r = worst_case_error(net, box)
            # Witnesses are not unique (any maximiser will do), so only the exact values are stored.
            yield (f"({to_text(r.sup_under)}, {to_text(r.sup_over)})", label,
                   {"sup_under": to_text(r.sup_under), "sup_over": to_text(r.sup_over)}, r.status is not Status.PROVED)

    return collect(rows())


@claim(
    id="errors.mean",
    family="errors",
    statement="Average pooling of d inputs on [0,1]^d: sup(max - mean) = (d-1)/d, sup(mean - max) = 0 (d = 2..9)",
    source_key="project",
    conditions="box [0,1]^d; values shown as (sup_under, sup_over)",
    expected=lambda: " ".join(f"({to_text(Fraction(d - 1, d))}, 0)" for d in MEAN_D),
)
def _mean():
    # mean <= max everywhere. max - mean is convex, so its sup on the cube is at a vertex; at a vertex
    # with k >= 1 ones it is 1 - k/d, largest for k = 1: (d-1)/d.
    return _errors([(f"d={d}", mean_network(d), Box.cube(d)) for d in MEAN_D])


@claim(
    id="errors.truncated",
    family="errors",
    statement="Truncated tree (exact max in m groups, then their mean) on [0,1]^d: sup(max - N) = (m-1)/m, sup(N - max) = 0",
    source_key="project",
    conditions="box [0,1]^d; (d, level) in " + ", ".join(f"({d},{l})" for d, l in TRUNCATED),
    expected=lambda: " ".join(f"({to_text(Fraction(m - 1, m))}, 0)" for m in (len(truncated_groups(d, l)) for d, l in TRUNCATED)),
)
def _truncated():
    # Each group max is <= max, so N <= max. max - N is convex (max convex, N concave? no: N is a mean
    # of maxima, convex) -- so argue directly: at most one group can hold the overall max value 1 on a
    # vertex with a single 1, giving N = 1/m; any x has max - N <= max - max/m = (m-1)/m * max <= (m-1)/m.
    return _errors([(f"d={d},level={l}", truncated_tree(d, l, "A"), Box.cube(d)) for d, l in TRUNCATED])
