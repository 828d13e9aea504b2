"""Exactness by proved symmetry: invariance tests and the sorted-cone reduction."""

import json
from fractions import Fraction

from verify.analysis import Status
from verify.analysis.exactness import check_exact_by_symmetry
from verify.analysis.symmetry import permutation_invariant, symmetric_group_invariant
from verify.backends.evaluator import evaluate
from verify.bounds.claims_depth import load_max5
from verify.constructions import max_tree, mean_network, truncated_tree
from verify.io import loads_network, network_to_mapping
from verify.ir import GraphBuilder


def test_invariance_shown_where_it_holds_by_hand():
    # max(a,b) = relu(a-b) + relu(b) - relu(-b) = relu(a-b) + b; swapped: relu(b-a) + a = relu(a-b) + b.
    assert permutation_invariant(max_tree(2, "A"), [1, 0])
    assert symmetric_group_invariant(mean_network(5))
    # mean(max(x0,x1), max(x2,x3)) is invariant under swapping inside a group or swapping the groups.
    net = truncated_tree(4, 1, "A")
    assert permutation_invariant(net, [1, 0, 2, 3]) and permutation_invariant(net, [2, 3, 0, 1])


def test_no_invariance_claimed_where_the_function_is_not_symmetric():
    net = truncated_tree(4, 1, "A")
    # Swapping x1 and x2 changes the function: N(1,1,0,0) = (1 + 0)/2, N(1,0,1,0) = (1 + 1)/2.
    x, y = (1, 1, 0, 0), (1, 0, 1, 0)
    assert evaluate(net, x) != evaluate(net, y)
    assert not permutation_invariant(net, [0, 2, 1, 3])


def _symmetric_not_max():
    # max(x0, x1) + (x0 + x1)/1000: symmetric, not the max (plain layers: v = relu(v) - relu(-v)).
    b = GraphBuilder(2)
    x0, x1 = b.input_exprs()
    lin = lambda v: b.relu(v) - b.relu(-v)  # noqa: E731
    b.output(b.relu(x0 - x1) + lin(x1) + (lin(x0) + lin(x1)) * Fraction(1, 1000))
    return b.build()


def test_cone_reduction_proves_and_refutes():
    assert check_exact_by_symmetry(max_tree(2, "A")).status is Status.PROVED
    net = _symmetric_not_max()
    r = check_exact_by_symmetry(net)
    assert r.status is Status.REFUTED
    x = r.counterexample
    assert evaluate(net, x)[0] != max(x)


def test_max5_network_is_invariant_and_a_perturbed_copy_is_not_shown():
    net = load_max5()
    assert symmetric_group_invariant(net)
    data = network_to_mapping(net)
    row = data["layers"][1]["weights"][7]
    k = next(i for i, w in enumerate(row) if w != "0")
    w = Fraction(row[k]) + Fraction(1, 1000)
    row[k] = f"{w.numerator}/{w.denominator}"
    broken = loads_network(json.dumps(data))
    assert not symmetric_group_invariant(broken)
    r = check_exact_by_symmetry(broken)
    assert r.status is Status.UNKNOWN  # no reduction, so no verdict from this route


def _shifted_max():
    # max(x0, x1) + 1/7: symmetric, has a bias (not homogeneous), never equal to the max.
    b = GraphBuilder(2)
    x0, x1 = b.input_exprs()
    lin = lambda v: b.relu(v) - b.relu(-v)  # noqa: E731
    b.output(b.relu(x0 - x1) + lin(x1) + Fraction(1, 7))
    return b.build()


def test_cone_pieces_use_the_faces_only_for_bias_free_networks():
    from verify.analysis.symmetry import cone_pieces

    # Bias-free: the faces x_1 = 1 and x_d = -1 of the cube, each side of the equation.
    assert cone_pieces(_symmetric_not_max()) == [("top", ">"), ("top", "<"), ("bottom", ">"), ("bottom", "<")]
    assert cone_pieces(_shifted_max()) == [("cone", ">"), ("cone", "<")]


def test_face_reduction_refutes_on_a_face_and_agrees_across_worker_counts():
    net = _symmetric_not_max()
    for workers in (1, 2):
        r = check_exact_by_symmetry(net, workers=workers)
        assert r.status is Status.REFUTED
        x = r.counterexample
        # The counterexample is on a face of the cube (homogeneity moved it there) and is exact.
        assert x[0] == 1 or x[-1] == -1
        assert evaluate(net, x)[0] != max(x)
    # With a bias the whole cone is searched (the invariance test itself covers bias-free networks
    # only, so the piece is run directly): 1/7 above the max everywhere, never below it.
    from verify.analysis.symmetry import _decide_piece

    answer, x = _decide_piece(_shifted_max(), "cone", ">", None)
    assert answer == "sat" and x[0] >= x[1] and evaluate(_shifted_max(), x)[0] == max(x) + Fraction(1, 7)
    assert _decide_piece(_shifted_max(), "cone", "<", None) == ("unsat", None)
    for workers in (1, 2):
        assert check_exact_by_symmetry(max_tree(2, "B"), workers=workers).status is Status.PROVED


def test_auto_backend_on_r_d_goes_through_the_symmetry_reduction():
    from verify.analysis import check_exact

    # auto's first step on R^d is the arrangement route (bias-free, <= 2 hidden layers); the symmetry
    # reduction is the next step, and decides the same question on its own.
    r = check_exact(max_tree(2, "B"), backend="auto")
    assert r.status is Status.PROVED and r.backend == "arrangement"
    r = check_exact_by_symmetry(max_tree(2, "B"))
    assert r.status is Status.PROVED and r.backend == "z3+symmetry"
    r = check_exact(_symmetric_not_max(), backend="auto")
    assert r.status is Status.REFUTED and evaluate(_symmetric_not_max(), r.counterexample)[0] != max(r.counterexample)
    # Not symmetric (a tree over 3 inputs is not shown invariant): the usual backends decide it.
    r = check_exact(max_tree(3, "A"), backend="auto")
    assert r.status is Status.PROVED and r.backend != "z3+symmetry"


def _in_daemon(q):
    r = check_exact_by_symmetry(_symmetric_not_max())
    q.put((r.status.value, r.counterexample))


def test_runs_in_process_inside_a_daemonic_worker():
    # Pool and Dask workers are daemonic and may not fork children: the pieces then run in-process.
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_in_daemon, args=(q,), daemon=True)
    p.start()
    status, x = q.get(timeout=60)
    p.join(10)
    assert status == "REFUTED" and evaluate(_symmetric_not_max(), x)[0] != max(x)
