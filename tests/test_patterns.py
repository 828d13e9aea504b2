"""Affine forms under activation patterns (verify.backends.patterns) against the exact evaluator.

Independent checks: the affine map of a point's pattern must give the exact evaluator's value at the
point and at every point of the region; the region's constraints hold there and fail just outside; the
tie rule is checked on hand-derived cases; float32 and 17-digit decimal weights give the same answers
as exact Fraction arithmetic.
"""

from fractions import Fraction as F
import itertools

import numpy as np
import pytest

from verify.backends.evaluator import evaluate, evaluate_nodes
from verify.backends.patterns import (Pattern, activation_pattern, decision_nodes, pattern_affine_map,
                                      pattern_constraints, pattern_forms, pattern_region)
from verify.constructions import max_tree, pool2d, truncated_tree
from verify.constructions.random_nets import random_relu_network
from verify.errors import VerifyError
from verify.ir import GraphBuilder
from verify.ir.layers import Layer, from_layers
from verify.numbers import from_float


def _value(A, c, k, x):
    return sum(a * v for a, v in zip(A[k], x)) + c[k]


def _points(d, n, seed, den=97):
    rng = np.random.default_rng(seed)
    return [tuple(F(int(v), den) for v in rng.integers(-2 * den, 2 * den, size=d)) for _ in range(n)]


@pytest.mark.parametrize("net", [max_tree(4, "A"), max_tree(5, "B"), truncated_tree(6, 1, "skip"),
                                 random_relu_network([3, 7, 5, 2], seed=3), pool2d(3, 3, 2, 1, "A")])
def test_affine_map_equals_exact_evaluation_at_the_point(net):
    for x in _points(net.n_inputs, 25, 0):
        pat = activation_pattern(net, x)
        A, c = pattern_affine_map(net, pat)
        assert tuple(_value(A, c, k, x) for k in range(net.n_outputs)) == evaluate(net, x)
        # every node's form too
        values = evaluate_nodes(net, x)
        for node, form in pattern_forms(net, pat).items():
            assert form.at(x) == values[node]


def test_region_constraints_hold_inside_and_the_map_is_exact_on_the_whole_region():
    net = random_relu_network([2, 6, 6, 1], seed=5)
    rng = np.random.default_rng(2)
    for x in _points(2, 15, 1):
        pat = activation_pattern(net, x)
        rows = pattern_constraints(net, pat)
        assert all(sum(a * v for a, v in zip(ai, x)) <= b for ai, b in rows)
        A, c = pattern_affine_map(net, pat)
        # points nearby that satisfy the constraints are in the (closed) region: same pattern map
        for _ in range(20):
            y = tuple(v + F(int(t), 10 ** 4) for v, t in zip(x, rng.integers(-50, 51, size=2)))
            inside = all(sum(a * v for a, v in zip(ai, y)) <= b for ai, b in rows)
            if inside:
                assert _value(A, c, 0, y) == evaluate(net, y)[0]
            else:
                # outside: some ReLU or max argument changes side, so the pattern at y differs
                assert activation_pattern(net, y).key != pat.key


def test_tie_rule_zero_preactivation_is_inactive_and_ties_pick_the_first():
    # relu(x0 - x1) at x0 = x1 reads exactly 0: inactive.
    net = max_tree(2, "skip")  # x1 + relu(x0 - x1)
    (relu,) = net.relu_nodes
    assert activation_pattern(net, [F(1, 3), F(1, 3)])[relu] is False
    assert activation_pattern(net, [1, 0])[relu] is True
    # a max node of (x0, x1, x0): x0 = x1 tie -> the first argument (position 0)
    b = GraphBuilder(2)
    x0, x1 = b.input_exprs()
    b.output(b.max([x1, x0, x1]))
    m = b.build()
    (mx,) = m.max_nodes
    assert activation_pattern(m, [2, 2])[mx] == 0
    assert activation_pattern(m, [3, 2])[mx] == 1
    assert activation_pattern(m, [2, 5])[mx] == 0  # positions 0 and 2 tie: the first


def test_pattern_key_and_region_match_the_decision_nodes():
    net = max_tree(3, "A")
    pat = activation_pattern(net, (F(1), F(-2), F(1, 2)))
    assert isinstance(pat, Pattern) and len(pat.key) == len(decision_nodes(net)) == net.n_relus
    assert pat.key == tuple(int(pat[n]) for n in decision_nodes(net))
    region = pattern_region(net, pat)
    assert region.pattern == pat.key
    assert region.value((F(1), F(-2), F(1, 2))) == F(1)
    # the closed region's half-spaces hold at the point (a . x + c >= 0)
    assert all(s >= 0 for s in region.slacks((F(1), F(-2), F(1, 2))))


def test_integral_constraints_are_positive_multiples_of_the_exact_ones():
    net = random_relu_network([3, 5, 1], seed=8)
    pat = activation_pattern(net, (F(1, 3), F(-1, 2), F(2, 7)))
    exact = pattern_constraints(net, pat)
    ints = pattern_constraints(net, pat, integral=True)
    assert len(exact) == len(ints)
    for (a, b), (ai, bi) in zip(exact, ints):
        assert all(isinstance(v, int) for v in ai) and isinstance(bi, int)
        k = next(v / w for v, w in zip(a + (b,), ai + (bi,)) if w != 0)
        assert k > 0 and all(v == k * w for v, w in zip(a + (b,), ai + (bi,)))


def test_a_pattern_must_cover_every_decision_node():
    net = max_tree(3, "A")
    with pytest.raises(VerifyError, match="no choice"):
        pattern_affine_map(net, {})


def _net(widths, conv, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for k in range(1, len(widths)):
        W = rng.standard_normal((widths[k], widths[k - 1])) * np.sqrt(2 / widths[k - 1])
        bias = rng.standard_normal(widths[k]) * 0.1
        act = "relu" if k < len(widths) - 1 else "linear"
        layers.append(Layer(tuple(tuple(conv(v) for v in row) for row in W), tuple(conv(v) for v in bias), act))
    return from_layers(widths[0], layers)


@pytest.mark.parametrize("conv", [lambda v: from_float(np.float32(v)), lambda v: F(repr(float(v)))],
                         ids=["float32", "decimal17"])
def test_large_denominators(conv):
    # float32 weights (dyadic, denominators near 2^30) and 17-digit decimals (10^17): exact all the same
    net = _net([6, 24, 24, 1], conv)
    for x in _points(6, 5, 4, den=2 ** 20 + 7):
        pat = activation_pattern(net, x)
        A, c = pattern_affine_map(net, pat)
        assert _value(A, c, 0, x) == evaluate(net, x)[0]
        assert all(sum(a * v for a, v in zip(ai, x)) <= b for ai, b in pattern_constraints(net, pat))


def test_every_pattern_of_a_small_net_partitions_the_grid():
    # each grid point follows exactly the pattern activation_pattern gives, and no other pattern whose
    # constraints hold there gives a different value (the network is continuous)
    net = max_tree(2, "A")
    pats = {}
    for x in itertools.product([F(k, 2) for k in range(-2, 3)], repeat=2):
        pat = activation_pattern(net, x)
        pats[pat.key] = pat
    for x in itertools.product([F(k, 3) for k in range(-3, 4)], repeat=2):
        for pat in pats.values():
            if all(sum(a * v for a, v in zip(ai, x)) <= b for ai, b in pattern_constraints(net, pat)):
                A, c = pattern_affine_map(net, pat)
                assert _value(A, c, 0, x) == max(x)
