"""Exactness queries: PROVED for exact constructions, REFUTED (confirmed) for perturbed ones."""

import json
import random
from fractions import Fraction

import pytest

from verify.analysis import Status, check_equivalent, check_exact
from verify.backends.evaluator import evaluate
from verify.constructions import GADGETS, max_chain, max_tree, mean_network, pool2d
from verify.domain import Box, RealSpace
from verify.io import loads_network, network_to_mapping

from .known_answers import KNOWN_ANSWERS


@pytest.mark.parametrize("gadget", GADGETS)
def test_trees_proved_on_all_of_R_d_and_on_boxes(gadget):
    for d in range(1, 17):
        net = max_tree(d, gadget)
        r = check_exact(net)
        assert r.status is Status.PROVED, (d, r)
        assert r.domain == RealSpace(d)
        r = check_exact(net, Box.cube(d, -2, Fraction(1, 3)))
        assert r.status is Status.PROVED


@pytest.mark.parametrize("case", KNOWN_ANSWERS, ids=lambda c: c.name)
def test_known_answers_exactness(case):
    net = case.make()
    r = check_exact(net)
    assert r.status is (Status.PROVED if case.exact else Status.REFUTED)
    if not case.exact:
        x = r.counterexample
        assert evaluate(net, x)[r.output_index] == r.network_value
        assert r.network_value != r.reference_value


def _perturb(net, rng):
    """The same network with one weight (or bias) changed by 1/1000, in its JSON form."""
    data = network_to_mapping(net)
    layers = data["layers"]
    entries = []
    for l, layer in enumerate(layers):
        for r, row in enumerate(layer["weights"]):
            for c, w in enumerate(row):
                if w != "0":
                    entries.append((l, r, c))
    l, r, c = rng.choice(entries)
    w = Fraction(layers[l]["weights"][r][c]) + Fraction(1, 1000)
    layers[l]["weights"][r][c] = f"{w.numerator}/{w.denominator}"
    return loads_network(json.dumps(data))


@pytest.mark.parametrize("gadget", ["A", "B"])
def test_perturbed_trees_are_refuted_with_confirmed_counterexamples(gadget):
    rng = random.Random(11)
    for d in (2, 3, 5, 8, 9):
        bad = _perturb(max_tree(d, gadget), rng)
        r = check_exact(bad)
        assert r.status is Status.REFUTED
        x = r.counterexample
        assert len(x) == d and all(isinstance(v, Fraction) for v in x)
        # Independent of the solver: the exact evaluator and Python's max disagree at x.
        assert evaluate(bad, x)[0] != max(x)
        assert r.network_value == evaluate(bad, x)[0] and r.reference_value == max(x)


def test_refutation_inside_a_box_respects_the_box():
    # The mean equals the max exactly on the diagonal only; on a box the counterexample must lie in it.
    box = Box.cube(3, Fraction(1, 2), 1)
    r = check_exact(mean_network(3), box)
    assert r.status is Status.REFUTED and box.contains(r.counterexample)


def test_pool_layer_outputs_checked_against_their_windows():
    net = pool2d(4, 4, 2, 2, "A")
    assert check_exact(net).status is Status.PROVED


def test_equivalence_between_gadgets_and_chain():
    assert check_equivalent(max_tree(6, "A"), max_chain(6, "skip")).status is Status.PROVED
    r = check_equivalent(max_tree(3, "B"), mean_network(3), Box.cube(3))
    assert r.status is Status.REFUTED
    x = r.counterexample
    assert evaluate(max_tree(3, "B"), x) != evaluate(mean_network(3), x)


def test_timeout_gives_unknown_not_a_verdict():
    # A zero budget cannot decide anything: the answer must be UNKNOWN, never PROVED or REFUTED.
    r = check_exact(max_tree(24, "B"), timeout=0.0)
    assert r.status is Status.UNKNOWN
