"""Catalogue family ``regions``: linear regions and pieces against the published counts and bounds."""

from __future__ import annotations

from fractions import Fraction

from ..analysis.regions import count_regions
from ..status import Status
from ..constructions import max_tree
from ..domain import Box, RealSpace
from ..ir.builder import GraphBuilder
from ..ir.layers import Layer, from_layers
from .catalogue import Computed, claim, collect
from .regions import central_arrangement_bound, maxpool_1d_overlapping_regions, serra_upper_bound, zaslavsky_bound

__all__: list[str] = []  # the claims register themselves with the catalogue on import


@claim(
    id="regions.max-pieces",
    family="regions",
    statement="MAX_d has exactly d linear pieces; every exact tree (gadgets A, B, skip) has d pieces, d = 2..5",
    source_key="project",
    conditions="box [-1,1]^d; pieces = connected unions of regions with one affine map, joined across facets",
    expected=lambda: " ".join(f"{g}:" + ",".join(str(d) for d in range(2, 6)) for g in ("A", "B", "skip")),
)
def _max_pieces():
    out, detail, unknown = [], {}, False
    for g in ("A", "B", "skip"):
        pieces = []
        for d in range(2, 6):
            r = count_regions(max_tree(d, g), Box.cube(d, -1, 1), progress=False)
            unknown |= r.status is not Status.PROVED
            pieces.append(str(r.linear_pieces))
            detail[f"{g} d={d}"] = {"activation_regions": r.activation_regions, "affine_maps": r.affine_maps,
                                    "linear_pieces": r.linear_pieces}
        out.append(f"{g}:" + ",".join(pieces))
    return Computed(" ".join(out), detail, unknown)


@claim(
    id="regions.escobar-1d",
    family="regions",
    statement="A 1-D max-pooling layer with window 2 and stride 1 on n inputs has 2^(n-1) linear regions, n = 2..6",
    source_key="escobar2022",
    conditions="the pooling layer itself (max nodes) on all of R^n",
    expected=lambda: " ".join(str(maxpool_1d_overlapping_regions(n)) for n in range(2, 7)),
)
def _escobar():
    def rows():
        for n in range(2, 7):
            b = GraphBuilder(n)
            xs = b.input_exprs()
            windows = [(i, i + 1) for i in range(n - 1)]
            for w in windows:
                b.output(b.max([xs[i] for i in w]))
            r = count_regions(b.build(windows=windows), RealSpace(n), pieces=False, progress=False)
            yield str(r.activation_regions), None, None, r.status is not Status.PROVED

    return collect(rows())


# Integer hyperplanes chosen by hand in general position (no two parallel, no three through one point;
# checked exactly in tests/test_regions.py's way for these rows).
GENERAL_LINES = ((1, 0, 0), (0, 1, 0), (1, 1, -1), (1, -1, 2), (2, 1, 3), (1, -3, -4))
CENTRAL_LINES = ((1, 0), (0, 1), (1, 1), (1, -2))


def _one_layer(rows):
    d = len(rows[0]) - 1
    W = tuple(tuple(Fraction(v) for v in r[:d]) for r in rows)
    b = tuple(Fraction(r[d]) for r in rows)
    out = (tuple(Fraction(k + 1) for k in range(len(rows))),)
    return from_layers(d, [Layer(W, b, "relu"), Layer(out, (Fraction(0),), "linear")])


@claim(
    id="regions.zaslavsky",
    family="regions",
    statement="m hyperplanes in general position cut R^d into sum_{j<=d} C(m,j) regions (a one-hidden-layer net reaches "
              "it); m central lines in general position in R^2 make 2 sum_{j<2} C(m-1,j)",
    source_key="zaslavsky1975",
    conditions="one hidden layer, all of R^2; 6 affine lines, 4 lines through 0",
    expected=lambda: f"{zaslavsky_bound(len(GENERAL_LINES), 2)} {central_arrangement_bound(len(CENTRAL_LINES), 2)}",
)
def _zaslavsky():
    a = count_regions(_one_layer(GENERAL_LINES), RealSpace(2), pieces=False, progress=False)
    c = count_regions(_one_layer(tuple(r + (0,) for r in CENTRAL_LINES)), RealSpace(2), pieces=False, progress=False)
    return Computed(f"{a.activation_regions} {c.activation_regions}",
                    unknown=a.status is not Status.PROVED or c.status is not Status.PROVED)


@claim(
    id="regions.serra",
    family="regions",
    statement="Regions of max trees on R^d never exceed Serra et al.'s bound; shown as count/bound, d = 2..4, gadget B",
    source_key="serra2018",
    conditions="layered networks; all of R^d",
    expected=lambda: "within the bound for all 3",
)
def _serra():
    detail, over, unknown = {}, [], False
    for d in (2, 3, 4):
        net = max_tree(d, "B")
        r = count_regions(net, RealSpace(d), pieces=False, progress=False)
        unknown |= r.status is not Status.PROVED
        bound = serra_upper_bound(d, net.widths)
        detail[f"d={d}"] = f"{r.activation_regions}/{bound}"
        if r.activation_regions > bound:
            over.append(d)
    return Computed("within the bound for all 3" if not over else f"above the bound for d in {over}", detail, unknown)
