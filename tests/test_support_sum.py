"""The support-sum/1 format, its compilation to networks, orbit expansion, and `describe`.

Known facts used: h of a segment [e1, e2] is max(x1, x2); h of the simplex conv(e1, e2, e3) (the join of
the point e1 and the segment [e2, e3]) is max(x1, x2, x3); both shipped sums compute max exactly
(msun170/relu-max6 for max6, shared/data/README.md for max5); the public max6 network is 6-42-1532-1 with
1,530 blocks and orbit coefficients 1/360, -1/360, 1/360, 1/90, -1/90, -1/180 (LITERATURE.md section 6).
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from fractions import Fraction as F

import pytest

from verify.analysis.describe import describe_network
from verify.backends.evaluator import evaluate
from verify.constructions import max_tree
from verify.constructions.published import load_max5
from verify.constructions.support_sum import (compile_support_sum, expand_orbits, load_shipped_support_sum,
                                              max6_two_hidden, orbit_sizes, support_sum_value)
from verify.errors import VerifyError
from verify.io.support_sum import (SupportSum, SupportSumFormatError, Term, Zonotope, dumps_support_sum,
                                   load_support_sum, loads_support_sum)
from verify.ir.layers import Layer, from_layers


def rational_points(d, k, seed):
    rnd = random.Random(seed)
    return [tuple(F(rnd.randint(-500, 500), rnd.randint(1, 40)) for _ in range(d)) for _ in range(k)]


SEGMENT = SupportSum(2, (Term(F(1), (Zonotope((0, 1), ((1, -1),)),)),))
SIMPLEX3 = SupportSum(3, (Term(F(1), (Zonotope((1, 0, 0)), Zonotope((0, 1, 0), ((0, -1, 1),)))),))


# -- format -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["max5", "max6", "max6-orbits"])
def test_shipped_files_round_trip(key):
    s = load_shipped_support_sum(key)
    again = loads_support_sum(dumps_support_sum(s))
    assert again == s and again.source == s.source and s.orbits


def test_round_trip_with_linear_and_one_block_terms(tmp_path):
    s = SupportSum(3, (Term(F(-2, 7), (Zonotope((1, 0, 0), ((0, 1, -1), (1, 0, -1))),)),
                       Term(F(5), (Zonotope((0, 0, 1)), Zonotope((0, 1, 0), ((1, -1, 0),))))),
                   False, (F(1, 3), F(0), F(-4)))
    path = tmp_path / "s.json"
    path.write_text(dumps_support_sum(s))
    assert load_support_sum(path) == s


GOOD = {"format": "support-sum/1", "dim": 2, "orbits": False,
        "terms": [{"coeff": "1/2", "blocks": [{"base": [1, 0], "generators": [[-1, 1]]},
                                              {"base": [0, 1], "generators": []}]}]}


def _bad(mutate):
    data = json.loads(json.dumps(GOOD))
    mutate(data)
    return json.dumps(data)


@pytest.mark.parametrize("text, place", [
    (_bad(lambda d: d.update(extra=1)), "unknown key 'extra'"),
    (_bad(lambda d: d["terms"][0].update(weight=1)), "term 1: unknown key 'weight'"),
    (_bad(lambda d: d["terms"][0]["blocks"][1].update(vertices=[])), "term 1, block 2: unknown key 'vertices'"),
    (_bad(lambda d: d["terms"][0].update(coeff="1/0")), "term 1, coeff"),
    (_bad(lambda d: d["terms"][0].update(coeff="one half")), "term 1, coeff"),
    (_bad(lambda d: d["terms"][0]["blocks"][0].update(base=[1, 0, 0])), "term 1, block 1, base: has 3 entries"),
    (_bad(lambda d: d["terms"][0]["blocks"][0].update(generators=[[1]])), "term 1, block 1, generator 1"),
    (_bad(lambda d: d["terms"][0]["blocks"][0].update(base=["1", 0])), "term 1, block 1, base, entry 1"),
    (_bad(lambda d: d["terms"][0]["blocks"][0].update(base=[True, 0])), "term 1, block 1, base, entry 1"),
    (_bad(lambda d: d["terms"][0].update(blocks=[])), "term 1: blocks must be a list of one or two"),
    (_bad(lambda d: d.update(dim=0)), "dim"),
    (_bad(lambda d: d.update(format="support-sum/2")), "format must be"),
    (_bad(lambda d: d.update(linear=[1])), "linear"),
    (_bad(lambda d: d.update(orbits="yes")), "orbits"),
    (json.dumps(GOOD).replace('"base": [1, 0]', '"base": [1.0, 0]'), "not an integer"),
    ("{not json", "not valid JSON"),
])
def test_strict_errors_name_the_file_and_place(tmp_path, text, place):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SupportSumFormatError) as err:
        load_support_sum(path)
    msg = str(err.value)
    assert str(path) in msg and place in msg and "\n" not in msg


def test_cli_build_bad_file_exits_2_with_one_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(_bad(lambda d: d["terms"][0]["blocks"][0].update(base=[1])))
    out = tmp_path / "net.json"
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "build", "support-sum", str(path), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.count("\n") == 1 and "term 1, block 1, base" in proc.stderr


# -- compilation ------------------------------------------------------------------------------------
def test_segment_and_simplex_compile_to_max():
    seg = compile_support_sum(SEGMENT)
    tri = compile_support_sum(SIMPLEX3)
    assert seg.hidden_layers == 1 and tri.hidden_layers == 2
    for x in rational_points(2, 20, 1):
        assert evaluate(seg, x)[0] == max(x)
    for x in rational_points(3, 20, 2):
        assert evaluate(tri, x)[0] == max(x)
    assert all(net.bias(n) == 0 for net in (seg, tri) for n in net.order if net.op(n).name == "AFFINE")


def test_compiled_network_equals_the_sum_at_random_points():
    rnd = random.Random(3)
    terms = []
    for _ in range(6):
        def zono():
            return Zonotope(tuple(rnd.randint(-2, 2) for _ in range(4)),
                            tuple(tuple(rnd.randint(-2, 2) for _ in range(4)) for _ in range(rnd.randint(0, 3))))
        blocks = (zono(),) if rnd.random() < 0.3 else (zono(), zono())
        terms.append(Term(F(rnd.randint(-9, 9), rnd.randint(1, 7)), blocks))
    s = SupportSum(4, tuple(terms), False, (F(1, 2), F(-3), F(0), F(2, 5)))
    net = compile_support_sum(s)
    for x in rational_points(4, 30, 4):
        assert evaluate(net, x)[0] == support_sum_value(s, x)


@pytest.mark.parametrize("key", ["max5", "max6", "max6-orbits"])
def test_shipped_sums_are_max_at_random_points(key):
    s = load_shipped_support_sum(key)
    for x in rational_points(s.dim, 12, 5):
        assert support_sum_value(s, x) == max(x)


def test_public_max6_layout_and_orbits():
    net = max6_two_hidden()
    assert net.widths == [42, 1532] and net.n_inputs == 6
    s = load_shipped_support_sum("max6")
    assert sum(orbit_sizes(s)) == 1530
    for x in rational_points(6, 3, 6):
        assert evaluate(net, x)[0] == max(x)
    assert max6_two_hidden("distinct").widths == [42, 1352]


def _lattice2_vertices(points):
    """Vertices of a set of lattice points of 2*Delta, by brute force: p is not a vertex iff it is the
    midpoint of two other points of the set (for these points the only convex combinations that can
    produce e_i + e_j use 2e_i and 2e_j)."""
    pts = set(points)
    return frozenset(p for p in pts if not any(
        q != p and tuple(2 * a - b for a, b in zip(p, q)) in pts and tuple(2 * a - b for a, b in zip(p, q)) != p
        for q in pts))


def test_orbit_expansion_counts_distinct_polytopes():
    """The third public orbit: 360 corner-point sets but 180 distinct polytopes (stabiliser of order 4)."""
    s = load_shipped_support_sum("max6-orbits")
    for term, size in zip(s.terms, orbit_sizes(s)):
        pts = set().union(*(b.corners() for b in term.blocks))
        verts = _lattice2_vertices(pts)
        stab = sum(1 for p in itertools.permutations(range(6))
                   if frozenset(tuple(v[p[i]] for i in range(6)) for v in verts) == verts)
        assert size * stab == 720
    assert orbit_sizes(s) == [360, 360, 180, 180, 180, 90]
    assert len(expand_orbits(s).terms) == 1350


def test_compiled_max5_matches_the_shipped_network():
    net = compile_support_sum(load_shipped_support_sum("max5"))
    shipped = load_max5()
    assert net.widths[1] == shipped.widths[1] == 602
    for x in rational_points(5, 10, 7):
        assert evaluate(net, x)[0] == evaluate(shipped, x)[0] == max(x)


# -- describe ---------------------------------------------------------------------------------------
def test_describe_recovers_the_public_max6_orbits():
    desc = describe_network(max6_two_hidden())
    assert desc.symmetric and all(v == 0 for v in desc.linear)
    got = sorted((o.orbit_size, o.coefficients[0]) for o in desc.orbits)
    # LITERATURE.md's coefficients, with the third orbit's 360 point sets counted as 180 polytopes twice.
    want = sorted([(360, F(1, 360)), (360, F(-1, 360)), (180, F(2, 360)), (180, F(1, 90)), (180, F(-1, 90)),
                   (90, F(-1, 180))])
    assert got == want
    assert all(o.weight() == 2 for o in desc.orbits)


def test_describe_then_build_is_the_same_function():
    for net in (max_tree(3, "A"), max_tree(4, "B"), load_max5()):
        desc = describe_network(net)
        again = compile_support_sum(desc.support_sum())
        for x in rational_points(net.n_inputs, 6, 8):
            assert evaluate(again, x)[0] == evaluate(net, x)[0]


def test_describe_max_tree_of_three_is_one_simplex():
    desc = describe_network(max_tree(3, "A"))
    assert len(desc.terms) == 1 and desc.terms[0].coeff == 1
    assert desc.orbits[0].vertices == ((0, 0, 1), (0, 1, 0), (1, 0, 0))


def test_describe_says_when_it_cannot():
    biased = from_layers(2, [Layer(((F(1), F(0)),), (F(1),), "relu"), Layer(((F(1),),), (F(0),), "linear")])
    with pytest.raises(VerifyError, match="biases"):
        describe_network(biased)
    with pytest.raises(VerifyError, match="3 hidden layers"):
        describe_network(max_tree(8, "A"))


def test_cli_describe_json(tmp_path):
    from verify.io.json_format import save_network

    path = tmp_path / "t.json"
    save_network(max_tree(4, "A"), path)
    out = tmp_path / "s.json"
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "describe", str(path), "--json", "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["symmetric"] and data["terms"] == 1 and data["orbits"][0]["weight"] == 1
    s = load_support_sum(out)
    for x in rational_points(4, 5, 9):
        assert support_sum_value(s, x) == max(x)


@pytest.mark.parametrize("text, place", [
    (json.dumps(GOOD).replace('"dim": 2', '"dim": 2, "dim": 3'), "top level: key 'dim' is given twice"),
    (json.dumps(GOOD).replace('"coeff": "1/2"', '"coeff": "1/2", "coeff": "1"'), "term 1: key 'coeff' is given twice"),
    (json.dumps(GOOD).replace('"coeff": "1/2"', '"coeff": "\u0661/2"'), "term 1, coeff: not a number"),
    (json.dumps(GOOD).replace('"coeff": "1/2"', '"coeff": "\uff11/2"'), "term 1, coeff: not a number"),
    (json.dumps(GOOD).replace('"dim": 2', '"dim": NaN'), "NaN is not allowed"),
    (json.dumps(GOOD).replace('"orbits": false', '"orbits": false, "format": "support-sum/1"'), "key 'format' is given twice"),
])
def test_support_sum_follows_the_shared_reading_rules(tmp_path, text, place):
    """The rules of verify/io/reading.py (issue 16) hold for support-sum/1 as for the network formats."""
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SupportSumFormatError) as err:
        load_support_sum(path)
    msg = str(err.value)
    assert str(path) in msg and place in msg and "\n" not in msg and "Fraction" not in msg, msg
