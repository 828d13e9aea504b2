"""Exactness by proved symmetry: invariance tests and the sorted-cone reduction."""

import json
from fractions import Fraction

from verify.analysis import Status
from verify.analysis.symmetry import check_exact_by_symmetry, permutation_invariant, symmetric_group_invariant
from verify.backends.evaluator import evaluate
from verify.bounds.claims_depth import load_max5
from verify.constructions import max_tree, mean_network, truncated_tree
from verify.io import loads_network, network_to_mapping
from verify.ir import GraphBuilder


def test_invariance_shown_where_it_holds_by_hand():
    # max(a,b) = relu(a-b) + relu(b) - relu(-b) = relu(a-b) + b; swapped: relu(b-a) + a = relu(a-b) + b.
    assert permutation_invariant(max_tree(2, "A"), [1, 0])
    assert symmetric_group_invariant(mean_network(5))
    # mean(max(x0,x1), max(x2,x3)) is invariant under swapping inside a group or swapping the groups.
    net = truncated_tree(4, 1, "A")
    assert permutation_invariant(net, [1, 0, 2, 3]) and permutation_invariant(net, [2, 3, 0, 1])


def test_no_invariance_claimed_where_the_function_is_not_symmetric():
    net = truncated_tree(4, 1, "A")
    # Swapping x1 and x2 changes the function: N(1,1,0,0) = (1 + 0)/2, N(1,0,1,0) = (1 + 1)/2.
    x, y = (1, 1, 0, 0), (1, 0, 1, 0)
    assert evaluate(net, x) != evaluate(net, y)
    assert not permutation_invariant(net, [0, 2, 1, 3])


def _symmetric_not_max():
    # max(x0, x1) + (x0 + x1)/1000: symmetric, not the max (plain layers: v = relu(v) - relu(-v)).
    b = GraphBuilder(2)
    x0, x1 = b.input_exprs()
    lin = lambda v: b.relu(v) - b.relu(-v)  # noqa: E731
    b.output(b.relu(x0 - x1) + lin(x1) + (lin(x0) + lin(x1)) * Fraction(1, 1000))
    return b.build()


def test_cone_reduction_proves_and_refutes():
    assert check_exact_by_symmetry(max_tree(2, "A")).status is Status.PROVED
    net = _symmetric_not_max()
    r = check_exact_by_symmetry(net)
    assert r.status is Status.REFUTED
    x = r.counterexample
    assert evaluate(net, x)[0] != max(x)


def test_max5_network_is_invariant_and_a_perturbed_copy_is_not_shown():
    net = load_max5()
    assert symmetric_group_invariant(net)
    data = network_to_mapping(net)
    row = data["layers"][1]["weights"][7]
    k = next(i for i, w in enumerate(row) if w != "0")
    w = Fraction(row[k]) + Fraction(1, 1000)
    row[k] = f"{w.numerator}/{w.denominator}"
    broken = loads_network(json.dumps(data))
    assert not symmetric_group_invariant(broken)
    r = check_exact_by_symmetry(broken)
    assert r.status is Status.UNKNOWN  # no reduction, so no verdict from this route
