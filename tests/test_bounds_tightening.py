"""Soundness of exact interval and LP-tightened bounds, and of the safe dual bound."""

from fractions import Fraction

import numpy as np
import pytest

from verify.analysis import reference_network
from verify.backends.bounds import propagate_intervals, sound_bounds, unstable_relus
from verify.backends.evaluator import evaluate_nodes
from verify.backends.lp_relax import ReluLP
from verify.constructions import max_tree
from verify.constructions.random_nets import random_relu_network
from verify.domain import Box
from verify.constructions.emulate import max_free
from verify.reductions.difference import difference_network


def _rational_points(rng, box, n):
    pts = []
    for _ in range(n):
        pts.append(tuple(a + (b - a) * Fraction(int(rng.integers(0, 1025)), 1024) for a, b in zip(box.lo, box.hi)))
    return pts


@pytest.mark.parametrize("widths,seed", [([4, 16, 16, 1], 1), ([3, 12, 12, 1], 7), ([5, 10, 10, 10, 1], 3)])
def test_lp_bounds_contain_sampled_preactivations_exactly(widths, seed):
    net = random_relu_network(widths, seed=seed)
    d = widths[0]
    box = Box(tuple(Fraction(-1, 2) for _ in range(d)), tuple(Fraction(1) for _ in range(d)))
    D = difference_network(net, reference_network(net))
    bounds = sound_bounds(D, box, method="lp")
    rng = np.random.default_rng(seed)
    for x in _rational_points(rng, box, 150) + [box.lo, box.hi]:
        values = evaluate_nodes(D, x)
        for n, v in values.items():
            lo, hi = bounds[n]
            assert lo <= v <= hi, (n, x)


def test_lp_tightening_is_never_looser_and_helps_on_deeper_nets():
    net = random_relu_network([4, 16, 16, 1], seed=1)
    D = difference_network(net, reference_network(net))
    box = Box.cube(4)
    bi = propagate_intervals(D, box)
    bl = sound_bounds(D, box, method="lp")
    for n in D.order:
        assert bi[n][0] <= bl[n][0] and bl[n][1] <= bi[n][1]
    out = D.single_pred(D.outputs[0])
    assert bl[out][1] < bi[out][1]  # the output bound strictly tightens on this net


def test_bounds_with_linear_constraints_are_sound():
    # Cone x0 >= x1 >= x2 inside [-1,1]^3: LP tightening uses the constraints; samples stay inside.
    net = random_relu_network([3, 8, 8, 1], seed=5)
    D = max_free(net)
    box = Box.cube(3, -1, 1)
    cons = [({1: Fraction(1), 0: Fraction(-1)}, Fraction(0)), ({2: Fraction(1), 1: Fraction(-1)}, Fraction(0))]
    bounds = sound_bounds(D, box, cons, method="lp")
    rng = np.random.default_rng(0)
    for x in _rational_points(rng, box, 300):
        x = tuple(sorted(x, reverse=True))
        for n, v in evaluate_nodes(D, x).items():
            assert bounds[n][0] <= v <= bounds[n][1]


def test_safe_dual_bound_is_exact_on_a_hand_solved_lp():
    # max_tree(2) (gadget A) is relu(x - y) + relu(y) - relu(-y). On [0,1]^2, relu(y) = y and relu(-y) = 0
    # are stable; z = x - y lies in [-1, 1], whose triangle gives relu(z) <= (z + 1)/2. The relaxation's
    # optimum is max (x - y + 1)/2 + y = max (x + y + 1)/2 = 3/2 (at x = y = 1), by hand.
    D = max_free(max_tree(2))
    box = Box.cube(2)
    b = propagate_intervals(D, box)
    lp = ReluLP(D, box)
    sol = lp.solve(b, {D.single_pred(D.outputs[0]): 1})
    assert sol.status == "optimal"
    assert sol.bound >= Fraction(3, 2)  # a safe bound is never below the true relaxation optimum
    assert sol.bound - Fraction(3, 2) < Fraction(1, 10 ** 6)


def test_safe_bound_is_valid_for_any_dual_vector():
    # Weak duality holds for arbitrary multipliers: random y never gives a bound below the LP optimum.
    D = max_free(max_tree(2))
    box = Box.cube(2)
    b = propagate_intervals(D, box)
    lp = ReluLP(D, box)
    rows, lo, hi = lp._rows_and_cols(b)
    c = {lp.col[D.single_pred(D.outputs[0])]: Fraction(1)}
    rng = np.random.default_rng(1)
    for _ in range(50):
        y = rng.normal(size=len(rows))
        assert ReluLP.safe_bound(rows, lo, hi, c, y) >= Fraction(3, 2)


def test_unstable_relus_of_an_exact_tree_on_a_positive_box():
    net = max_free(max_tree(4))
    b = sound_bounds(net, Box.cube(4, 1, 2))
    # On [1,2]^4 every difference x_i - x_j straddles 0, so every pairwise-max ReLU is unstable.
    assert len(unstable_relus(net, b)) >= 3
