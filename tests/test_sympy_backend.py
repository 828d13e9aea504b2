"""sympy backend: to_sympy / from_sympy round trips checked by meaning (z3), never by strings."""

from fractions import Fraction
import itertools

import pytest
import sympy as sp

from verify.analysis import check_equivalent, check_exact, Status
from verify.backends.evaluator import evaluate
from verify.backends.sympy_backend import from_sympy, input_symbols, to_latex, to_sympy
from verify.constructions import max_chain, max_tree, mean_network, pool2d, truncated_tree
from verify.domain import Box
from verify.errors import UnsupportedOpError, VerifyError
from verify.ir.ops import Op

CONSTRUCTIONS = (
    [max_tree(d, g) for d in (2, 3, 4, 5) for g in ("A", "B", "skip")]
    + [max_chain(4, g) for g in ("A", "B", "skip")]
    + [pool2d(3, 3, 2, 1, g) for g in ("A", "skip")]
    + [mean_network(4), truncated_tree(4, 1, "A"), truncated_tree(5, 1, "B")]
)


@pytest.mark.parametrize("net", CONSTRUCTIONS, ids=lambda n: n.name)
def test_round_trip_every_construction(net):
    xs = input_symbols(net.n_inputs)
    expr = to_sympy(net, xs)
    exprs = expr if isinstance(expr, tuple) else (expr,)
    back = from_sympy(exprs, xs)
    # Max(t, 0) comes back as a ReLU: a ReLU network stays a ReLU network.
    assert back.is_relu_network
    assert check_equivalent(net, back).status is Status.PROVED


@pytest.mark.parametrize("gadget", ["max", "A", "B", "skip"])
@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_from_sympy_max_is_max(d, gadget):
    xs = input_symbols(d)
    net = from_sympy(sp.Max(*xs), xs, max_as=gadget)
    assert net.is_relu_network == (gadget != "max")
    assert check_exact(net).status is Status.PROVED


def test_min_and_abs_identities():
    a, b, c = sp.symbols("a b c", real=True)
    # min(a,b,c) + max(a,b,c) + |a - b|: hand-checkable at integer points.
    net = from_sympy(sp.Min(a, b, c) + sp.Max(a, b, c) + sp.Abs(a - b), [a, b, c], max_as="B")
    for p in itertools.product([-2, 0, 1, 3], repeat=3):
        want = min(p) + max(p) + abs(p[0] - p[1])
        assert evaluate(net, p) == (Fraction(want),)
    # |a| = max(a, -a) as networks: z3 proves it.
    n1 = from_sympy(sp.Abs(a), [a])
    n2 = from_sympy(sp.Max(a, -a), [a], max_as="skip")
    assert check_equivalent(n1, n2).status is Status.PROVED


def test_nested_and_rational_coefficients():
    x, y = sp.symbols("x y", real=True)
    expr = sp.Rational(1, 3) * sp.Max(x, 2 * y - 1) - sp.Min(sp.Abs(x), y) / 7 + sp.Rational(5, 2)
    net = from_sympy(expr, [x, y])
    for p in [(0, 0), (Fraction(1, 2), 3), (-4, Fraction(-7, 3)), (2, 1)]:
        want = expr.subs({x: sp.Rational(p[0]), y: sp.Rational(p[1])})
        got = evaluate(net, p)[0]
        assert sp.Rational(got.numerator, got.denominator) == want
    # and back again, through sympy, still the same function
    again = from_sympy(to_sympy(net, [x, y]), [x, y])
    assert check_equivalent(net, again).status is Status.PROVED


def test_piecewise_form_agrees_with_exact_evaluation():
    # Piecewise expressions grow fast in sympy (conditions hold copies of sub-expressions): small nets.
    for net in (max_tree(2, "A"), max_tree(3, "skip"), pool2d(2, 3, 2, 1, "skip")):
        xs = input_symbols(net.n_inputs)
        exprs = to_sympy(net, xs, form="piecewise")
        exprs = exprs if isinstance(exprs, tuple) else (exprs,)
        assert any(e.has(sp.Piecewise) for e in exprs)
        points = [tuple(Fraction((7 * i * j + j) % 5 - 2, 3) for i in range(net.n_inputs)) for j in range(10)]
        for p in points + [(0,) * net.n_inputs]:
            sub = {s: sp.Rational(v.numerator, v.denominator) if isinstance(v, Fraction) else v for s, v in zip(xs, p)}
            want = evaluate(net, p)
            got = tuple(e.subs(sub) for e in exprs)
            assert got == tuple(sp.Rational(w.numerator, w.denominator) for w in want)


def test_latex_mentions_max():
    text = to_latex(max_tree(2, "skip"))
    assert r"\max" in text and "x_{1}" in text


def test_unsupported_expressions_raise():
    x, y = sp.symbols("x y", real=True)
    for bad in (x * y, x ** 2, sp.sin(x), sp.Float(0.5) * x, sp.Piecewise((x, x > 0), (0, True))):
        with pytest.raises(UnsupportedOpError):
            from_sympy(bad, [x, y])
    z = sp.Symbol("z")
    with pytest.raises(UnsupportedOpError, match="z"):
        from_sympy(x + z, [x, y])
    with pytest.raises(VerifyError):
        from_sympy(x, [x, x])


def test_max_as_max_keeps_a_max_node():
    xs = input_symbols(3)
    net = from_sympy(sp.Max(*xs), xs)
    assert [net.op(n) for n in net.max_nodes] == [Op.MAX]


def test_readme_session_numbers():
    # Independent closed form: the mean misses the max by (d-1)/d on [0,1]^d (seed paper, R={0}).
    from verify.analysis.compare import worst_case_difference

    xs = input_symbols(4)
    tree = max_tree(4, "A")
    mean = from_sympy(sum(xs) / 4, xs)
    r = worst_case_difference(tree, mean, Box.cube(4))
    assert r.status is Status.PROVED
    assert (r.sup_over, r.sup_under) == (Fraction(3, 4), Fraction(0))


def test_every_op_has_a_sympy_handler():
    from verify.backends.sympy_backend import SYMPY_HANDLED_OPS
    from verify.ir.ops import Op as _Op
    assert SYMPY_HANDLED_OPS == frozenset(_Op)


@pytest.mark.parametrize("seed", range(6))
def test_round_trip_random_networks(seed):
    from tests.random_nets import random_net
    net = random_net(seed)
    xs = input_symbols(net.n_inputs)
    back = from_sympy(to_sympy(net, xs), xs)
    assert check_equivalent(net, back).status is Status.PROVED
    # and through the gadget trees (ReLU only) as well
    relu_only = from_sympy(to_sympy(net, xs), xs, max_as="B")
    assert relu_only.is_relu_network
    assert check_equivalent(net, relu_only).status is Status.PROVED


def test_min_with_zero_is_a_relu():
    x = sp.Symbol("x", real=True)
    net = from_sympy(sp.Min(x, 0), [x])
    assert net.is_relu_network and net.n_relus == 1
    assert [evaluate(net, (v,))[0] for v in (-2, 0, 3)] == [-2, 0, 0]
