"""Gradients at ties: exact autodiff on the IR, Clarke subdifferential, tie tables, SMT gradient query."""

from fractions import Fraction as F
import itertools

import pytest

from verify.analysis import Status
from verify.analysis.gradients import (
    autodiff_gradient, check_gradient_onehot, clarke_max, even_split, in_clarke_max, one_hot_first,
    region_gradient, region_gradients, tie_table,
)
from verify.backends.patterns import activation_pattern
from verify.constructions import max_tree, mean_network, pool2d, truncated_tree
from verify.domain import Box
from verify.errors import DomainError, VerifyError
from verify.ir.builder import GraphBuilder

HALF = F(1, 2)


def test_clarke_membership_by_hand():
    x = (1, 0, 1)
    assert clarke_max(x) == [(1, 0, 0), (0, 0, 1)]
    assert in_clarke_max((1, 0, 0), x) and in_clarke_max((HALF, 0, HALF), x) and in_clarke_max((F(1, 3), 0, F(2, 3)), x)
    assert not in_clarke_max((1, 0, 1), x)  # "gradient to every maximiser": sums to 2
    assert not in_clarke_max((0, 0, 0), x)
    assert not in_clarke_max((HALF, HALF, 0), x)  # mass on a non-maximiser
    assert not in_clarke_max((F(3, 2), 0, -HALF), x)  # affine but not convex combination
    assert one_hot_first(x) == (1, 0, 0) and even_split(x) == (HALF, 0, HALF)


def test_gadget_A_at_zero_zero_is_not_a_subgradient():
    # Gadget A: max(a, b) = relu(a - b) + relu(b) - relu(-b). At (a, b) = (0, 0) every ReLU reads 0,
    # so with relu'(0) = s the chain rule gives
    #   s*(1, -1) + s*(0, 1) - s*(0, -1) = (s, s).
    # s = 0 -> (0, 0): sums to 0, not in conv{e1, e2}, not a subgradient.
    # s = 1/2 -> (1/2, 1/2): the even split, valid.   s = 1 -> (1, 1): sums to 2, not valid.
    net = max_tree(2, "A")
    assert autodiff_gradient(net, (0, 0), s=0) == (0, 0)
    assert autodiff_gradient(net, (0, 0), s=HALF) == (HALF, HALF)
    assert autodiff_gradient(net, (0, 0), s=1) == (1, 1)
    # Off the tie set, the pass-through relu(b) - relu(-b) at b = 0: at (1, 0),
    #   (1, -1) + s*(0, 1) - s*(0, -1) = (1, 2s - 1): wrong for s = 0 and s = 1, right for s = 1/2.
    assert autodiff_gradient(net, (1, 0), s=0) == (1, -1)
    assert autodiff_gradient(net, (1, 0), s=HALF) == (1, 0)
    assert autodiff_gradient(net, (1, 0), s=1) == (1, 1)


def test_gadget_B_and_skip_by_hand():
    # B: (relu(a-b) + relu(b-a) + relu(a+b) - relu(-a-b)) / 2; at (0,0): s*((1,-1)+(-1,1)+(1,1)+(1,1))/2 = (s, s).
    b = max_tree(2, "B")
    assert [autodiff_gradient(b, (0, 0), s=s) for s in (0, HALF, 1)] == [(0, 0), (HALF, HALF), (1, 1)]
    # skip: b + relu(a - b); at a tie: (0, 1) + s*(1, -1) = (s, 1 - s): always a valid subgradient,
    # s = 1 gives the first index, s = 0 the last, s = 1/2 the even split.
    k = max_tree(2, "skip")
    assert [autodiff_gradient(k, (3, 3), s=s) for s in (0, HALF, 1)] == [(0, 1), (HALF, HALF), (1, 0)]


def test_tie_table_kernel2_known_cases():
    t = tie_table(2)
    zero = (0, 0, 0, 0)
    assert zero in t.invalid("A", 0)  # the zero vector at the all-zero window
    row = next(r for r in t.rows[("A", F(0))] if r["pattern"] == zero)
    assert row["gradient"] == (0, 0, 0, 0)
    # relu'(0) = 1/2 makes every pairwise gadget's ties symmetric: never invalid.
    for g in ("A", "B", "skip"):
        assert t.invalid(g, HALF) == []
    # skip never leaves the subdifferential (it is b + relu(a - b): weights (s, 1 - s) on a tie).
    assert all(t.invalid("skip", s) == [] for s in (0, HALF, 1))
    # B: only the all-zero window fails for s = 0 and s = 1 (at (1,1) the |a+b| part is active).
    assert t.invalid("B", 0) == [zero] and t.invalid("B", 1) == [zero]
    # skip with relu'(0) = 1 reproduces max pooling's "first maximal index" everywhere.
    assert all(r["first"] for r in t.rows[("skip", F(1))])
    # every valid gradient on a unique-argmax window is the one-hot (no ties, no choice).
    for rows in t.rows.values():
        for r in rows:
            x = r["pattern"]
            if x.count(max(x)) == 1 and r["valid"]:
                assert r["first"] and r["split"]


def test_tie_table_kernel3_counts_against_brute_force():
    t = tie_table(3, gadgets=("A",), slopes=(0,))
    rows = t.rows[("A", F(0))]
    assert len(rows) == 2 ** 9
    # Second path: recompute validity with the definition (non-negative, sums to 1 over maximisers).
    for r in rows:
        x, g = r["pattern"], r["gradient"]
        m = max(x)
        ok = all(v >= 0 for v in g) and sum(g) == 1 and all(g[i] == 0 for i in range(9) if x[i] != m)
        assert ok == r["valid"]
    assert (0,) * 9 in t.invalid("A", 0)


def test_autodiff_matches_torch_autograd_relu_at_zero_is_zero():
    torch = pytest.importorskip("torch")
    # torch's relu backward at 0 is 0: autograd of the same emulation must equal our s = 0 exactly
    # (inputs and weights are small dyadics, so float64 arithmetic is exact here).
    for gadget in ("A", "B", "skip"):
        net = max_tree(4, gadget)
        for p in itertools.product([0, 1], repeat=4):
            x = torch.tensor([float(v) for v in p], dtype=torch.float64, requires_grad=True)
            _torch_eval(net, x, torch).backward()
            assert tuple(F(v) for v in x.grad.tolist()) == autodiff_gradient(net, p, s=0)


def _torch_eval(net, x, torch, reduce_max=None):
    from verify.ir.ops import Op
    vals = {}
    for n in net.order:
        op = net.op(n)
        if op is Op.INPUT:
            vals[n] = x[net.graph.nodes[n]["index"]]
        elif op is Op.AFFINE:
            v = torch.tensor(float(net.bias(n)), dtype=torch.float64)
            for p, w in net.affine_terms(n):
                v = v + float(w) * vals[p]
            vals[n] = v
        elif op is Op.RELU:
            vals[n] = torch.relu(vals[net.single_pred(n)])
        elif op is Op.MAX:
            stacked = torch.stack([vals[p] for p in net.preds(n)])
            vals[n] = reduce_max(stacked) if reduce_max else stacked.max(dim=0).values
        else:
            vals[n] = vals[net.single_pred(n)]
    return vals[net.outputs[0]]


@pytest.mark.parametrize("kernel", [2, 3])
def test_torch_maxpool_backward_is_first_index(kernel):
    torch = pytest.importorskip("torch")
    from verify.analysis import reference_network

    ref = reference_network(max_tree(kernel * kernel))  # one IR max node
    pool = torch.nn.MaxPool2d(kernel)
    for p in itertools.product([0, 1], repeat=kernel * kernel):
        x = torch.tensor([float(v) for v in p]).reshape(1, 1, kernel, kernel).requires_grad_()
        pool(x).sum().backward()
        got = tuple(F(v) for v in x.grad.flatten().tolist())
        assert got == autodiff_gradient(ref, p, max_rule="first") == one_hot_first(p)


def test_max_rules_on_a_max_node():
    from verify.analysis import reference_network
    ref = reference_network(max_tree(3))
    x = (2, 5, 5)
    assert autodiff_gradient(ref, x, max_rule="first") == (0, 1, 0)
    assert autodiff_gradient(ref, x, max_rule="split") == (0, HALF, HALF)
    assert autodiff_gradient(ref, x, max_rule="all") == (0, 1, 1)
    assert not in_clarke_max(autodiff_gradient(ref, x, max_rule="all"), x)


def test_region_gradient_matches_autodiff_inside_a_region():
    net = truncated_tree(4, 1, "B")
    x = (F(1, 7), F(3, 5), F(2, 9), F(4, 11))  # generic point: no ReLU reads 0
    pat = activation_pattern(net, x)
    g = region_gradient(net, pat)
    assert g == autodiff_gradient(net, x, s=0) == autodiff_gradient(net, x, s=1)
    # truncated tree: mean of max(x0,x1) and max(x2,x3) -> 1/2 on each group's argmax
    assert g == (0, HALF, 0, HALF)


def test_region_gradients_of_small_networks():
    # gadget A for 2 inputs has ReLUs relu(a-b), relu(b), relu(-b): in the open square the signs of
    # a - b and b give 4 open regions (relu(b) and relu(-b) are complementary).
    regions = region_gradients(max_tree(2, "A"), Box.cube(2, -1, 1))
    assert len(regions) == 4
    assert sorted(r.gradient for r in regions) == [(0, 1), (0, 1), (1, 0), (1, 0)]
    # the skip gadget has one ReLU, two regions
    assert len(region_gradients(max_tree(2, "skip"), Box.cube(2, -1, 1))) == 2
    # every region of an exact max tree has a one-hot gradient; autodiff at its witness agrees
    net = max_tree(4, "B")
    found = region_gradients(net, Box.cube(4, -1, 1))
    assert {r.gradient for r in found} == {tuple(F(int(i == j)) for j in range(4)) for i in range(4)}
    for r in found:
        assert autodiff_gradient(net, r.witness, s=0) == r.gradient == autodiff_gradient(net, r.witness, s=1)


@pytest.mark.parametrize("gadget", ["A", "B", "skip"])
def test_true_gradient_is_one_hot_for_exact_emulations(gadget):
    r = check_gradient_onehot(max_tree(4, gadget), Box.cube(4, -1, 1))
    assert r.status is Status.PROVED
    r = check_gradient_onehot(pool2d(3, 3, 2, 1, gadget), Box.cube(9))
    assert r.status is Status.PROVED


def test_approximations_name_a_region():
    r = check_gradient_onehot(mean_network(4), Box.cube(4))
    assert r.status is Status.REFUTED
    assert r.gradient == (F(1, 4),) * 4 and "REFUTED" in r.message() and "region" in r.message()
    r = check_gradient_onehot(truncated_tree(4, 1, "A"), Box.cube(4))
    assert r.status is Status.REFUTED
    assert sorted(r.gradient) == [0, 0, HALF, HALF]
    assert r.active is not None


@pytest.mark.parametrize("gadget,s,holds", [
    ("A", 0, False), ("A", HALF, True), ("A", 1, False),
    ("B", 0, False), ("B", HALF, True), ("B", 1, False),
    ("skip", 0, True), ("skip", HALF, True), ("skip", 1, True),
])
def test_autodiff_off_the_tie_set(gadget, s, holds):
    # Off the tie set the emulation's autodiff is one-hot unless a ReLU reads an exact zero:
    # A's pass-through relu(b) - relu(-b) at b = 0 has derivative 2s (hand derivation above);
    # B's relu(a+b) - relu(-a-b) at a + b = 0 likewise; skip has no such pair.
    r = check_gradient_onehot(max_tree(4, gadget), Box.cube(4, -1, 1), mode="autodiff", s=s)
    assert (r.status is Status.PROVED) == holds
    if not holds:
        x = r.witness
        assert autodiff_gradient(max_tree(4, gadget), x, s=s) == r.gradient != one_hot_first(x)


def test_bad_inputs():
    with pytest.raises(VerifyError):
        autodiff_gradient(max_tree(2), (0, 0), s=0.5)
    with pytest.raises(VerifyError):
        autodiff_gradient(max_tree(2), (0, 0), max_rule="last")
    with pytest.raises(DomainError):
        check_gradient_onehot(max_tree(2), Box((F(0), F(1)), (F(0), F(2))))
    with pytest.raises(VerifyError):
        tie_table(7)


@pytest.mark.parametrize("net,box,mode,s", [
    (max_tree(4, "A"), Box.cube(4, -1, 1), "region", 0),
    (max_tree(4, "A"), Box.cube(4, -1, 1), "autodiff", 0),
    (max_tree(4, "B"), Box.cube(4, -1, 1), "autodiff", HALF),
    (mean_network(4), Box.cube(4), "region", 0),
], ids=["A-region", "A-autodiff0", "B-autodiff-half", "mean-region"])
def test_exported_gradient_query_same_verdict_in_cvc5(net, box, mode, s):
    pytest.importorskip("cvc5")
    from verify.analysis.gradients import gradient_query_smtlib
    from verify.io.smtlib import run_cvc5
    ours = check_gradient_onehot(net, box, mode=mode, s=s).status
    assert ours in (Status.PROVED, Status.REFUTED)
    want = "unsat" if ours is Status.PROVED else "sat"
    assert run_cvc5(gradient_query_smtlib(net, box, mode=mode, s=s)) == want


# torch's own conventions (2.13): max(dim) and MaxPool send the gradient to the first maximal index;
# the full reduction max(), amax() and torch.maximum split it evenly among ties.
TORCH_MAX = [("max(dim=0)", lambda t: t.max(dim=0).values, "first"), ("max()", lambda t: t.max(), "split"),
             ("amax()", lambda t: t.amax(), "split")]


@pytest.mark.parametrize("flavor", TORCH_MAX, ids=[f[0] for f in TORCH_MAX])
@pytest.mark.parametrize("seed", range(6))
def test_random_networks_autodiff_vs_torch_and_regions(seed, flavor):
    from tests.random_nets import random_net
    net = random_net(seed)
    # region gradients: each witness is interior, so autodiff with any s gives the region's gradient
    for r in region_gradients(net, Box.cube(3, -2, 2)):
        assert autodiff_gradient(net, r.witness, s=0) == r.gradient == autodiff_gradient(net, r.witness, s=1)
    torch = pytest.importorskip("torch")
    # torch autograd (relu'(0) = 0, max -> first maximal argument of torch.stack().max()) at grid points,
    # where ReLUs and max nodes often read exact zeros and ties.
    for p in itertools.product([-1, 0, 1], repeat=3):
        x = torch.tensor([float(v) for v in p], dtype=torch.float64, requires_grad=True)
        _torch_eval(net, x, torch, flavor[1]).backward()
        assert tuple(F(v) for v in x.grad.tolist()) == autodiff_gradient(net, p, s=0, max_rule=flavor[2])


def test_autodiff_query_with_split_and_all_rules_on_max_nodes():
    from verify.analysis import reference_network
    ref = reference_network(pool2d(3, 3, 2, 1))
    # off the tie set every rule gives the one-hot: proved for each
    for rule in ("first", "split", "all"):
        assert check_gradient_onehot(ref, Box.cube(9), mode="autodiff", max_rule=rule).status is Status.PROVED
    # max(relu(x0), relu(x1)) is not max(x0, x1): where both inputs are negative its max node sees a
    # tie (0, 0) and its gradient is 0 under every rule, not the one-hot of the argmax
    b = GraphBuilder(2)
    x0, x1 = b.input_exprs()
    b.output(b.max([b.relu(x0), b.relu(x1)]))
    net = b.build()
    r = check_gradient_onehot(net, Box.cube(2, -1, 1), mode="autodiff", max_rule="all")
    assert r.status is Status.REFUTED
    assert max(r.witness) <= 0 and r.gradient == (0, 0)  # e.g. (-1/2, 0): relu'(0) = 0 as well
    assert autodiff_gradient(net, r.witness, max_rule="all") == r.gradient


@pytest.mark.parametrize("gadget", ["A", "B"])
def test_region_enumeration_against_sampling(gadget):
    # Second method: float sampling. Every pattern seen at a sample whose pre-activations are all
    # clearly non-zero must be one of the enumerated open regions, and with 20000 samples on this small
    # net every region is hit (each has volume well above 1/20000 of the box here).
    import numpy as np
    from verify.backends.evaluator import evaluate_batch_nodes
    net = max_tree(4, gadget)
    regions = region_gradients(net, Box.cube(4, -1, 1))
    enumerated = {frozenset(r.active) for r in regions}
    assert len(enumerated) == len(regions)
    X = np.random.default_rng(0).uniform(-1, 1, (20000, 4))
    vals, idx = evaluate_batch_nodes(net, X)
    pre = np.stack([vals[idx[net.single_pred(r)]] for r in net.relu_nodes], 1)
    clear = np.all(np.abs(pre) > 1e-9, axis=1)
    seen = {frozenset(r for r, on in zip(net.relu_nodes, row) if on) for row in (pre[clear] > 0)}
    assert seen == enumerated
