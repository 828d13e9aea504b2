"""Differential fuzzing: random networks and boxes; every backend must agree with exact evaluation.

Shared generators and cross-checks are in :mod:`verify.testing` (``benchmarks/soak.py`` runs 10^4 cases
of the same checks). A failure prints the network JSON and the box (hypothesis shrinks it first).
Known answers are independent of the code under test: exact rational evaluation, and networks that equal
max by construction (pairwise-max identities, LITERATURE.md section 2) or differ from it by construction.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.analysis.results import ErrorResult, ExactnessResult, Status
from verify.analysis.worst_case import worst_case_error
from verify.domain import Box, RealSpace
from verify.testing import (
    EXTRA_CHECKS,
    FuzzCase,
    RandomSource,
    check_certificate,
    check_exactness,
    check_float_vs_exact,
    check_intervals,
    check_smtlib_point,
    check_sup_error,
    exactness_backends,
    exactness_case,
    random_network,
    sup_error_backends,
)

from .strategies import exactness_cases, network_cases

def fuzz(n: int):
    """``n`` examples, no per-example deadline (solver times vary on a shared machine)."""
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _fail(disagreements):
    assert not disagreements, "\n\n".join(str(d) for d in disagreements)


@fuzz(150)
@given(network_cases(n_points=6))
def test_float_evaluator_and_intervals_agree_with_exact(case):
    _fail(check_float_vs_exact(case) + check_intervals(case))
    for check in EXTRA_CHECKS.values():
        _fail(check(case))


@fuzz(45)
@given(network_cases(n_points=6, max_inputs=3, max_depth=2, max_width=4))
def test_sup_error_backends_agree_with_exact_evaluation(case):
    _fail(check_sup_error(case, timeout=10))


@fuzz(70)
@given(exactness_cases(max_inputs=4))
def test_exactness_known_answers(case):
    _fail(check_exactness(case, timeout=20))


@fuzz(30)
@given(network_cases(n_points=1, max_inputs=3, max_depth=3, max_width=5))
def test_smtlib_printer_agrees_with_exact_evaluation(case):
    _fail(check_smtlib_point(case, case.points[0]))


@fuzz(12)
@given(network_cases(n_points=0, max_inputs=2, max_depth=2, max_width=3), exactness_cases(max_inputs=3))
def test_certificates_of_random_results_recheck(case, ecase):
    r = worst_case_error(case.net, case.domain, timeout=20)
    _fail(check_certificate(case, r))
    e = exactness_backends()["z3"](ecase.net, ecase.domain, 20)
    _fail(check_certificate(ecase, e))


# -- the checks themselves can fail: wrong backends are caught ----------------------------------------
def _case(seed=3):
    src = RandomSource(seed)
    net = random_network(src, max_inputs=2, max_depth=1, max_width=3, skip=False, max_outputs=1)
    box = Box.cube(net.n_inputs, 0, 1)
    pts = [tuple(Fraction(k, 4) for _ in range(net.n_inputs)) for k in range(5)]
    return FuzzCase(net, box, points=pts)


def test_a_backend_with_a_wrong_value_is_caught():
    case = _case()

    def z3(net, box, timeout):
        return worst_case_error(net, box, timeout=timeout)

    def off_by_half(net, box, timeout):
        r = worst_case_error(net, box, timeout=timeout)
        return dataclasses.replace(r, sup_over=r.sup_over + Fraction(1, 2))  # no longer attained at its witness

    found = check_sup_error(case, backends={"z3": z3, "bad": off_by_half})
    assert any(d.message.startswith("bad") and "witness" in d.message for d in found)
    assert not any(d.message.startswith("z3") for d in found)
    assert any("PROVED backends disagree" in d.message for d in found)


def test_a_backend_claiming_a_too_small_sup_is_caught():
    case = FuzzCase(_mean_net(), Box.cube(2, 0, 1), points=[(Fraction(1), Fraction(0))])

    def lying(net, box, timeout):
        # PROVED sup(max - N) = 0 at the centre: exact there, but (1, 0) has error 1/2
        c = box.center()
        return ErrorResult(Status.PROVED, box, 0.0, Fraction(0), Fraction(0), c, c)

    found = check_sup_error(case, backends={"lying": lying})
    assert any("has error 1/2" in d.message for d in found)


def _mean_net():
    from verify.constructions import mean_network

    return mean_network(2)


def test_an_exactness_backend_that_always_proves_is_caught():
    src = RandomSource(0)
    case = None
    while case is None or case.expect_exact is not False:
        case = exactness_case(src, max_inputs=3)

    def always(net, domain, timeout):
        return ExactnessResult(Status.PROVED, domain, 0.0)

    found = check_exactness(case, backends={"always": always})
    assert any("PROVED a network built to differ" in d.message for d in found)
    assert "network JSON" in str(found[0])


def test_a_counterexample_that_does_not_reproduce_is_caught():
    src = RandomSource(1)
    case = None
    while case is None or case.expect_exact is not True:
        case = exactness_case(src, max_inputs=3, box=False)
    x = tuple(Fraction(0) for _ in range(case.net.n_inputs))

    def bogus(net, domain, timeout):
        return ExactnessResult(Status.REFUTED, domain, 0.0, counterexample=x, output_index=0,
                               network_value=Fraction(1), reference_value=Fraction(0))

    found = check_exactness(case, backends={"bogus": bogus})
    assert any("does not reproduce" in d.message for d in found)
    assert any("REFUTED a network equal to max" in d.message for d in found)


def test_registries_list_z3():
    assert "z3" in sup_error_backends() and "z3" in exactness_backends()


def test_seeded_cases_of_every_kind():
    # the soak's seeded sequence (benchmarks/soak.py runs 10^4 of these): more varied shapes than the
    # hypothesis draws above, which favour small networks
    from verify.testing import CHECK_KINDS, run_soak

    report = run_soak(48, seed=8, timeout=20)
    assert report.cases == {k: 12 for k in CHECK_KINDS}
    _fail(report.disagreements)
