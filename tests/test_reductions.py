"""Reductions and chains (verify.reductions) against independent facts.

Known answers: max trees equal max on R^d (Arora et al.), the mean misses max by (d-1)/d on [0,1]^d; a
reduction's inverse must re-evaluate witnesses on the original networks and refuse forged ones; the
``auto`` table picks the documented step; the last step of a chain is pluggable.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction as F

import pytest

from verify.analysis import check_exact, worst_case_error
from verify.analysis.results import ExactnessResult
from verify.backends.evaluator import evaluate
from verify.backends.milp import MaxResult
from verify.constructions import max_tree, mean_network, truncated_tree
from verify.constructions.reference import reference_network
from verify.constructions.random_nets import random_relu_network
from verify.deadline import Deadline
from verify.domain import Box, RealSpace
from verify.errors import ToolkitBugError
from verify.reductions import auto
from verify.reductions.base import Chain, NotApplicable
from verify.reductions.difference import DifferenceNetwork, difference_network
from verify.reductions.homogeneous import HomogeneousToBox
from verify.reductions.problems import Equivalence, Maximize, Supremum
from verify.reductions.slice import InputSlice, lift_point, slice_network
from verify.reductions.symmetry import SymmetryToConeFaces
from verify.status import Status


def test_difference_network_of_every_output_against_max():
    net = truncated_tree(4, 1, "A")
    d = difference_network(net)  # g defaults to the max reference
    assert d.is_relu_network and d.n_outputs == 1
    for x in [(F(1), F(0), F(0), F(0)), (F(1, 3), F(2), F(-1), F(5, 7))]:
        assert evaluate(d, x)[0] == evaluate(net, x)[0] - max(x)
    # one output, negated, of two given networks
    f, g = random_relu_network([3, 4, 2], seed=1), random_relu_network([3, 5, 2], seed=2)
    d1 = difference_network(f, g, output=1, sign=-1)
    x = (F(1, 2), F(-1, 3), F(2))
    assert evaluate(d1, x) == (evaluate(g, x)[1] - evaluate(f, x)[1],)


def test_difference_reduction_inverts_by_evaluating_the_original_networks():
    f, g = mean_network(3), reference_network(mean_network(3))
    problem = Supremum(f, g, Box.cube(3), output=0, sign=-1)  # sup (max - mean) = 2/3 at a unit vector
    chain = Chain([DifferenceNetwork()], auto.maximizer)
    r = chain.solve(problem, Deadline(60))
    assert r.status is Status.PROVED and r.value == F(2, 3)
    assert max(r.witness) - evaluate(f, r.witness)[0] == F(2, 3)
    # a forged answer (value not attained at its witness) is refused as a toolkit bug, never returned
    red = DifferenceNetwork()
    _, inverse = red.apply(problem)
    forged = MaxResult(Status.PROVED, F(1), (F(1), F(0), F(0)), F(1))
    with pytest.raises(ToolkitBugError):
        red.invert(forged, inverse)


def test_homogeneous_reduction_maps_results_back_to_all_of_rd():
    net = max_tree(3, "A")
    problem = Equivalence(net, reference_network(net), RealSpace(3), "exact")
    red = HomogeneousToBox()
    assert red.accepts(problem)
    boxed, inverse = red.apply(problem)
    assert boxed.domain == Box.cube(3, -1, 1)
    proved = ExactnessResult(Status.PROVED, boxed.domain, 0.0)
    back = red.invert(proved, inverse)
    assert isinstance(back.domain, RealSpace) and "bias-free" in back.reason
    # a counterexample that does not reproduce on the original networks is no verdict
    fake = ExactnessResult(Status.REFUTED, boxed.domain, 0.0, counterexample=(F(1), F(0), F(0)), output_index=0,
                           network_value=F(5), reference_value=F(1))
    assert red.invert(fake, inverse).status is Status.UNKNOWN
    # networks with biases are not homogeneous: the reduction does not apply
    biased = random_relu_network([3, 4, 1], seed=0)
    assert not red.accepts(Equivalence(biased, reference_network(biased), RealSpace(3)))


def test_symmetry_reduction_needs_a_proved_invariance():
    # mean of 3 minus x1 / 10: not symmetric, so the premise fails (no verdict from the reduction)
    from verify.ir import GraphBuilder

    b = GraphBuilder(3)
    xs = b.input_exprs()
    b.output(xs[0] * F(1, 2) + xs[1] * F(1, 4) + xs[2] * F(1, 4))
    net = b.build()
    problem = Equivalence(net, reference_network(net), RealSpace(3), "exact")
    red = SymmetryToConeFaces()
    assert red.accepts(problem)
    with pytest.raises(NotApplicable):
        red.apply(problem)
    # a symmetric tree reduces and is proved on the cone (gadget B on two inputs is symmetric as written)
    tree = max_tree(2, "B")
    symmetry_step = next(s for s in auto.STEPS if s.name == "symmetry")
    chain = Chain([SymmetryToConeFaces(workers=1)], symmetry_step.chain().solver)
    r = chain.solve(Equivalence(tree, reference_network(tree), RealSpace(2), "exact"), Deadline(60))
    assert r.status is Status.PROVED and r.backend == "z3+symmetry"


def test_input_slice_lifts_witnesses_to_the_full_space():
    net = random_relu_network([4, 6, 1], seed=3)
    base = (F(1, 2), F(-1, 3), F(1, 5), F(0))
    red = InputSlice(1, 3, base)
    problem = Maximize(net, Box.cube(2), samples=16)
    sliced, inverse = red.apply(problem)
    assert sliced.net.n_inputs == 2
    answer = auto.maximizer(sliced, Deadline(60))
    back = red.invert(answer, inverse)
    x = back.witness
    assert x == lift_point(answer.witness, 1, 3, base) and (x[0], x[2]) == (base[0], base[2])
    assert evaluate(net, x)[0] == back.value
    assert evaluate(slice_network(net, 1, 3, base), answer.witness) == evaluate(net, x)


def test_auto_rules_pick_the_documented_steps():
    tree = max_tree(5, "B")
    exact = Equivalence(tree, reference_network(tree), RealSpace(5), "exact")
    assert [s.name for s in auto.STEPS if s.applies(exact)] == ["arrangement", "symmetry", "z3", "engine"]
    boxed = Equivalence(tree, reference_network(tree), Box.cube(5), "exact")
    assert [s.name for s in auto.STEPS if s.applies(boxed)] == ["z3", "engine"]
    trained = random_relu_network([4, 16, 16, 1], seed=1)  # weights with denominators up to 2^10
    assert not auto.hand_built(trained) and auto.hand_built(tree, mean_network(9))
    eq_trained = Equivalence(trained, reference_network(trained), Box.cube(4), "exact")
    assert [s.name for s in auto.STEPS if s.applies(eq_trained)] == ["z3-short", "engine"]
    small = auto.Difference(mean_network(4), reference_network(mean_network(4)), Box.cube(4))
    big = auto.Difference(trained, reference_network(trained), Box.cube(4))
    small_trained = random_relu_network([4, 4, 1], seed=1)
    assert not auto.hand_built(small_trained)
    small_t = auto.Difference(small_trained, reference_network(small_trained), Box.cube(4))
    # hand-built: z3 region hopping first, whatever the size; trained: the engine, whatever the size
    assert [s.name for s in auto.STEPS if s.applies(small)] == ["z3-hopping", "engine"]
    assert [s.name for s in auto.STEPS if s.applies(small_t)] == ["engine"]
    assert [s.name for s in auto.STEPS if s.applies(big)] == ["engine"]
    # budgets: a short first turn is 10 s or a quarter of what is left; on hand-built networks z3 keeps
    # all the time without a timeout, three quarters of one
    for step in auto.STEPS:
        if step.name == "z3-short":
            assert step.budget(None) == 10.0 and step.budget(8.0) == 2.0
        if step.name in ("z3", "z3-hopping"):
            assert step.budget(None) is None and step.budget(8.0) == 6.0


def test_the_last_step_of_the_chains_is_pluggable():
    calls = []

    def recording(problem, deadline):
        calls.append(problem)
        return auto._milp_maximize(problem, deadline)

    previous = auto.set_maximizer(recording)
    try:
        r = worst_case_error(mean_network(3), Box.cube(3), backend="milp")
        assert r.sup_under == F(2, 3) and r.sup_over == 0
        e = check_exact(max_tree(3, "A"), backend="milp")
        assert e.status is Status.PROVED
    finally:
        auto.set_maximizer(previous)
    assert calls and all(isinstance(p, Maximize) and p.net.is_relu_network for p in calls)


def test_auto_backend_values_match_the_named_backends():
    net = truncated_tree(6, 1, "A")
    a = worst_case_error(net, Box.cube(6), backend="auto")
    z = worst_case_error(net, Box.cube(6), backend="z3")
    assert (a.sup_over, a.sup_under) == (z.sup_over, z.sup_under) == (0, F(2, 3))
    assert dataclasses.is_dataclass(a) and a.backend == "z3"  # 12 ReLUs: z3 region hopping
