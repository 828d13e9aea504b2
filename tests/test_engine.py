"""The exact engine against known answers, the previous routes, sampling, and its own recheck."""

from fractions import Fraction

import numpy as np
import pytest

from tests.known_answers import KNOWN_ANSWERS
from verify.analysis import Status
from verify.analysis import worst_case_error as old_worst_case_error
from verify.backends.evaluator import evaluate, reference_max
from verify.constructions import max_tree
from verify.constructions.random_nets import random_relu_network
from verify.domain import Box, RealSpace
from verify.engine import check_exact, maximize, recheck_tree, sup_difference, worst_case_error
from verify.engine.problem import Problem, linear_objective, prepare_network
from verify.engine.recheck import RecheckError
from verify.engine.search import SearchConfig
from tests.test_engine_bounds import layered


@pytest.mark.parametrize("ka", KNOWN_ANSWERS, ids=lambda k: k.name)
def test_known_answers_errors_and_verdicts(ka):
    net = ka.make()
    r = worst_case_error(net, ka.box, timeout=120)
    assert r.status is Status.PROVED and r.backend == "engine"
    assert (r.sup_over, r.sup_under) == (ka.sup_over, ka.sup_under)
    # witnesses attain the values under the toolkit's exact evaluator
    o, u = r.output_over, r.output_under
    assert evaluate(net, r.witness_over)[o] - reference_max(net, r.witness_over)[o] == r.sup_over
    assert reference_max(net, r.witness_under)[u] - evaluate(net, r.witness_under)[u] == r.sup_under
    e = check_exact(net, ka.box, timeout=120)
    exact_on_box = ka.sup_over == 0 and ka.sup_under == 0
    assert e.status is (Status.PROVED if exact_on_box else Status.REFUTED)
    if e.status is Status.REFUTED:
        x = e.counterexample
        assert ka.box.contains(x) and evaluate(net, x) != reference_max(net, x)


@pytest.mark.parametrize("name", ["tree-A-4", "mean-4", "truncated-6-1", "chain-skip-4"])
def test_same_values_as_the_milp_route(name):
    ka = next(k for k in KNOWN_ANSWERS if k.name == name)
    net = ka.make()
    a = worst_case_error(net, ka.box)
    b = old_worst_case_error(net, ka.box, backend="milp")
    assert (a.sup_over, a.sup_under) == (b.sup_over, b.sup_under)


@pytest.mark.parametrize("widths,seed", [([2, 6, 6, 1], 0), ([3, 5, 5, 1], 2), ([3, 8, 1], 4)])
def test_random_nets_agree_with_z3_and_milp(widths, seed):
    net = random_relu_network(widths, seed=seed)
    box = Box.cube(widths[0])
    a = worst_case_error(net, box)
    b = old_worst_case_error(net, box, backend="milp", timeout=120)
    c = old_worst_case_error(net, box, backend="z3", timeout=120)
    assert a.status is Status.PROVED and b.status is Status.PROVED and c.status is Status.PROVED
    assert (a.sup_over, a.sup_under) == (b.sup_over, b.sup_under) == (c.sup_over, c.sup_under)


@pytest.mark.parametrize("kind", ["f32", "dec17", "third"])
def test_float32_and_decimal_weights_same_exact_value_as_milp(kind):
    net = layered([3, 6, 5, 1], 7, kind)
    box = Box.cube(3)
    a = worst_case_error(net, box)
    b = old_worst_case_error(net, box, backend="milp", timeout=300)
    assert a.status is Status.PROVED and b.status is Status.PROVED
    assert (a.sup_over, a.sup_under) == (b.sup_over, b.sup_under)


def test_lifted_and_cone_references_agree():
    net = random_relu_network([4, 10, 8, 1], seed=3)
    box = Box.cube(4)
    a = worst_case_error(net, box, reference="lifted")
    b = worst_case_error(net, box, reference="cones")
    assert (a.sup_over, a.sup_under) == (b.sup_over, b.sup_under)


def _regions(rec, prob):
    """(node box, splits) of every leaf, the parent's region for nodes closed by their parent's bound."""
    out = []
    for nid, r in rec.nodes.items():
        if r["close"] is None:
            continue
        src = rec.nodes[r["parent"]] if r["close"][0] == "parent" else r
        out.append((nid, r["close"][0], src["lo"], src["hi"], src["split"]))
    return out


def _sample_node(prob, lo, hi, split, rng, n=150):
    pts = []
    for _ in range(n):
        x = tuple(min(max(Fraction(float(rng.uniform(a, b))).limit_denominator(1 << 20), Fraction(float(a))), Fraction(float(b)))
                  for a, b in zip(lo, hi))
        if not prob.feasible(x):
            continue
        pre = prob.exact_values(x)
        flat = [v for k in range(1, prob.lv.L + 1) for v in pre[k]]
        if all((s != 1 or v >= 0) and (s != -1 or v <= 0) for s, v in zip(split, flat)):
            pts.append(x)
    return pts


@pytest.mark.parametrize("case", range(4))
def test_no_sampled_point_of_a_closed_node_beats_the_result(case):
    rng = np.random.default_rng(case)
    net = random_relu_network([3, 7, 6, 1], seed=case)
    d = 3
    D, cons = [(net, []), (linear_objective(net, 0, 1, {0: -1}), [({j: 1, 0: -1}, 0) for j in (1, 2)]),
               (linear_objective(net, 0, -1, {1: 1}), []), (net, [({0: 1, 2: 1}, Fraction(1))])][case]
    r = maximize(D, Box.cube(d), cons, record_tree=True)
    assert r.status is Status.PROVED
    prep = prepare_network(D)
    prob = Problem(prep, Box.cube(d), cons)
    checked = 0
    for nid, kind, lo, hi, split in _regions(r.record, prob):
        for x in _sample_node(prob, lo, hi, split, rng):
            assert evaluate(D, x)[0] <= r.value
            checked += 1
    assert checked > 30
    # and the sampled maximum over the whole box does not beat it either
    for x in _sample_node(prob, [0] * d, [1] * d, [0] * prob.lv.N, rng, 400):
        assert evaluate(D, x)[0] <= r.value


@pytest.mark.parametrize("limit", [1, 3, 10])
def test_unknown_brackets_contain_the_truth(limit):
    net = random_relu_network([4, 10, 10, 1], seed=5)
    box = Box.cube(4)
    truth = worst_case_error(net, box)
    assert truth.status is Status.PROVED
    cfg = SearchConfig(samples=0, pgd_starts=1, pgd_steps=1)
    r = worst_case_error(net, box, node_limit=limit, config=cfg)
    for val, up, t in ((r.sup_over, r.upper_over, truth.sup_over), (r.sup_under, r.upper_under, truth.sup_under)):
        assert val <= t
        assert up is None or t <= up
    if r.status is Status.UNKNOWN:
        # on a box both ends of both brackets are known (an unfinished side falls back on interval bounds)
        assert r.upper_over is not None and r.upper_under is not None


@pytest.mark.parametrize("stop", [{"deadline": 0.3}, {"node_limit": 4}, {"node_limit": 40}])
def test_deadline_bracket_on_the_benchmark_net(stop):
    from pathlib import Path

    from verify.io.json_format import load_network

    net = load_network(Path(__file__).parent.parent / "benchmarks" / "networks" / "random_4-16-16-1.json")
    D = linear_objective(net, 0, -1, {0: 1})  # x_0 - N over the box
    full = maximize(D, Box.cube(4))
    assert full.status is Status.PROVED
    cfg = SearchConfig(samples=0, pgd_starts=1, pgd_steps=1)
    r = maximize(D, Box.cube(4), config=cfg, **stop)
    if r.status is Status.UNKNOWN:
        assert r.value is None or r.value <= full.value
        assert r.upper is None or full.value <= r.upper
    else:
        assert r.value == full.value


@pytest.mark.parametrize("seed", [0, 1])
def test_recheck_accepts_real_trees(seed):
    net = random_relu_network([3, 6, 5, 1], seed=seed)
    for D, cons in ((linear_objective(net, 0, 1, {0: -1}), [({j: 1, 0: -1}, 0) for j in (1, 2)]),
                    (net, []), (linear_objective(net, 0, -1, {1: 1}), [({0: 1, 1: 1}, Fraction(3, 2))])):
        r = maximize(D, Box.cube(3), cons, record_tree=True)
        stats = recheck_tree(prepare_network(D), r.record, r.value)
        assert stats["leaves"] >= 1


def _tree():
    net = random_relu_network([3, 6, 5, 1], seed=0)
    D = linear_objective(net, 0, 1, {0: -1})
    cons = [({j: 1, 0: -1}, 0) for j in (1, 2)]
    r = maximize(D, Box.cube(3), cons, record_tree=True)
    return prepare_network(D), r


def test_recheck_rejects_a_lower_target():
    D, r = _tree()
    with pytest.raises(RecheckError):
        recheck_tree(D, r.record, r.value - Fraction(1, 10 ** 9))


def test_recheck_rejects_tampered_trees():
    import copy

    D, r = _tree()
    kinds = {rec["close"][0] for rec in r.record.nodes.values() if rec["close"]}
    assert "lp" in kinds

    def tampered(fn):
        rec = copy.deepcopy(r.record)
        fn(rec)
        with pytest.raises(RecheckError):
            recheck_tree(D, rec, r.value)

    leaves = [n for n, rec in r.record.nodes.items() if rec["close"]]
    inner = [n for n, rec in r.record.nodes.items() if not rec["close"]]

    def drop_leaf(rec):
        del rec.nodes[leaves[-1]]
    tampered(drop_leaf)

    def shrink_bound(rec):  # claim a pre-activation bound nothing justifies
        node = rec.nodes[inner[0]]
        g = next(k for k, (l, u) in enumerate(zip(node["L"], node["U"])) if l < 0 < u)
        U = list(node["U"])
        U[g] = float(node["L"][g]) / 2
        node["U"] = tuple(U)
    tampered(shrink_bound)

    def move_split(rec):
        for rec_ in rec.nodes.values():
            if rec_["how"] and rec_["how"][0] == "input":
                how = list(rec_["how"])
                how[2] = how[2] * 0.5
                rec_["how"] = tuple(how)
                return
        for rec_ in rec.nodes.values():
            if rec_["how"] and rec_["how"][0] == "relu":
                rec_["how"] = ("relu", (rec_["how"][1] + 1) % len(rec_["split"]), rec_["how"][2])
                return
    tampered(move_split)

    def fake_lp(rec):
        for rec_ in rec.nodes.values():
            c = rec_["close"]
            if c and c[0] == "lp" and c[1][0] == "opt":
                _, x, value, cert = c[1]
                rec_["close"] = ("lp", ("opt", x, value - 1, cert))
                return
    tampered(fake_lp)

    def open_leaf(rec):
        rec.nodes[leaves[0]]["close"] = None
    tampered(open_leaf)


def test_exact_on_R_d_through_homogeneity():
    for d in (3, 4):
        r = check_exact(max_tree(d, "B"))
        assert r.status is Status.PROVED and isinstance(r.domain, RealSpace)
        assert "bias-free" in r.reason


def test_refuted_with_a_confirmed_counterexample():
    import networkx as nx

    from verify.ir.graph import Network

    net = max_tree(3)
    g = nx.DiGraph(net.graph)
    u, v = next((u, v) for u, v, data in g.edges(data=True) if "weight" in data)
    g.edges[u, v]["weight"] += Fraction(1, 64)
    bad = Network(g, net.inputs, net.outputs)
    r = check_exact(bad, Box.cube(3, -1, 1))
    assert r.status is Status.REFUTED
    x = r.counterexample
    assert evaluate(bad, x) != reference_max(bad, x)


def test_biases_block_the_homogeneous_reduction():
    net = random_relu_network([2, 3, 1], seed=0)
    r = check_exact(net)
    assert r.status is Status.UNKNOWN and "bias" in r.reason


def test_floor_and_stop_above():
    net = random_relu_network([3, 6, 5, 1], seed=2)
    full = maximize(net, Box.cube(3))
    above = maximize(net, Box.cube(3), floor=full.value + 1)
    assert above.status is Status.PROVED and above.value is None and above.upper == full.value + 1
    stop = maximize(net, Box.cube(3), stop_above=full.value - Fraction(1, 100))
    assert stop.stopped and stop.value > full.value - Fraction(1, 100)


def test_sup_difference_generic_networks():
    f = random_relu_network([3, 5, 4, 2], seed=1)
    g = random_relu_network([3, 4, 4, 2], seed=2)
    r = sup_difference(f, g, Box.cube(3))
    assert r.status is Status.PROVED
    assert evaluate(f, r.witness)[r.output] - evaluate(g, r.witness)[r.output] == r.value
    for o in (0, 1):
        m = maximize(linear_objective_difference(f, g, o), Box.cube(3))
        assert m.value <= r.value


def linear_objective_difference(f, g, o):
    from verify.reductions.difference import difference_network

    return difference_network(f, g, o, 1)


def test_bad_input_names_the_problem():
    net = random_relu_network([3, 4, 1], seed=0)
    with pytest.raises(ValueError, match="dimension"):
        maximize(net, Box.cube(2))
    with pytest.raises(ValueError, match="constraint 0"):
        maximize(net, Box.cube(3), [({7: 1}, 0)])


def test_dask_and_local_pool_give_the_same_answer():
    from distributed import LocalCluster

    net = random_relu_network([4, 12, 12, 1], seed=7)
    D = linear_objective(net, 0, -1, {2: 1})
    box = Box.cube(4)
    seq = maximize(D, box)
    from verify.engine.parallel import maximize_parallel

    loc = maximize_parallel(D, box, workers=2, seq_seconds=0.0, chunk_budget=10, min_open=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dsk = maximize_parallel(D, box, scheduler=cluster.scheduler_address, seq_seconds=0.0, chunk_budget=10,
                                min_open=2)
    assert seq.status is loc.status is dsk.status is Status.PROVED
    assert seq.value == loc.value == dsk.value
    assert loc.stats["tasks"] >= 2 and dsk.stats["tasks"] >= 2


@pytest.mark.parametrize("side", ["over", "under"])
def test_a_side_out_of_time_still_has_a_sound_bracket(side):
    """A window of 60 inputs (60 sub-problems on the under side) and no time at all: the bracket's lower
    end is the exact difference at its witness, the upper end holds for 20,000 sampled points."""
    from verify.backends.evaluator import evaluate, evaluate_batch
    from verify.constructions.reference import reference_network
    from verify.engine.queries import sup_difference

    net = random_relu_network([60, 6, 1], seed=3)
    ref = reference_network(net)
    f, g = (net, ref) if side == "over" else (ref, net)
    box = Box.cube(60)
    r = sup_difference(f, g, box, deadline=0.0)
    assert r.status is Status.UNKNOWN and r.value is not None and r.upper is not None
    assert evaluate(f, r.witness)[0] - evaluate(g, r.witness)[0] == r.value
    X = np.random.default_rng(0).random((20000, 60))
    sampled = (evaluate_batch(f, X) - evaluate_batch(g, X))[:, 0].max()
    assert sampled <= float(r.upper) + 1e-9 and r.value <= r.upper


def test_an_unfinished_exactness_check_brackets_the_difference():
    """max_tree(8, "skip") == max on [0,1]^8 (true: the difference is 0 everywhere), stopped after a few
    nodes: UNKNOWN, and the bound it reports for |N - max| is sound (at least the true 0)."""
    net = max_tree(8, "skip")
    r = check_exact(net, Box.cube(8), node_limit=20)
    assert r.status is Status.UNKNOWN
    assert r.upper is not None and r.upper >= 0
    assert "rounded up" in r.reason and r.to_json()["upper"] is not None


def test_bounds_shown_in_decimals_are_rounded_up():
    from verify.engine.queries import _rounded_up

    assert _rounded_up(Fraction(1, 3)) == "0.333334"
    assert _rounded_up(Fraction(-1, 3)) == "-0.333333"
    assert _rounded_up(Fraction(2)) == "2"
    assert _rounded_up(Fraction(1234567, 1000)) == "1234.57"
