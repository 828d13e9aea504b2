"""Certified optimal subpool approximations against the paper's closed forms, z3 and hand derivations.

Reference values: Matoba, Dimitriadis, Fleuret, arXiv:2203.01016 (TMLR 2023), LITERATURE.md section 1.
The formulas below are written out here again, independently of ``verify.analysis.optimal``.
"""

import random
from fractions import Fraction as F
from itertools import combinations
from math import comb

import pytest

from verify.analysis import worst_case_error
from verify.analysis.optimal import (Certificate, check_certificate, closed_form_error, closed_forms,
                                     evaluate_subpool, explicit_optimum, optimal_approximation, sup_error,
                                     vertex_errors)
from verify.analysis.results import Status
from verify.backends.evaluator import evaluate
from verify.constructions.subpool import n_subset_maxima, subpool_network, subpool_size
from verify.domain import Box
from verify.errors import VerifyError


def paper_families(d):
    """(R, error) for every family of the issue defined at d (degenerate small d left out on purpose)."""
    out = [((0,), F(1, 2)), ((0, 1), F(d - 1, 2 * d)), (tuple(range(d)), F(1, 2 ** d))]
    if d >= 3:  # {0,1,2} needs 2 <= d-1; {0,1,d-1} differs from {0,1} only when d-1 >= 2
        t1, t2 = (d - 1) // 2, d // 2
        out.append(((0, 1, 2), F(t1 * t2, 2 * (t1 * t2 + d))))
        out.append(((0, 1, d - 1), F(1, 2 * (d + 1))))
    if d >= 4:  # {0,1,d-2,d-1} has four distinct sizes only from d = 4
        out.append((tuple(sorted({0, 1, d - 2, d - 1})), F(1, d * d)))
    return out


@pytest.mark.parametrize("d", range(2, 11))
def test_closed_forms_are_the_certified_optima(d):
    for R, value in paper_families(d):
        opt = optimal_approximation(d, R)
        assert opt.error == value, (d, R)
        assert closed_form_error(d, R) == value
        ok, why = check_certificate(d, R, opt.beta, opt.error, opt.certificate)
        assert ok, why


def test_paper_numbers_for_d9():
    expect = {(0, 1): F(4, 9), (0, 1, 2): F(8, 25), (0, 1, 8): F(1, 20), (0, 1, 7, 8): F(1, 81),
              tuple(range(9)): F(1, 512)}
    for R, v in expect.items():
        assert optimal_approximation(9, R).error == v


def test_degenerate_small_d_are_not_forced_into_formulas():
    # d = 2: {0,1,d-1} is {0,1}; 1/(2(d+1)) = 1/6 would be wrong, the optimum is 1/4.
    assert optimal_approximation(2, [0, 1]).error == F(1, 4)
    assert F(1, 6) not in {v for _, _, v in closed_forms(2)}
    # d = 3: {0,1,d-2,d-1} is {0,1,2}; 1/d^2 = 1/9 would be wrong, the optimum is 1/8.
    assert optimal_approximation(3, [0, 1, 2]).error == F(1, 8)
    assert closed_form_error(3, [0, 1, 2]) == F(1, 8)
    # A set outside the families has no closed form (but a certified optimum).
    assert closed_form_error(9, [0, 3]) is None
    assert optimal_approximation(9, [0, 3]).error > 0


def test_hand_derived_d2():
    # f = b0 + b1 (x1+x2)/2; equioscillation -1/4, +1/4, -1/4 at v0, v1, v2 gives b0 = 1/4, b1 = 1.
    opt = optimal_approximation(2, [0, 1])
    assert opt.beta == {0: F(1, 4), 1: F(1)}
    assert opt.vertex_errors == [F(-1, 4), F(1, 4), F(-1, 4)]


def brute_f(d, beta, x):
    """f_beta by enumerating subsets (independent of the order-statistic formula)."""
    total = F(beta.get(0, 0))
    for k, b in beta.items():
        if k >= 1:
            total += F(b) * sum(max(x[i] for i in S) for S in combinations(range(d), k)) / comb(d, k)
    return total


def test_order_statistic_formula_matches_subset_enumeration():
    rng = random.Random(3)
    for d in range(2, 7):
        for _ in range(10):
            R = sorted(rng.sample(range(d), rng.randint(1, d)))
            beta = {k: F(rng.randint(-9, 9), rng.randint(1, 5)) for k in R}
            x = [F(rng.randint(-10, 10), rng.randint(1, 7)) for _ in range(d)]
            assert evaluate_subpool(d, R, beta, x) == brute_f(d, beta, x)


@pytest.mark.parametrize("d", range(2, 13))
def test_full_R_error_and_width(d):
    opt = optimal_approximation(d, range(d))
    assert opt.error == F(1, 2 ** d)
    assert n_subset_maxima(d, range(d)) == 2 ** d - d - 2
    # For R = all sizes the active system is square and nonsingular: the optimum is the paper's f*.
    assert opt.beta == explicit_optimum(d)


@pytest.mark.parametrize("d", range(2, 7))
def test_full_R_network_has_one_pair_max_per_subset(d):
    # With shared subtrees and the one-ReLU skip gadget, every subset of size >= 2 costs exactly one
    # pairwise max: the ReLU count is the number of nontrivial subset maxima, 2^d - d - 2.
    net = subpool_network(d, range(d), explicit_optimum(d), "skip", share=True)
    assert net.n_relus == 2 ** d - d - 2
    # Without sharing, a tree over k leaves has k - 1 pairwise maxima.
    net2 = subpool_network(d, range(d), explicit_optimum(d), "skip")
    assert net2.n_relus == sum(comb(d, k) * (k - 1) for k in range(2, d))


@pytest.mark.parametrize("d", range(2, 13))
def test_explicit_optimum_f_star(d):
    beta = explicit_optimum(d)
    assert sup_error(d, range(d), beta) == F(1, 2 ** d)
    # The formula as written in the paper, by subset enumeration, at a few points.
    if d <= 7:
        rng = random.Random(d)
        for _ in range(4):
            x = [F(rng.randint(0, 12), 12) for _ in range(d)]
            direct = F(1, 2 ** d) - sum(F(-1, 2) ** (d - k) * sum(max(x[i] for i in S) for S in combinations(range(d), k))
                                        for k in range(1, d))
            assert evaluate_subpool(d, range(d), beta, x) == direct


@pytest.mark.parametrize("gadget,share", [("A", False), ("B", False), ("skip", True), ("A", True)])
def test_network_computes_f_beta_exactly(gadget, share):
    rng = random.Random(7)
    for d in (3, 4, 5):
        for R in ([0, 1], [0, 1, d - 1], list(range(d)), [2] if d > 2 else [1]):
            opt = optimal_approximation(d, R)
            net = subpool_network(d, R, opt.beta, gadget, share=share)
            for _ in range(5):
                x = [F(rng.randint(-30, 30), rng.randint(1, 9)) for _ in range(d)]
                assert evaluate(net, x)[0] == brute_f(d, opt.beta, x)
            size = subpool_size(net, d, R)
            top = max([k for k in R if k >= 2], default=1)
            assert size.hidden_layers == (top - 1).bit_length()


# Every family for d = 2..6 (the full R at d = 6 runs below on the shared skip network), plus one more.
Z3_CASES = [(d, R) for d in range(2, 7) for R, _ in paper_families(d) if R != tuple(range(6))] + [(6, (0, 1, 4, 5))]


@pytest.mark.parametrize("d,R", Z3_CASES)
def test_lp_optimum_equals_z3_worst_case(d, R):
    opt = optimal_approximation(d, R)
    net = subpool_network(d, R, opt.beta, "A")
    r = worst_case_error(net, Box.cube(d), timeout=120)
    assert r.status is Status.PROVED
    assert r.sup_abs == opt.error
    # Equioscillation: both signs of the error are reached whenever the certificate uses both.
    if set(opt.certificate.signs) == {1, -1}:
        assert r.sup_over == r.sup_under == opt.error


def test_lp_optimum_equals_z3_worst_case_d6_full():
    opt = optimal_approximation(6, range(6))
    net = subpool_network(6, range(6), opt.beta, "skip", share=True)
    r = worst_case_error(net, Box.cube(6), timeout=300)
    assert r.status is Status.PROVED and r.sup_abs == opt.error == F(1, 64)


def test_vertex_lemma_for_arbitrary_beta_against_z3():
    # The lemma is about every beta, not only optimal ones: z3 on the network must agree.
    rng = random.Random(11)
    for d in (3, 4):
        R = list(range(d))
        beta = {k: F(rng.randint(-6, 6), rng.randint(1, 4)) for k in R}
        net = subpool_network(d, R, beta, "skip", share=True)
        r = worst_case_error(net, Box.cube(d), timeout=120)
        assert r.status is Status.PROVED
        e = vertex_errors(d, R, beta)
        assert r.sup_under == max(e)             # sup (max - N)
        assert r.sup_over == max(-v for v in e)  # sup (N - max)
        assert r.sup_abs == sup_error(d, R, beta)


def test_certificate_rejects_wrong_beta():
    d, R = 9, (0, 1, 7, 8)
    opt = optimal_approximation(d, R)
    good = opt.certificate
    assert check_certificate(d, R, opt.beta, opt.error, good) == (True, "")
    wrong = dict(opt.beta)
    wrong[0] += F(1, 1000)
    ok, why = check_certificate(d, R, wrong, opt.error, good)
    assert not ok and "sup error" in why
    # Claiming the (larger) true error of the wrong beta: the certificate's lower bound exposes it.
    ok, why = check_certificate(d, R, wrong, sup_error(d, R, wrong), good)
    assert not ok and "lower bound" in why
    # A claimed error below the optimum, with the optimal beta: rejected.
    assert not check_certificate(d, R, opt.beta, opt.error / 2, good)[0]


def test_certificate_rejects_tampered_weights():
    d, R = 6, tuple(range(6))
    opt = optimal_approximation(d, R)
    c = opt.certificate
    neg = Certificate(c.points, c.signs, tuple(-w if i == 0 else w for i, w in enumerate(c.weights)))
    assert not check_certificate(d, R, opt.beta, opt.error, neg)[0]
    # Move weight between two points: still sums to 1 but no longer annihilates the columns.
    w = list(c.weights)
    w[1] += F(1, 100)
    w[2] -= F(1, 100)
    moved = Certificate(c.points, c.signs, tuple(w))
    ok, why = check_certificate(d, R, opt.beta, opt.error, moved)
    assert not ok and "annihilate" in why
    flipped = Certificate(c.points, tuple(-s for s in c.signs), c.weights)
    assert not check_certificate(d, R, opt.beta, opt.error, flipped)[0]


def test_certificate_lower_bounds_every_beta():
    # Weak duality, checked on random beta: no beta beats the certified error.
    rng = random.Random(5)
    for d, R in [(5, (0, 1, 4)), (7, (0, 1, 2)), (8, tuple(range(8)))]:
        opt = optimal_approximation(d, R)
        for _ in range(50):
            beta = {k: v + F(rng.randint(-100, 100), 1000) for k, v in opt.beta.items()}
            assert sup_error(d, R, beta) >= opt.error


def test_full_R_certificate_is_binomial():
    # For R = all sizes the multipliers are the binomial weights C(d,j)/2^d with alternating signs.
    for d in (4, 9, 12):
        c = optimal_approximation(d, range(d)).certificate
        assert c.points == tuple(range(d + 1))
        assert c.weights == tuple(F(comb(d, j), 2 ** d) for j in range(d + 1))
        assert len({s * (-1) ** j for j, s in enumerate(c.signs)}) == 1


def test_lp_scales_to_d16():
    opt = optimal_approximation(16, range(16))
    assert opt.error == F(1, 2 ** 16)
    assert check_certificate(16, range(16), opt.beta, opt.error, opt.certificate)[0]


@pytest.mark.parametrize("d,R", [(1, [0]), (4, []), (4, [4]), (4, [-1]), (4, ["1"]), (True, [0])])
def test_bad_input(d, R):
    with pytest.raises(VerifyError):
        optimal_approximation(d, R)


def test_no_intercept_and_without_size_one():
    # R without 0 or 1 is allowed: certified anyway; the lemma still gives the error.
    for d, R in [(5, (2, 3)), (6, (1, 5)), (7, (3,))]:
        opt = optimal_approximation(d, R)
        assert sup_error(d, R, opt.beta) == opt.error
        assert check_certificate(d, R, opt.beta, opt.error, opt.certificate)[0]


def test_beyond_float_range_full_R():
    # From d ~ 24 HiGHS fails on this LP (coefficients ~C(d,k)/2^(d-k) against errors ~2^-d); for the full
    # R the equioscillation guess (every vertex, alternating signs) is certified exactly without floats.
    opt = optimal_approximation(24, range(24))
    assert opt.error == F(1, 2 ** 24) and opt.beta == explicit_optimum(24)
    assert check_certificate(24, range(24), opt.beta, opt.error, opt.certificate)[0]
