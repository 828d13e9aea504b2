"""Exact region counting: hand-derived counts, closed forms from the literature, invariances.

Hand derivations are in the comments next to each expected value; none of the expected numbers was
taken from the code's output.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest

from verify.analysis.regions import count_regions, iter_regions, slice_network
from verify.backends.evaluator import evaluate, evaluate_nodes
from verify.bounds import regions as rb
from verify.cli import main
from verify.constructions import max_chain, max_tree, mean_network
from verify.domain import Box, RealSpace
from verify.errors import ToolkitBugError
from verify.io.json_format import save_network
from verify.ir import GraphBuilder, Layer, from_layers
from verify.ir.ops import Op


def counts(net, domain, **kw):
    r = count_regions(net, domain, **kw)
    assert r.status.value == "PROVED", r.reason
    return r.activation_regions, r.affine_maps, r.linear_pieces


# -- hand-derived counts for the max trees ------------------------------------------------------
#
# Gadget A, d=2: relu(a-b), relu(b), relu(-b): the lines a=b and b=0 (twice) through the origin:
#   4 sectors in a box around 0. f = a where a>b (both sides of b=0), f = b where a<b: 2 maps; the
#   two a>b sectors share the half-line {b=0, a>0}: 2 pieces.
# Gadget A, d=3: level 1 has the planes x0=x1, x1=0, x2=0 (carry of x2 = relu(x2)-relu(-x2)) with
#   independent normals: 8 octants in u=x0-x1, v=x1, w=x2. Level 2 adds relu(m-x2) with
#   m = max(x0,x1) = v + max(u,0), and relu(+-x2) again (no new plane). On an octant, m - x2 changes
#   sign iff it takes both signs there: u>0 (m-x2 = u+v-w): splits for (v,w) signs (+,+),(-,+),(-,-),
#   not (+,-) -> 4+3 = 7; u<0 (m-x2 = v-w): splits for (+,+),(-,-) only -> 4+2 = 6. Total 13; every
#   cell is a cone at 0, so a box around 0 holds all. Maps: which x_i is the max: 3, each piece convex.
# Gadget B, d=2: relu(+-(a-b)), relu(+-(a+b)): lines a=b, a=-b: 4 sectors, maps a / b: 2, pieces 2.
# Gadget B, d=3: level 1 planes x0=x1, x0=-x1, x2=0 (u, v, w coordinates, 8 octants); level 2 adds
#   the surfaces m = x2 and m = -x2 with m = (v+|u|)/2. For v>0, m ranges over (0, inf): w>0 -> only
#   m=w splits (2 cells), w<0 -> only m=-w (2 cells); for v<0, m ranges over R: both split, 3 cells
#   (m<-|w|, |m|<|w|, m>|w|) for either sign of w. Per sign of u: 2+3+2+3 = 10; total 20. Maps 3.
# Skip gadget, d=2: b + relu(a-b): one line: 2 regions, 2 maps, 2 pieces.
# Skip gadget, d=3: x1 + relu(x0-x1) = m, then x2 + relu(m-x2): x0>x1 split by x0=x2, x0<x1 split by
#   x1=x2: 4 regions; maps x0, x1, x2 (x2 twice: {x2 > x0 > x1} and {x2 > x1 > x0} share the facet
#   x0 = x1 inside {x2 > both}): 3 maps, 3 pieces.
HAND = {
    ("A", 2): (4, 2, 2),
    ("A", 3): (13, 3, 3),
    ("B", 2): (4, 2, 2),
    ("B", 3): (20, 3, 3),
    ("skip", 2): (2, 2, 2),
    ("skip", 3): (4, 3, 3),
}


@pytest.mark.parametrize("gadget,d", sorted(HAND))
def test_tree_counts_hand_derived(gadget, d):
    assert counts(max_tree(d, gadget), Box.cube(d, -1, 1)) == HAND[(gadget, d)]


def test_tree_counts_hand_derived_z3_backend():
    # The exact backend decides every branch with z3: a second route to the same numbers.
    for (gadget, d), want in HAND.items():
        assert counts(max_tree(d, gadget), Box.cube(d, -1, 1), backend="z3") == want


def test_gadget_a_on_the_unit_square():
    # On [0,1]^2 the line b=0 is the box boundary: only a=b cuts the interior: 2 regions, 2 maps.
    assert counts(max_tree(2, "A"), Box.cube(2, 0, 1)) == (2, 2, 2)


def test_hat_function_same_map_twice_but_two_pieces():
    # f = relu(x-1) - 2 relu(x) + relu(x+1): 0 on x<-1, x+1 on (-1,0), 1-x on (0,1), 0 on x>1.
    # In [-2,2]: 4 regions, 3 distinct maps (0 twice), and the two zero regions are not adjacent: 4 pieces.
    b = GraphBuilder(1)
    (x,) = b.input_exprs()
    b.output(b.relu(x - 1) - 2 * b.relu(x) + b.relu(x + 1))
    assert counts(b.build(), Box.cube(1, -2, 2)) == (4, 3, 4)


# -- linear pieces of exact max networks -----------------------------------------------------

@pytest.mark.parametrize("gadget", ["A", "B", "skip"])
@pytest.mark.parametrize("d", [2, 3, 4])
def test_exact_max_trees_have_d_pieces(gadget, d):
    # MAX_d has exactly d linear pieces (LITERATURE.md section 4); maps = d as well.
    r = count_regions(max_tree(d, gadget), Box.cube(d, -1, 1))
    assert (r.affine_maps, r.linear_pieces) == (d, d)


@pytest.mark.parametrize("gadget", ["A", "skip"])
def test_exact_max_chains_have_d_pieces(gadget):
    r = count_regions(max_chain(4, gadget), Box.cube(4, -1, 1))
    assert (r.affine_maps, r.linear_pieces) == (4, 4)


def test_max_node_network_regions_are_the_argmax_cells():
    # A single max node over d inputs: the regions are the d cells {x_i is the strict max}.
    for d in (2, 3, 4):
        b = GraphBuilder(d)
        b.output(b.max(b.input_exprs()))
        assert counts(b.build(), Box.cube(d, 0, 1)) == (d, d, d)


def test_mean_is_one_piece():
    for d in (1, 3, 5):
        assert counts(mean_network(d), Box.cube(d, 0, 1)) == (1, 1, 1)


# -- Escobar et al.: max pooling layers -------------------------------------------------------

def _pool1d(n: int, windows):
    b = GraphBuilder(n)
    xs = b.input_exprs()
    for w in windows:
        b.output(b.max([xs[i] for i in w]))
    return b.build(windows=windows)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_escobar_overlapping_1d_pooling(n):
    # The fact is about the max-pooling layer itself (max nodes), window 2 stride 1 on n inputs:
    # 2^(n-1) regions (Escobar et al., arXiv:2209.14978). Each region is a choice of one argmax per
    # window, so every region also has its own map.
    net = _pool1d(n, [(i, i + 1) for i in range(n - 1)])
    want = 2 ** (n - 1)
    assert rb.maxpool_1d_overlapping_regions(n) == want
    r = count_regions(net, Box.cube(n, 0, 1))
    assert (r.activation_regions, r.affine_maps) == (want, want)
    assert [b["value"] for b in r.bounds if b["name"].startswith("escobar")] == [str(want)]
    assert count_regions(net, RealSpace(n)).activation_regions == want


def test_escobar_disjoint_windows():
    # Non-overlapping windows of size 3 on 6 inputs: 3^2 = 9 regions.
    net = _pool1d(6, [(0, 1, 2), (3, 4, 5)])
    assert rb.maxpool_disjoint_regions([3, 3]) == 9
    assert count_regions(net, Box.cube(6, 0, 1)).activation_regions == 9


# -- hyperplane arrangements: Zaslavsky and Cover ---------------------------------------------

def _det(rows):
    import sympy

    return sympy.Matrix(rows).det()


def _general_position(W, bias):
    """Exact check: every d normals independent and no d+1 hyperplanes through one point."""
    m, d = len(W), len(W[0])
    for S in itertools.combinations(range(m), d):
        if _det([W[k] for k in S]) == 0:
            return False
    for S in itertools.combinations(range(m), d + 1):
        if _det([list(W[k]) + [bias[k]] for k in S]) == 0:
            return False
    return True


def _one_layer(W, bias):
    d = len(W[0])
    layers = [
        Layer(tuple(tuple(Fraction(v) for v in row) for row in W), tuple(Fraction(v) for v in bias), "relu"),
        Layer((tuple(Fraction(k + 1) for k in range(len(W))),), (Fraction(0),), "linear"),
    ]
    return from_layers(d, layers)


def _vertex_radius(W, bias):
    """Largest |coordinate| of an intersection point of d hyperplanes (exact)."""
    import sympy

    m, d = len(W), len(W[0])
    big = Fraction(0)
    for S in itertools.combinations(range(m), d):
        sol = sympy.Matrix([W[k] for k in S]).LUsolve(sympy.Matrix([-bias[k] for k in S]))
        big = max(big, max(abs(Fraction(int(v.p), int(v.q))) for v in sol))
    return big


@pytest.mark.parametrize("d,m,seed", [(2, 6, 1), (3, 5, 2), (2, 4, 3)])
def test_one_layer_general_position_reaches_zaslavsky(d, m, seed):
    rng = np.random.default_rng(seed)
    W = [[int(v) for v in rng.integers(-9, 10, size=d)] for _ in range(m)]
    bias = [int(v) for v in rng.integers(-9, 10, size=m)]
    assert _general_position(W, bias)
    net = _one_layer(W, bias)
    want = rb.zaslavsky_bound(m, d)  # 22, 26, 11
    assert want == sum(__import__("math").comb(m, j) for j in range(d + 1))
    assert count_regions(net, RealSpace(d)).activation_regions == want
    # A box that strictly contains every vertex of the arrangement meets every region.
    R = _vertex_radius(W, bias) + 1
    r = count_regions(net, Box.cube(d, -R, R), pieces=False)
    assert r.activation_regions == want
    z = [b for b in r.bounds if b["name"] == "zaslavsky"][0]
    assert z["value"] == str(want) and z["ratio"] == 1.0


def test_central_arrangement_reaches_cover():
    # 4 lines through the origin in general position in R^2: 2 * (C(3,0) + C(3,1)) = 8 sectors.
    W = [[1, 0], [0, 1], [1, 1], [1, -2]]
    net = _one_layer(W, [0, 0, 0, 0])
    assert rb.central_arrangement_bound(4, 2) == 8
    r = count_regions(net, Box.cube(2, -1, 1))
    assert r.activation_regions == 8
    assert [b["value"] for b in r.bounds if b["name"] == "cover"] == ["8"]


# -- bounds as formulas -----------------------------------------------------------------------

def test_bound_formulas_against_closed_forms():
    assert rb.zaslavsky_bound(3, 2) == 7  # 1 + 3 + 3
    assert rb.central_arrangement_bound(3, 2) == 6  # 3 lines through 0: 6 sectors
    # n0 = 1: Serra et al.'s bound is prod (n_l + 1) (LITERATURE.md section 4) when the hidden widths
    # before the last are >= 2 (then every j_l in {0, 1} is allowed).
    for widths in ([3], [3, 2], [4, 4, 4], [2, 5]):
        assert rb.serra_upper_bound(1, widths) == int(np.prod([w + 1 for w in widths]))
    # A width-1 layer caps the dimension: 1 -> 1 -> 5 has at most 1 + 6 = 7 regions (the inactive side
    # of the single unit maps to a point), not 2 * 6; the J-formula gives exactly that.
    assert rb.serra_upper_bound(1, [1, 5]) == 7
    # One hidden layer: Serra et al. = Zaslavsky.
    for d, m in ((2, 5), (3, 3), (4, 10)):
        assert rb.serra_upper_bound(d, [m]) == rb.zaslavsky_bound(m, d)
    # Montufar et al.: (floor(4/2)^2) * (C(4,0)+C(4,1)+C(4,2)) = 4 * 11.
    assert rb.montufar_lower_bound(2, [4, 4]) == 44
    assert rb.montufar_lower_bound(3, [2, 4]) is None  # needs n_l >= n_0


def test_count_above_an_upper_bound_is_a_toolkit_bug(monkeypatch):
    monkeypatch.setattr(rb, "serra_upper_bound", lambda n0, widths: 1)
    with pytest.raises(ToolkitBugError):
        count_regions(max_tree(2, "A"), Box.cube(2, -1, 1))


def test_layered_bounds_skipped_for_skip_connections():
    r = count_regions(max_tree(3, "skip"), Box.cube(3, -1, 1))
    (b,) = r.bounds
    assert b["applies"] is False and b["value"] is None and "layered" in b["note"]


# -- every region checked independently -------------------------------------------------------

def _random_net(widths, seed):
    rng = np.random.default_rng(seed)
    layers, prev = [], widths[0]
    for l, w in enumerate(widths[1:]):
        W = rng.integers(-6, 7, size=(w, prev))
        bias = rng.integers(-4, 5, size=w)
        act = "relu" if l < len(widths) - 2 else "linear"
        layers.append(Layer(tuple(tuple(Fraction(int(v), 3) for v in row) for row in W),
                            tuple(Fraction(int(v), 2) for v in bias), act))
        prev = w
    return from_layers(widths[0], layers)


@pytest.mark.parametrize("net,box", [
    (max_tree(3, "B"), Box.cube(3, -1, 1)),
    (_random_net([2, 5, 4, 1], 7), Box.cube(2, -3, 3)),
    (_random_net([3, 4, 3, 2], 8), Box.cube(3, -2, 2)),
])
def test_every_interior_point_rechecked(net, box):
    regions = list(iter_regions(net, box, self_check=False))
    assert len({r.pattern for r in regions}) == len(regions)
    rng = np.random.default_rng(0)
    d = net.n_inputs
    for r in regions:
        x = r.point
        assert all(lo < v < hi for v, lo, hi in zip(x, box.lo, box.hi))
        # strictly inside every defining half-space
        for row in r.constraints:
            assert sum(Fraction(row[i]) * x[i] for i in range(d)) + row[d] > 0
        # the network agrees with the region's affine map at the point and at points near it
        assert tuple(evaluate(net, x)) == r.value_at(x)
        for _ in range(3):
            delta = [Fraction(int(v), 10 ** 9) for v in rng.integers(-5, 6, size=d)]
            y = tuple(a + b for a, b in zip(x, delta))
            if all(row and sum(Fraction(row[i]) * y[i] for i in range(d)) + row[d] > 0 for row in r.constraints):
                assert tuple(evaluate(net, y)) == r.value_at(y)
        # ReLU signs at the point match the pattern (exact evaluator, not the enumerator's forms)
        values = evaluate_nodes(net, x)
        for bit, node in zip(r.pattern, [n for n in net.order if net.op(n) in (Op.RELU, Op.MAX)]):
            if net.op(node) is Op.RELU:
                pre = values[net.single_pred(node)]
                assert (pre > 0) == (bit == 1)


def test_sampled_points_land_in_enumerated_regions():
    # Independent completeness check: the ReLU sign pattern of many random points (exact evaluator)
    # is always one of the enumerated patterns.
    net = _random_net([2, 6, 5, 1], 11)
    box = Box.cube(2, -3, 3)
    found = {r.pattern for r in iter_regions(net, box)}
    rng = np.random.default_rng(1)
    relus = [n for n in net.order if net.op(n) is Op.RELU]
    seen = set()
    for _ in range(400):
        x = tuple(Fraction(int(v), 1000) for v in rng.integers(-2999, 3000, size=2))
        values = evaluate_nodes(net, x)
        pre = [values[net.single_pred(n)] for n in relus]
        if any(p == 0 for p in pre):
            continue
        pat = tuple(1 if p > 0 else 0 for p in pre)
        assert pat in found
        seen.add(pat)
    assert len(seen) <= len(found)


def test_highs_and_z3_backends_agree():
    net = _random_net([2, 4, 4, 1], 3)
    box = Box.cube(2, -2, 2)
    a = {r.pattern for r in iter_regions(net, box)}
    b = {r.pattern for r in iter_regions(net, box, backend="z3")}
    assert a == b


def test_counts_invariant_under_permuting_hidden_units():
    net = _random_net([2, 5, 4, 1], 5)
    from verify.ir.layers import to_layers

    L1, L2, L3 = to_layers(net)
    perm1, perm2 = [3, 0, 4, 2, 1], [2, 3, 1, 0]
    P1 = Layer(tuple(L1.weights[k] for k in perm1), tuple(L1.bias[k] for k in perm1), "relu")
    P2 = Layer(tuple(tuple(L2.weights[k][c] for c in perm1) for k in perm2), tuple(L2.bias[k] for k in perm2), "relu")
    P3 = Layer(tuple(tuple(row[c] for c in perm2) for row in L3.weights), L3.bias, "linear")
    permuted = from_layers(2, [P1, P2, P3])
    box = Box.cube(2, -3, 3)
    assert counts(net, box) == counts(permuted, box)


# -- slices and the CLI -----------------------------------------------------------------------

def test_slice_count_hand_derived():
    # max_tree(4, "B") on the plane x1 = x3 = 0 through 0, coordinates (x0, x2): level 1 cuts x0=0 and
    # x2=0; level 2 compares m1 = max(x0,0) and m2 = max(x2,0): m1 = m2 splits the quadrant x0,x2 > 0
    # along x0 = x2, m1 = -m2 cuts nothing (both >= 0, equal to 0 only where both vanish): 5 regions.
    # The max restricted to the plane, max(x0, x2, 0), has 3 pieces.
    net = slice_network(max_tree(4, "B"), 0, 2, (0, 0, 0, 0))
    assert net.n_inputs == 2
    assert counts(net, Box.cube(2, -1, 1)) == (5, 3, 3)


def test_cli_regions_json_and_plot(tmp_path, capsys):
    path = tmp_path / "t.json"
    save_network(max_tree(3, "A"), path)
    png = tmp_path / "m.png"
    code = main(["regions", str(path), "--box=-1,1", "--json", "--slice", "0,2", "--plot", str(png)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("activation_regions", "affine_maps", "linear_pieces", "bounds", "seconds"):
        assert key in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code = main(["regions", str(path), "--box=-1,1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert (out["activation_regions"], out["affine_maps"], out["linear_pieces"]) == HAND[("A", 3)]


def test_cli_max_regions_is_unknown(tmp_path, capsys):
    path = tmp_path / "t.json"
    save_network(max_tree(3, "B"), path)
    code = main(["regions", str(path), "--box=-1,1", "--max-regions", "5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 3 and out["status"] == "UNKNOWN" and out["linear_pieces"] is None


def test_cli_bad_input(tmp_path, capsys):
    path = tmp_path / "t.json"
    save_network(max_tree(3, "A"), path)
    png = tmp_path / "no.png"
    assert main(["regions", str(path), "--box=-1,1", "--plot", str(png)]) == 2  # d=3 needs --slice
    assert main(["regions", str(path), "--box=-1,1", "--slice", "0,7"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err
    assert not png.exists()


def test_streaming_iterator():
    it = iter(iter_regions(max_tree(8, "skip"), Box.cube(8, -1, 1), keep_constraints=False))
    first = next(it)
    assert first.constraints == () and len(first.point) == 8


def test_motzkin_certificates_are_sound():
    from verify.analysis.regions import motzkin_certificate, z3_strict_point

    # x > 0 and -x > 0: y = (1, 1).
    assert motzkin_certificate([(1, 0), (-1, 0)], 1)
    # x0 > x1, x1 > x2, x2 > x0: the three differences sum to 0.
    assert motzkin_certificate([(1, -1, 0, 0), (0, 1, -1, 0), (-1, 0, 1, 0)], 3)
    # x > 0, x < 1: feasible, no certificate.
    assert not motzkin_certificate([(1, 0), (-1, 1)], 1)
    # with an equality: x0 = 0 and x0 + x1 > 0, -x1 > 0 is empty.
    assert motzkin_certificate([(1, 1, 0), (0, -1, 0)], 2, equal=(1, 0, 0))
    # Random systems: a certificate is only ever issued for systems z3 finds empty.
    rng = np.random.default_rng(4)
    issued = 0
    for _ in range(300):
        rows = [tuple(int(v) for v in rng.integers(-2, 3, size=3)) for _ in range(3)]
        if motzkin_certificate(rows, 2):
            issued += 1
            assert z3_strict_point(2, rows) is None
    assert issued > 0


@pytest.mark.parametrize("seed", range(6))
def test_linear_pieces_in_one_dimension_by_sorting(seed):
    # In 1-D the regions are intervals; consecutive intervals share an endpoint (a facet), so the
    # pieces are the maximal runs of equal maps along the line: an independent count that uses only
    # the order of the interior points, not the facet machinery.
    rng = np.random.default_rng(100 + seed)
    layers, prev = [], 1
    for l, w in enumerate([5, 4, 1]):
        W = rng.integers(-1, 2, size=(w, prev))
        bias = rng.integers(-2, 3, size=w)
        layers.append(Layer(tuple(tuple(Fraction(int(v)) for v in row) for row in W),
                            tuple(Fraction(int(v)) for v in bias), "relu" if l < 2 else "linear"))
        prev = w
    net = from_layers(1, layers)
    box = Box.cube(1, -5, 5)
    regions = sorted(iter_regions(net, box), key=lambda r: r.point[0])
    runs = 1 + sum(1 for a, b in zip(regions, regions[1:]) if a.maps != b.maps)
    r = count_regions(net, box)
    assert (r.activation_regions, r.linear_pieces) == (len(regions), runs)


def test_cones_give_the_same_counts_in_all_of_space():
    # Every hyperplane of the max trees passes through 0, so every region is a cone at 0 and a box
    # around 0 holds them all: the counts in R^d equal the box counts derived above.
    for (gadget, d), want in HAND.items():
        assert counts(max_tree(d, gadget), RealSpace(d)) == want


def test_timeout_gives_unknown_lower_bounds():
    r = count_regions(max_tree(8, "A"), Box.cube(8, -1, 1), timeout=0.05)
    assert r.status.value == "UNKNOWN" and r.linear_pieces is None
    assert "timeout" in r.reason


def test_relu_after_a_max_node():
    # f = relu(max(x0, x1) - x2): argmax (2 ways) times the sign of m - x2 (both occur): 4 regions;
    # maps x0 - x2, x1 - x2 and 0 (twice: {x2 > x0 > x1} and {x2 > x1 > x0}, adjacent across x0 = x1
    # inside {x2 > both}): 3 maps, 3 pieces.
    b = GraphBuilder(3)
    x0, x1, x2 = b.input_exprs()
    b.output(b.relu(b.max([x0, x1]) - x2))
    assert counts(b.build(), Box.cube(3, -1, 1)) == (4, 3, 3)
