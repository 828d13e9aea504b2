"""Worst-case errors against closed forms, and soundness on random networks (hypothesis)."""

import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from verify.analysis import Status, worst_case_error
from verify.backends.evaluator import evaluate, evaluate_batch
from verify.constructions import mean_network, truncated_tree
from verify.domain import Box
from verify.ir import GraphBuilder

from .known_answers import KNOWN_ANSWERS


@pytest.mark.parametrize("case", KNOWN_ANSWERS, ids=lambda c: c.name)
def test_known_answer_errors(case):
    net = case.make()
    r = worst_case_error(net, case.box)
    assert r.status is Status.PROVED
    assert (r.sup_over, r.sup_under) == (case.sup_over, case.sup_under)
    assert r.sup_abs == max(case.sup_over, case.sup_under)
    # Witnesses lie in the box and attain the values under exact evaluation.
    for w, value, sign, o in ((r.witness_over, r.sup_over, 1, r.output_over), (r.witness_under, r.sup_under, -1, r.output_under)):
        assert case.box.contains(w)
        window = net.windows[o]
        assert sign * (evaluate(net, w)[o] - max(w[i] for i in window)) == value


@pytest.mark.parametrize("d", range(2, 10))
def test_mean_closed_form(d):
    r = worst_case_error(mean_network(d), Box.cube(d))
    assert r.sup_under == Fraction(d - 1, d) and r.sup_over == 0


@pytest.mark.parametrize("d, level", [(9, 1), (9, 2), (16, 2), (12, 3)])
def test_truncated_tree_closed_form(d, level):
    m = -(-d // 2 ** level)
    r = worst_case_error(truncated_tree(d, level, "B"), Box.cube(d))
    assert r.sup_under == Fraction(m - 1, m) and r.sup_over == 0


@st.composite
def small_networks(draw):
    d = draw(st.integers(1, 3))
    depth = draw(st.integers(1, 2))
    rng = random.Random(draw(st.integers(0, 10 ** 6)))
    b = GraphBuilder(d)
    layer = b.input_exprs()
    weight = lambda: Fraction(rng.randint(-4, 4), rng.randint(1, 3))
    for _ in range(depth):
        width = rng.randint(1, 4)
        new = []
        for _ in range(width):
            e = sum((v * weight() for v in layer), start=layer[0] * 0) + weight()
            new.append(b.relu(e))
        layer = new
    out = sum((v * weight() for v in layer), start=layer[0] * 0) + weight()
    b.output(out)
    lo = Fraction(rng.randint(-3, 0), rng.randint(1, 2))
    hi = lo + Fraction(rng.randint(1, 4), rng.randint(1, 2))
    return b.build(), Box.cube(d, lo, hi)


@given(small_networks())
@settings(max_examples=40, deadline=None)
def test_reported_sup_is_never_exceeded_and_witnesses_reproduce(case):
    net, box = case
    r = worst_case_error(net, box)
    assert r.status is Status.PROVED
    for w, value, sign in ((r.witness_over, r.sup_over, 1), (r.witness_under, r.sup_under, -1)):
        assert box.contains(w)
        assert sign * (evaluate(net, w)[0] - max(w)) == value
    # Sampled points (exactly evaluated) never exceed the sups.
    rng = random.Random(0)
    for _ in range(40):
        x = tuple(box.lo[i] + (box.hi[i] - box.lo[i]) * Fraction(rng.randint(0, 64), 64) for i in range(box.dim))
        diff = evaluate(net, x)[0] - max(x)
        assert -r.sup_under <= diff <= r.sup_over


def test_float_evaluator_agrees_with_exact():
    rng = np.random.default_rng(3)
    net = truncated_tree(7, 2, "B")
    X = rng.uniform(-2, 2, size=(50, 7))
    F = evaluate_batch(net, X)
    for row, f in zip(X, F):
        exact = evaluate(net, [Fraction(float(v)) for v in row])[0]
        assert abs(float(exact) - f[0]) < 1e-9
