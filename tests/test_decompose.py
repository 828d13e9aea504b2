"""Decomposition by output support: the decomposed and undecomposed answers agree exactly; identical
windows are solved once; supports, relabelling, boxes and witnesses are handled exactly."""

from fractions import Fraction as F

import numpy as np
import pytest

from verify.analysis.decompose import (decompose_pairs, decomposed_difference, decomposed_error, chain_solver,
                                       output_supports, restrict)
from verify.analysis.results import Status
from verify.analysis.worst_case import both_sides, worst_case_error
from verify.backends.evaluator import evaluate
from verify.constructions import max_tree, pool2d
from verify.domain import Box
from verify.ir.builder import GraphBuilder


def _windows(h, w, k=2):
    return [[r * w + c for r in range(i, i + k) for c in range(j, j + k)] for i in range(0, h, k) for j in range(0, w, k)]


def _mlp_weights(seed, k=4, hidden=5):
    rng = np.random.default_rng(seed)
    f32 = lambda a: [[F(float(v)) for v in row] for row in np.asarray(a, dtype=np.float32)]  # noqa: E731
    return (f32(rng.standard_normal((hidden, k)) * 0.8), f32([rng.standard_normal(hidden) * 0.3])[0],
            f32([rng.standard_normal(hidden) * 0.6])[0], F(float(np.float32(rng.standard_normal() * 0.2))))


def window_layer(h, w, seeds, *, order=None, windows=None, hidden=5):
    """One small ReLU MLP per 2x2 window of an h x w image (weights of window j from seeds[j]), as a
    network with the windows recorded (so it can be compared with max pooling)."""
    windows = windows or _windows(h, w)
    b = GraphBuilder(h * w)
    xs = b.input_exprs()
    for j, win in enumerate(windows):
        W1, b1, W2, b2 = _mlp_weights(seeds[j], len(win), hidden)
        cells = [win[i] for i in (order[j] if order else range(len(win)))]
        hid = [b.relu(sum((xs[c] * W1[u][i] for i, c in enumerate(cells[1:], 1)), xs[cells[0]] * W1[u][0]) + b1[u])
               for u in range(len(W1))]
        b.output(sum((hv * W2[u] for u, hv in enumerate(hid[1:], 1)), hid[0] * W2[0]) + b2)
    return b.build(windows=windows, name="window layer")


def mean_layer(h, w):
    b = GraphBuilder(h * w)
    xs = b.input_exprs()
    wins = _windows(h, w)
    for win in wins:
        b.output(sum((xs[i] for i in win[1:]), xs[win[0]]) * F(1, len(win)))
    return b.build(windows=wins)


def test_supports_and_restriction():
    net = pool2d(4, 4, 2, 2, "B")
    assert output_supports(net) == tuple(tuple(w) for w in _windows(4, 4))
    sub = restrict(net, 3, output_supports(net)[3])
    assert sub.n_inputs == 4 and sub.n_outputs == 1
    for y in [(F(1), F(-2), F(3, 7), F(0)), (F(-1), F(-1), F(-5), F(-1, 3))]:
        x = [F(0)] * 16
        for k, i in enumerate(output_supports(net)[3]):
            x[i] = y[k]
        assert evaluate(sub, y) == (evaluate(net, x)[3],) == (max(y),)


def test_identical_windows_share_one_key_and_boxes_split_them():
    net = pool2d(2, 8, 2, 2, "A")
    keys = {k for k, _ in decompose_pairs(net, mean_layer(2, 8), Box.cube(16))}
    assert len(keys) == 1
    lo = [F(0)] * 16
    hi = [F(1) if (i % 8) < 4 else F(2) for i in range(16)]  # left windows [0,1], right windows [0,2]
    keys = [k for k, _ in decompose_pairs(net, mean_layer(2, 8), Box(tuple(lo), tuple(hi)))]
    assert len(set(keys)) == 2 and keys[0] == keys[1] and keys[2] == keys[3] and keys[0] != keys[2]


def test_max_against_mean_closed_form_and_undecomposed():
    # sup(max - mean) on [0,1]^4 is 3/4 at a vertex with one coordinate 1; sup(mean - max) = 0.
    box = Box.cube(8)
    r = decomposed_difference(pool2d(2, 4, 2, 2, "B"), mean_layer(2, 4), box)
    assert r.overall.status is Status.PROVED
    assert (r.overall.sup_over, r.overall.sup_under) == (F(3, 4), F(0))
    assert r.distinct == 1 and r.solver_calls == 1 and len(r.per_output) == 2
    whole = both_sides(pool2d(2, 4, 2, 2, "B"), mean_layer(2, 4), box, backend="milp")
    assert (whole.sup_over, whole.sup_under) == (r.overall.sup_over, r.overall.sup_under)
    # the exact max pooling layer against itself: 0 both ways
    z = decomposed_error(pool2d(4, 4, 2, 2, "skip"), Box.cube(16, -1, 1))
    assert (z.overall.sup_over, z.overall.sup_under, z.solver_calls) == (0, 0, 1)


@pytest.mark.parametrize("seeds", [(7, 7), (7, 8)])
def test_window_mlps_decomposed_equals_undecomposed(seeds):
    # The undecomposed query carries every window's ReLUs into each output's search (tens of seconds
    # with 5 hidden units a window): small windows keep the independent check short.
    net = window_layer(2, 4, seeds, hidden=3)
    box = Box.cube(8, -1, 1)
    d = decomposed_error(net, box)
    u = worst_case_error(net, box, backend="milp")
    assert d.overall.status is u.status is Status.PROVED
    assert (d.overall.sup_over, d.overall.sup_under) == (u.sup_over, u.sup_under)
    assert d.distinct == len(set(seeds)) == d.solver_calls
    _check_witnesses(net, d)


def _check_witnesses(net, d):
    # every output's value is attained on the original network at its lifted witness
    for p in d.per_output:
        win = net.windows[p.output]
        assert evaluate(net, p.witness_over)[p.output] - max(p.witness_over[i] for i in win) == p.sup_over
        assert max(p.witness_under[i] for i in win) - evaluate(net, p.witness_under)[p.output] == p.sup_under
        outside = [i for i in range(net.n_inputs) if i not in win]
        assert all(p.witness_over[i] == 0 for i in outside)  # the other coordinates at the box centre


def test_four_windows_against_each_window_alone():
    # Windows with seeds 1, 2, 1, 2: two pieces; each equals its window solved alone as a 4-input network.
    net = window_layer(4, 4, [1, 2, 1, 2])
    d = decomposed_error(net, Box.cube(16, -1, 1))
    assert d.distinct == d.solver_calls == 2 and [p.piece for p in d.per_output] == [0, 1, 0, 1]
    alone = {s: worst_case_error(window_layer(2, 2, [s]), Box.cube(4, -1, 1), backend="milp") for s in (1, 2)}
    for p in d.per_output:
        a = alone[(1, 2)[p.output % 2]]
        assert (p.sup_over, p.sup_under) == (a.sup_over, a.sup_under)
    assert d.overall.sup_over == max(a.sup_over for a in alone.values())
    assert d.overall.sup_under == max(a.sup_under for a in alone.values())
    _check_witnesses(net, d)


def test_eight_identical_windows_cost_one_window():
    net = window_layer(4, 8, [5] * 8)
    box = Box.cube(32, -1, 1)
    calls = []

    def counting(f, g, b, timeout=None):
        calls.append(f.n_inputs)
        return chain_solver()(f, g, b, timeout=timeout)

    d = decomposed_error(net, box, solver=counting)
    assert calls == [4] and d.solver_calls == 1 and d.distinct == 1
    # one window alone, solved directly: the same exact values
    one = window_layer(2, 2, [5])
    single = worst_case_error(one, Box.cube(4, -1, 1), backend="milp")
    assert (d.overall.sup_over, d.overall.sup_under) == (single.sup_over, single.sup_under)
    assert all(p.sup_over == single.sup_over for p in d.per_output)


def test_relabelled_inputs_are_not_merged_wrongly():
    # Window 1 reads its cells in another order: a different function of the window's positions.
    net = window_layer(2, 4, [9, 9], order=[[0, 1, 2, 3], [3, 1, 2, 0]], hidden=3)
    box = Box.cube(8, -1, 1)
    d = decomposed_error(net, box)
    assert d.distinct == 2
    u = worst_case_error(net, box, backend="milp")
    assert (d.overall.sup_over, d.overall.sup_under) == (u.sup_over, u.sup_under)


def test_difference_uses_the_union_of_supports():
    # A = max pooling (2 windows of 2); B = the same plus x4/10 on output 0: sup(A0 - B0) = 0, sup(B0 - A0) = 1/10.
    b1 = GraphBuilder(5)
    xs = b1.input_exprs()
    b1.output(b1.max([xs[0], xs[1]]))
    b1.output(b1.max([xs[2], xs[3]]))
    a = b1.build()
    b2 = GraphBuilder(5)
    ys = b2.input_exprs()
    b2.output(b2.max([ys[0], ys[1]]) + ys[4] * F(1, 10))
    b2.output(b2.max([ys[2], ys[3]]))
    b = b2.build()
    d = decomposed_difference(a, b, Box.cube(5))
    assert [p.support for p in d.per_output] == [(0, 1, 4), (2, 3)]
    assert (d.overall.sup_over, d.overall.sup_under) == (0, F(1, 10))
    assert d.per_output[0].witness_under[4] == 1 and d.distinct == 2


def test_constant_outputs_and_timeout_brackets():
    b = GraphBuilder(2)
    b.output(b.input_exprs()[0] * 0 + 1)  # reads nothing: constant 1
    b.output(b.relu(b.input_exprs()[1]))
    f = b.build()
    g = GraphBuilder(2)
    g.output(g.input_exprs()[0] * 0)
    g.output(g.input_exprs()[1] * F(1, 2))
    g = g.build()
    d = decomposed_difference(f, g, Box.cube(2, -1, 1))
    assert d.per_output[0].support == () and (d.per_output[0].sup_over, d.per_output[0].sup_under) == (1, -1)
    # relu(y) - y/2 on [-1,1]: sup 1/2 at +-1; y/2 - relu(y): sup 0 at 0
    assert (d.per_output[1].sup_over, d.per_output[1].sup_under) == (F(1, 2), 0)
    assert (d.overall.sup_over, d.overall.sup_under) == (1, 0)
    # no time at all: UNKNOWN, every value attained, and the true values inside the brackets
    net = window_layer(2, 4, [4, 6])
    t = decomposed_error(net, Box.cube(8, -1, 1), timeout=0)
    exact = decomposed_error(net, Box.cube(8, -1, 1))
    assert t.overall.status is Status.UNKNOWN and t.solver_calls == 0
    assert t.overall.sup_over <= exact.overall.sup_over <= t.overall.upper_over
    assert t.overall.sup_under <= exact.overall.sup_under <= t.overall.upper_under


def test_z3_backend_as_the_piece_solver():
    d = decomposed_error(window_layer(2, 4, [2, 2]), Box.cube(8, -1, 1), backend="z3")
    u = decomposed_error(window_layer(2, 4, [2, 2]), Box.cube(8, -1, 1))
    assert (d.overall.sup_over, d.overall.sup_under) == (u.overall.sup_over, u.overall.sup_under)
    assert d.to_json()["decomposition"]["distinct"] == 1
    assert d.to_json()["per_output"][1]["support"] == [2, 3, 6, 7]


def test_max_tree_output_is_one_piece():
    d = decomposed_error(max_tree(5, "B"), Box.cube(5))
    assert (d.overall.sup_over, d.overall.sup_under, d.distinct) == (0, 0, 1)


def test_worst_case_difference_backend_and_decompose_options():
    from verify.analysis.compare import worst_case_difference
    box = Box.cube(8)
    for kw in ({"backend": "milp"}, {"backend": "auto", "decompose": True}, {"decompose": True}):
        r = worst_case_difference(pool2d(2, 4, 2, 2, "A"), mean_layer(2, 4), box, **kw)
        assert (r.status, r.sup_over, r.sup_under) == (Status.PROVED, F(3, 4), 0)
    with pytest.raises(Exception, match="unknown backend"):
        worst_case_difference(pool2d(2, 4, 2, 2, "A"), mean_layer(2, 4), box, backend="gurobi")
