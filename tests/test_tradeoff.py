"""Error against width: every R containing {0,1}, Pareto front, depth-limited view, plot and table."""

from fractions import Fraction as F

import pytest

from verify.analysis.optimal import optimal_approximation
from verify.analysis.tradeoff import all_R_with_01, depth_limited, markdown_table, plot_tradeoff, tradeoff
from verify.errors import VerifyError


@pytest.fixture(scope="module")
def rows5():
    return tradeoff(5)


def test_all_sets(rows5):
    assert len(all_R_with_01(7)) == 2 ** 5
    assert len(rows5) == 2 ** 3
    assert {r.R for r in rows5} == {(0, 1), (0, 1, 2), (0, 1, 3), (0, 1, 4), (0, 1, 2, 3), (0, 1, 2, 4), (0, 1, 3, 4),
                                   (0, 1, 2, 3, 4)}


def test_errors_are_the_certified_optima(rows5):
    by_R = {r.R: r for r in rows5}
    assert by_R[(0, 1)].error == F(4, 10)             # (d-1)/(2d)
    assert by_R[(0, 1, 4)].error == F(1, 12)          # 1/(2(d+1))
    assert by_R[(0, 1, 3, 4)].error == F(1, 25)       # 1/d^2
    assert by_R[(0, 1, 2, 3, 4)].error == F(1, 32)    # 2^-d
    assert by_R[(0, 1, 2)].error == F(4, 18)          # t1 t2 / (2(t1 t2 + d)), t1 = t2 = 2, d = 5
    for r in rows5:
        assert r.error == optimal_approximation(5, r.R).error


def test_pareto_front_by_definition(rows5):
    def dominates(o, r):
        return o.width <= r.width and o.error <= r.error and (o.width < r.width or o.error < r.error)

    for r in rows5:
        assert r.pareto == (not any(dominates(o, r) for o in rows5))
    front = [r for r in rows5 if r.pareto]
    assert any(r.R == (0, 1) for r in front)            # smallest (no hidden layer)
    assert any(r.R == (0, 1, 2, 3, 4) for r in front)   # smallest error, 2^-d


def test_depth_limited(rows5):
    view = depth_limited(rows5)
    assert [L for L, _ in view] == [0, 1, 2]
    assert view[0][1].R == (0, 1) and view[0][1].error == F(2, 5)   # no hidden layer: linear
    assert view[1][1].R == (0, 1, 2)                                  # one layer: only pairs
    assert view[-1][1].error == F(1, 32)
    errs = [r.error for _, r in view]
    assert errs == sorted(errs, reverse=True)


def test_table_and_plot(rows5, tmp_path):
    md = markdown_table(rows5, 5)
    assert "| {0,1,2,3,4} | 1/32 |" in md
    p = tmp_path / "t.png"
    plot_tradeoff(rows5, 5, str(p))
    data = p.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(data) < 200_000


def test_bad_d():
    with pytest.raises(VerifyError):
        tradeoff(1)
    with pytest.raises(VerifyError):
        tradeoff(13)
