"""Exact LP: optima against hand-solved LPs and against z3's exact simplex on random LPs."""

from fractions import Fraction

import numpy as np
import pytest

from verify.backends.exact_lp import LPStatus, _z3_lp, check_certificate, constraint_list, solve_exact_lp


def test_hand_solved_lp():
    # max x + y, x + 2y <= 4, 3x + y <= 6, x, y >= 0: the vertex (8/5, 6/5), value 14/5.
    r = solve_exact_lp([1, 1], A=[[1, 2], [3, 1]], b=[4, 6], lo=[0, 0])
    assert r.status is LPStatus.OPTIMAL
    assert r.value == Fraction(14, 5) and r.x == (Fraction(8, 5), Fraction(6, 5))
    cons = constraint_list(2, [[1, 2], [3, 1]], [4, 6], lo=[0, 0])
    assert check_certificate([1, 1], cons, r.x, r.certificate)


def test_minimise_and_equalities():
    # min x - y with x + y = 1, 0 <= x, y <= 1/3 + ...: optimum at x = 0, y = 1: value -1.
    r = solve_exact_lp([1, -1], A_eq=[[1, 1]], b_eq=[1], lo=[0, 0], hi=[1, 1], maximize=False)
    assert r.status is LPStatus.OPTIMAL and r.value == -1 and r.x == (0, 1)


def test_infeasible_and_unbounded():
    assert solve_exact_lp([1], A=[[1], [-1]], b=[0, -1]).status is LPStatus.INFEASIBLE  # x <= 0, x >= 1
    assert solve_exact_lp([1, 0], A=[[-1, 0]], b=[0]).status is LPStatus.UNBOUNDED


def test_degenerate_vertex():
    # Three constraints through the optimum (1, 1) in the plane: a degenerate vertex.
    r = solve_exact_lp([1, 1], A=[[1, 0], [0, 1], [1, 1]], b=[1, 1, 2], lo=[0, 0])
    assert r.status is LPStatus.OPTIMAL and r.value == 2 and r.x == (1, 1)


def test_certificate_rejects_tampering():
    r = solve_exact_lp([1, 1], A=[[1, 2], [3, 1]], b=[4, 6], lo=[0, 0])
    cons = constraint_list(2, [[1, 2], [3, 1]], [4, 6], lo=[0, 0])
    tight, lam = r.certificate
    assert not check_certificate([1, 1], cons, r.x, (tight, tuple(-m for m in lam)))
    assert not check_certificate([1, 1], cons, (Fraction(1), Fraction(1)), r.certificate)


@pytest.mark.parametrize("seed", range(12))
def test_random_lps_agree_with_z3(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 7)), int(rng.integers(3, 15))
    # 17-digit decimals: weights as numpy prints them, denominators 10^17.
    dec = lambda v: Fraction(f"{v:.17f}")  # noqa: E731
    A = [[dec(v) for v in rng.standard_normal(n)] for _ in range(m)]
    b = [dec(v) for v in rng.random(m)]
    c = [dec(v) for v in rng.standard_normal(n)]
    lo, hi = [Fraction(-1)] * n, [Fraction(1)] * n
    r = solve_exact_lp(c, A=A, b=b, lo=lo, hi=hi)
    st, value, _ = _z3_lp(c, constraint_list(n, A, b, lo=lo, hi=hi), True, None)
    assert r.status is st
    if st is LPStatus.OPTIMAL:
        assert r.value == value
        assert sum(a * x for a, x in zip(c, r.x)) == value
        if r.certificate is not None:
            assert check_certificate(c, constraint_list(n, A, b, lo=lo, hi=hi), r.x, r.certificate)
