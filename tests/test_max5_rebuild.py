"""The max-of-5 network rebuilt from its description (shared/data/README.md).

Known facts used: the README's orbit sizes (120, 120, 120, 60, 120, 60; 600 blocks), its identity
2 max(x) = sum_o c_o sum_{R in orbit o} h_R(x), the support function of a polytope being the max of
<v, x> over its vertices, and the shipped file computing max on R^5.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from fractions import Fraction as F
from pathlib import Path

import pytest

from verify.backends.evaluator import evaluate
from verify.analysis.max5 import polytope_vertices
from verify.constructions.max5 import ORBIT_TYPES, max5_blocks, max5_two_hidden, identity_value, zonotope_points
from verify.io.json_format import load_network
from verify.ir.layers import Layer, from_layers, to_layers

GRID = list(itertools.product((-1, 0, 1), repeat=5))
README_SIZES = [120, 120, 120, 60, 120, 60]
README_C = [F(1, 60), F(1, 60), F(1, 60), F(-1, 60), F(-1, 60), F(-1, 30)]


def random_points(k, seed):
    rnd = random.Random(seed)
    return [tuple(F(rnd.randint(-1000, 1000), rnd.randint(1, 97)) for _ in range(5)) for _ in range(k)]


def shipped_file():
    here = Path(__file__).resolve().parents[1]
    for p in (here / "verify" / "data" / "max5_depth2.json", Path("/work/shared/data/max5_depth2.json")):
        if p.exists():
            return p
    return None


@pytest.fixture(scope="module")
def blocks():
    return max5_blocks()


@pytest.fixture(scope="module")
def rebuilt(blocks):
    return max5_two_hidden(blocks)


def test_orbit_sizes_and_coefficients_match_the_readme(blocks):
    assert [t.size for t in ORBIT_TYPES] == README_SIZES
    assert [t.c for t in ORBIT_TYPES] == README_C
    sizes = Counter(b.orbit for b in blocks)
    assert [sizes[o] for o in range(6)] == README_SIZES
    assert len(blocks) == 600
    # Blocks are distinct polytopes.
    assert len({b.vertices for b in blocks}) == 600


def test_vertices_hand_derived():
    # Type 5: R = conv(2e5 + [0, e4 - e5]  U  e3 + e4 + [0, e2 - e4]): four points, all vertices.
    t = ORBIT_TYPES[4]
    assert polytope_vertices(zonotope_points(t.z1) | zonotope_points(t.z2)) == frozenset(
        {(0, 0, 0, 0, 2), (0, 0, 0, 1, 1), (0, 0, 1, 1, 0), (0, 1, 1, 0, 0)})
    # Type 1: e4 + e5 is the midpoint of 2e4 and 2e5, so it is a listed point but not a vertex.
    t = ORBIT_TYPES[0]
    verts = polytope_vertices(zonotope_points(t.z1) | zonotope_points(t.z2))
    assert (0, 0, 0, 1, 1) not in verts and len(verts) == 5


def test_identity_exact_on_grid_and_random_rationals(blocks):
    for x in GRID + random_points(300, 0):
        assert identity_value(blocks, x) == 2 * max(x)


def test_identity_fails_with_a_wrong_coefficient(blocks):
    # The identity check can fail: flipping one orbit's coefficient breaks it somewhere on the grid.
    broken = [b if b.orbit != 5 else type(b)(b.orbit, -b.c, b.z1, b.z2, b.vertices) for b in blocks]
    assert any(identity_value(broken, x) != 2 * max(x) for x in GRID)


def test_rebuilt_network_shape(rebuilt):
    assert rebuilt.n_inputs == 5 and rebuilt.n_outputs == 1
    assert rebuilt.hidden_layers == 2
    layers = to_layers(rebuilt)
    assert [l.width for l in layers] == [60, 602, 1]
    assert all(b == 0 for l in layers for b in l.bias)  # no biases: positively homogeneous
    assert not rebuilt.is_integer_weighted  # as Haase et al. require for 2 hidden layers


@pytest.fixture(scope="module")
def rebuilt_values(rebuilt):
    return {x: evaluate(rebuilt, x) for x in GRID + random_points(40, 1)}


def test_rebuilt_network_computes_max(rebuilt_values):
    for x, value in rebuilt_values.items():
        assert value == (max(x),)


def test_perturbed_rebuild_is_caught(rebuilt):
    layers = to_layers(rebuilt)
    out = list(layers[2].weights[0])
    out[0] += F(1, 1000)
    broken = from_layers(5, [layers[0], layers[1], Layer((tuple(out),), layers[2].bias, "linear")])
    assert any(evaluate(broken, x) != (max(x),) for x in GRID)


def test_rebuilt_agrees_with_the_shipped_file(rebuilt_values):
    path = shipped_file()
    if path is None:
        pytest.skip("max5_depth2.json is not available")
    shipped = load_network(path)
    assert shipped.widths == [61, 602]
    for x, value in rebuilt_values.items():
        assert evaluate(shipped, x) == value == (max(x),)


def test_structure_comparison_sees_through_unit_order_but_not_weight_changes(rebuilt):
    from verify.analysis.max5 import compare_structure

    layers = to_layers(rebuilt)
    # Reverse the order of the second-layer units (and the output weights with them): same network.
    l2 = Layer(tuple(reversed(layers[1].weights)), layers[1].bias, "relu")
    l3 = Layer((tuple(reversed(layers[2].weights[0])),), layers[2].bias, "linear")
    shuffled = from_layers(5, [layers[0], l2, l3])
    assert compare_structure(rebuilt, shuffled)["identical_up_to_order_and_signs"]
    out = list(layers[2].weights[0])
    out[3] += F(1, 1000)
    changed = from_layers(5, [layers[0], layers[1], Layer((tuple(out),), layers[2].bias, "linear")])
    report = compare_structure(rebuilt, changed)
    assert not report["identical_up_to_order_and_signs"] and report["second_layer_common"] == 601


def test_lattice_vertex_rule_agrees_with_z3():
    from verify.constructions.max5 import LATTICE_2DELTA

    sets = [zonotope_points(t.z1) | zonotope_points(t.z2) for t in ORBIT_TYPES]
    rnd = random.Random(3)
    lattice = sorted(LATTICE_2DELTA)
    sets += [set(rnd.sample(lattice, rnd.randint(2, 9))) for _ in range(25)]
    for pts in sets:
        assert polytope_vertices(pts, method="lattice") == polytope_vertices(pts, method="z3")


def test_rebuilt_network_decomposes_into_its_blocks(blocks, rebuilt):
    from verify.analysis.max5 import support_decomposition

    terms = support_decomposition(rebuilt)
    assert terms is not None and len(terms) == 600
    assert Counter((t.weight, t.vertices) for t in terms) == Counter((b.c / 2, b.vertices) for b in blocks)


def test_exact_proof_rebuilt_equals_shipped_on_all_of_R5(rebuilt):
    from verify.analysis.max5 import prove_same_function

    path = shipped_file()
    if path is None:
        pytest.skip("max5_depth2.json is not available")
    proved, details = prove_same_function(rebuilt, load_network(path))
    assert proved and details["terms"] == (600, 600)


def test_exact_proof_is_not_fooled_by_a_perturbation(rebuilt):
    from verify.analysis.max5 import prove_same_function

    layers = to_layers(rebuilt)
    out = list(layers[2].weights[0])
    out[7] += F(1, 1000)
    changed = from_layers(5, [layers[0], layers[1], Layer((tuple(out),), layers[2].bias, "linear")])
    assert not prove_same_function(rebuilt, changed)[0]
    rows = [list(r) for r in layers[1].weights]
    rows[5][12] += 1  # one second-layer weight: that block is no longer relu(h_A - h_B) of lattice zonotopes
    changed = from_layers(5, [layers[0], Layer(tuple(map(tuple, rows)), layers[1].bias, "relu"), layers[2]])
    assert not prove_same_function(rebuilt, changed)[0]
