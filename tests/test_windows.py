"""Beyond the cube (other boxes, gap, spread) and real image windows."""

from fractions import Fraction as F
from itertools import product

import numpy as np
import pytest

from verify.analysis import worst_case_error
from verify.analysis.optimal import evaluate_subpool, optimal_approximation
from verify.analysis.results import Status
from verify.analysis.windows import (error_on_box, image_windows, window_stats, worst_error_given_gap,
                                     worst_relative_error_given_spread)
from verify.constructions.subpool import subpool_network
from verify.domain import Box
from verify.errors import VerifyError

CASES = [(3, (0, 1)), (3, (0, 1, 2)), (4, (0, 1, 3)), (4, (0, 1, 2, 3))]


@pytest.mark.parametrize("d,R", CASES)
def test_error_on_other_boxes_matches_z3(d, R):
    opt = optimal_approximation(d, R)
    assert error_on_box(d, R, opt.beta) == opt.error
    net = subpool_network(d, R, opt.beta, "skip", share=True)
    for lo, hi in [(0, 2), (1, 2), (-1, 1)]:
        r = worst_case_error(net, Box.cube(d, lo, hi), timeout=120)
        assert r.status is Status.PROVED
        assert r.sup_abs == error_on_box(d, R, opt.beta, lo, hi)


def grid(d, n):
    return product([F(i, n) for i in range(n + 1)], repeat=d)


@pytest.mark.parametrize("d,R", CASES)
def test_gap_and_spread_formulas_against_a_grid(d, R):
    # The slice vertices lie on the grid of step 1/6 when g, s are multiples of 1/6, so the grid max
    # must equal the formula (and can never exceed it).
    opt = optimal_approximation(d, R)
    pts = list(grid(d, 6))
    for i in range(7):
        g = F(i, 6)
        best = best_n = F(0)
        best_s = F(0)
        for x in pts:
            s = sorted(x)
            e = abs(s[-1] - evaluate_subpool(d, R, opt.beta, x))
            if s[-1] - s[-2] == g:
                best = max(best, e)
                if s[0] == 0 and s[-1] == 1:
                    best_n = max(best_n, e)
            if i > 0 and s[-1] - s[0] == g:
                best_s = max(best_s, e / g)
        assert best == worst_error_given_gap(d, R, opt.beta, g)
        if d >= 3:
            assert best_n == worst_error_given_gap(d, R, opt.beta, g, normalised=True)
        if i > 0:
            assert best_s == worst_relative_error_given_spread(d, R, opt.beta, g)


def test_relative_error_grows_for_small_spread():
    opt = optimal_approximation(9, (0, 1, 7, 8))
    # e(v0) = e(v2) = -1/81 (equioscillation), so the window (1-s) v0 + s v2 has error -1/81 at spread s:
    # relative error t/s, unbounded as the contrast s -> 0 (the approximation does not scale).
    assert opt.vertex_errors[0] == opt.vertex_errors[2] == -opt.error
    big = worst_relative_error_given_spread(9, opt.R, opt.beta, F(1, 100))
    assert big == 100 * opt.error
    with pytest.raises(VerifyError):
        worst_relative_error_given_spread(9, opt.R, opt.beta, 0)


def test_windows_and_stats_small():
    img = np.arange(36, dtype=np.int64).reshape(6, 6)
    w = image_windows(img, 3, 2)
    assert w.shape == (4, 9)  # rows 0,2 x cols 0,2
    assert list(w[0]) == [0, 1, 2, 6, 7, 8, 12, 13, 14]
    st = window_stats(w)
    assert np.allclose(st["spread"], 14 / 255) and np.allclose(st["gap"], 1 / 255)


def test_real_images():
    pytest.importorskip("skimage")
    from verify.analysis.windows import image_report, load_image

    cam = load_image("camera")
    assert cam.shape == (512, 512)
    assert image_windows(cam, 2, 2).shape == (256 * 256, 4)
    rep, arrays = image_report(2, 2, ["camera"])
    assert rep.n_windows == 256 * 256
    for row in rep.rows:
        # Real windows are points of [0,1]^d: their exact worst error cannot exceed the certified one.
        assert F(row["max_on_windows"]) <= F(row["worst_case_cube"])
        assert 0 <= row["mean"] <= row["worst_case_cube_float"]
    r = arrays["ratio"][~np.isnan(arrays["ratio"])]
    assert r.min() >= 0 and r.max() <= 1
