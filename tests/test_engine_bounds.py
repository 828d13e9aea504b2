"""Rigorous float linear bounds against an independent exact recomputation in Fractions.

The float evaluation (:func:`verify.backends.linear_bounds.backward`) must never be below the exact value
of the same rule with the same parameters (:func:`verify.engine.recheck.exact_bound`, plain Fractions,
its own compilation of the IR), and must be close to it; the exact rule itself must bound the network
at every point of the node; the cone support must equal an exact LP over the box cut by the cone.
"""

from fractions import Fraction

import numpy as np
import pytest

from verify.backends.evaluator import evaluate, evaluate_batch_nodes
from verify.backends.exact_lp import solve_exact_lp
from verify.backends.linear_bounds import BoxDomain, ConeDomain, LagrangeDomain, LevelNet, Objectives, backward
from verify.engine.bounding import BoundConfig, bound_nodes
from verify.engine.problem import Problem, prepare_network
from verify.engine.recheck import ExactLevels, exact_bound
from verify.domain import Box
from verify.ir.layers import Layer, from_layers
from tests.random_nets import random_net


def _weights(kind, rng, shape):
    W = rng.standard_normal(shape)
    if kind == "third":  # not floats: thirds and sevenths
        return [[Fraction(int(round(v * 30)), 21) for v in row] for row in np.atleast_2d(W)]
    if kind == "dec17":  # 17-digit decimals, read exactly
        return [[Fraction("%.17g" % v) for v in row] for row in np.atleast_2d(W)]
    return [[Fraction(float(np.float32(v))) for v in row] for row in np.atleast_2d(W)]


def layered(widths, seed, kind):
    rng = np.random.default_rng(seed)
    layers = []
    for k in range(1, len(widths)):
        W = _weights(kind, rng, (widths[k], widths[k - 1]))
        b = _weights(kind, rng, (1, widths[k]))[0]
        b = [v * Fraction(3, 10) for v in b]
        layers.append(Layer(tuple(map(tuple, W)), tuple(b), "relu" if k < len(widths) - 1 else "linear"))
    return from_layers(widths[0], layers)


def _nodes(lv, net, rng, B, d):
    lo = np.tile(rng.uniform(-1, 0, (1, d)), (B, 1))
    hi = lo + rng.uniform(0.1, 2, (B, d))
    X = lo[0] + (hi[0] - lo[0]) * rng.random((500, d))
    vals, idx = evaluate_batch_nodes(net, X)
    pre = np.array([vals[idx[net.single_pred(r)]] for r in lv.relus]).reshape(lv.N, -1)
    # any bounds are allowed in the comparison of float and exact arithmetic (validity is tested below)
    L = np.tile(pre.min(axis=1) - 0.1, (B, 1)) if lv.N else np.zeros((B, 0))
    U = np.tile(pre.max(axis=1) + 0.1, (B, 1)) if lv.N else np.zeros((B, 0))
    split = (rng.integers(-1, 2, (B, lv.N)) * (rng.random((B, lv.N)) < 0.3)).astype(np.int8)
    L = np.where(split == 1, np.maximum(L, 0), L)
    U = np.where(split == -1, np.minimum(U, 0), U)
    return lo, hi, L, U, split


DOMAINS = ["box", "cone", "lagrange"]


@pytest.mark.parametrize("kind", ["third", "dec17", "f32"])
@pytest.mark.parametrize("dom", DOMAINS)
@pytest.mark.parametrize("seed", [0, 1])
def test_rigorous_float_bound_dominates_exact_rule(kind, dom, seed):
    rng = np.random.default_rng(100 * seed + DOMAINS.index(dom))
    widths = [3, 5, 4, 1] if seed == 0 else [2, 4, 3, 3, 1]
    net = layered(widths, seed, kind)
    lv, ex = LevelNet(net), ExactLevels(net)
    d, N, B = lv.d, lv.N, 2
    lo, hi, L, U, split = _nodes(lv, net, rng, B, d)
    rows = [{0: Fraction(1), 1: Fraction(1, 3)}, {d - 1: Fraction(-1)}]
    rhs = [Fraction(1, 2), Fraction(1, 7)]
    domain, spec = {"box": (BoxDomain(), ("box",)), "cone": (ConeDomain(0, range(d), d), ("cone", 0, list(range(d)))),
                    "lagrange": (LagrangeDomain(rows, rhs, d), ("lagrange", rows, rhs))}[dom]
    worst = 0.0
    for K in range(1, lv.L + 2):
        n = 1 if K == lv.L + 1 else lv.sizes[K - 1]
        nodes = np.repeat(np.arange(B), 2 * n)
        js = np.tile(np.repeat(np.arange(n), 2), B)
        sg = np.tile([1.0, -1.0], B * n) if K <= lv.L else np.ones(2 * n * B)
        P, nl = len(nodes), lv.offsets[K - 1]
        alpha = rng.random((P, nl))
        beta = rng.random((P, nl)) * (rng.random((P, nl)) < 0.5)
        gamma = rng.random((P, 2)) if dom == "lagrange" else None
        theta = rng.random((P, lv.sizes[0], d)) if K >= 2 and seed == 0 else None
        rig = backward(lv, Objectives(K, nodes, js, sg), lo, hi, L, U, split, alpha, beta, domain, gamma, theta=theta)
        for p in range(P):
            b = nodes[p]
            pad = [0] * (N - nl)
            e = exact_bound(ex, K, int(js[p]), int(sg[p]), lo[b], hi[b], L[b], U[b], split[b],
                            list(alpha[p]) + pad, list(beta[p]) + pad, spec, None if gamma is None else gamma[p],
                            None if theta is None else theta[p])
            if e is None:
                assert rig.bound[p] == -np.inf
                continue
            assert Fraction(float(rig.bound[p])) >= e
            worst = max(worst, (float(rig.bound[p]) - float(e)) / (1 + abs(float(e))))
    assert worst < 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_exact_rule_bounds_dag_networks_at_exact_points(seed):
    """Skip connections and max nodes (lowered): the engine's bounds hold at exact rational points."""
    net = prepare_network(random_net(seed, d=3, units=6))
    box = Box.cube(3, -1, 1)
    prob = Problem(net, box, [({1: 1, 0: -1}, 0)])  # the cone x1 <= x0
    lv = prob.lv
    N = lv.N
    nb = bound_nodes(prob, prob.root_lo[None], prob.root_hi[None], np.full((1, N), -np.inf), np.full((1, N), np.inf),
                     np.zeros((1, N), dtype=np.int8), cfg=BoundConfig(iters_int=5, iters_out=5), root=True)
    rng = np.random.default_rng(seed)
    for _ in range(60):
        x = [Fraction(int(v), 64) for v in rng.integers(-64, 65, 3)]
        if x[1] > x[0]:
            x[0], x[1] = x[1], x[0]
        pre = prob.exact_values(x)
        flat = [v for k in range(1, lv.L + 1) for v in pre[k]]
        assert all(Fraction(float(nb.L[0, g])) <= flat[g] <= Fraction(float(nb.U[0, g])) for g in range(N))
        assert evaluate(net, x)[0] <= Fraction(float(nb.out[0]))


@pytest.mark.parametrize("d", [4, 40])  # 40: many breakpoints, shared upper ends (the sorted prefix sums)
@pytest.mark.parametrize("seed", range(6))
def test_cone_support_is_the_exact_lp(seed, d):
    rng = np.random.default_rng(seed)
    lo = np.floor(rng.uniform(-1, 0.5, (1, d)) * 8) / 8
    hi = lo + np.ceil(rng.uniform(0.1, 1.5, (1, d)) * 8) / 8
    a = np.round(rng.standard_normal((1, d)) * 16) / 16
    i = int(rng.integers(d))
    others = [j for j in range(d) if j != i and rng.random() < 0.8]
    val, xhat = ConeDomain(i, others, d).support(a, np.zeros_like(a), lo, hi)
    A, b = [], []
    for j in others:
        row = [0] * d
        row[j], row[i] = 1, -1
        A.append(row)
        b.append(0)
    r = solve_exact_lp([Fraction(float(v)) for v in a[0]], A=A, b=b, lo=[Fraction(float(v)) for v in lo[0]],
                       hi=[Fraction(float(v)) for v in hi[0]])
    if r.status.value == "infeasible":
        assert val[0] == -np.inf
        return
    # the rigorous support is an upper bound, within rounding of the exact optimum, attained at xhat
    assert Fraction(float(val[0])) >= r.value
    assert float(val[0]) - float(r.value) < 1e-12
    assert abs(float(a[0] @ xhat[0]) - float(r.value)) < 1e-12


@pytest.mark.parametrize("dom", DOMAINS)
def test_float_search_bound_matches_the_exact_rule(dom):
    """The parameter search's float bound is the same rule (only rounding differs)."""
    from verify.backends.linear_bounds_fast import float_bound, relax_for

    rng = np.random.default_rng(7)
    net = layered([3, 5, 4, 1], 3, "dec17")
    lv, ex = LevelNet(net), ExactLevels(net)
    d, N, B = lv.d, lv.N, 3
    lo, hi, L, U, split = _nodes(lv, net, rng, B, d)
    rows = [{0: Fraction(1), 1: Fraction(1, 3)}]
    rhs = [Fraction(1, 2)]
    domain, spec = {"box": (BoxDomain(), ("box",)), "cone": (ConeDomain(1, range(d), d), ("cone", 1, list(range(d)))),
                    "lagrange": (LagrangeDomain(rows, rhs, d), ("lagrange", rows, rhs))}[dom]
    K = lv.L + 1
    obj = Objectives(K, np.arange(B), np.zeros(B, dtype=np.int64), np.ones(B))
    alpha, beta = rng.random((B, N)), rng.random((B, N))
    theta = rng.random((B, lv.sizes[0], d))
    gamma = rng.random((B, 1)) if dom == "lagrange" else None
    fb = float_bound(lv, obj, relax_for(lv, obj, lo, hi, L, U, split), alpha, beta, domain, gamma, theta)
    for b in range(B):
        e = exact_bound(ex, K, 0, 1, lo[b], hi[b], L[b], U[b], split[b], alpha[b], beta[b], spec,
                        None if gamma is None else gamma[b], theta[b])
        assert abs(fb.bound[b] - float(e)) < 1e-9 * (1 + abs(float(e)))
