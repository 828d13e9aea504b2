"""The MILP backend against closed forms and against the z3 backend (exact agreement)."""

import json
from fractions import Fraction

import networkx as nx
import pytest

from verify.analysis import Status, check_exact, worst_case_error
from verify.analysis.exactness import check_equivalent
from verify.reductions.homogeneous import homogeneous_box as homogeneous_reduction
from verify.backends.evaluator import evaluate, reference_max
from verify.cli import main
from verify.constructions import max_tree, mean_network, truncated_tree
from verify.constructions.random_nets import random_relu_network
from verify.domain import Box, RealSpace
from verify.io.json_format import save_network
from verify.ir.graph import Network
from verify.reductions.difference import difference_network


@pytest.mark.parametrize("d", [2, 3, 5])
def test_mean_network_closed_form(d):
    r = worst_case_error(mean_network(d), Box.cube(d), backend="milp")
    assert r.status is Status.PROVED and r.backend == "milp"
    assert r.sup_under == Fraction(d - 1, d) and r.sup_over == 0
    # witnesses attain the values under exact evaluation
    x = r.witness_under
    assert max(x) - evaluate(mean_network(d), x)[0] == Fraction(d - 1, d)


@pytest.mark.parametrize("d,level,m", [(4, 1, 2), (6, 1, 3), (8, 2, 2)])
def test_truncated_tree_closed_form(d, level, m):
    net = truncated_tree(d, level)
    r = worst_case_error(net, Box.cube(d), backend="milp")
    assert r.status is Status.PROVED
    assert r.sup_under == Fraction(m - 1, m) and r.sup_over == 0


@pytest.mark.parametrize("widths,seed", [([2, 6, 6, 1], 0), ([3, 5, 5, 1], 2), ([3, 8, 1], 4)])
def test_random_nets_both_backends_equal_exactly(widths, seed):
    net = random_relu_network(widths, seed=seed)
    box = Box.cube(widths[0])
    a = worst_case_error(net, box, backend="z3", timeout=120)
    b = worst_case_error(net, box, backend="milp", timeout=120)
    assert a.status is Status.PROVED and b.status is Status.PROVED
    assert (a.sup_over, a.sup_under) == (b.sup_over, b.sup_under)
    for x, val in ((b.witness_over, b.sup_over), (b.witness_under, -b.sup_under)):
        assert box.contains(x)
        assert evaluate(net, x)[0] - reference_max(net, x)[0] == val


@pytest.mark.parametrize("net", [max_tree(2), max_tree(3), max_tree(4)])
def test_exact_trees_proved_on_all_of_Rd_by_homogeneous_reduction(net):
    assert net.is_bias_free
    r = check_exact(net, backend="milp", timeout=120)
    assert r.status is Status.PROVED and r.backend == "milp"
    assert isinstance(r.domain, RealSpace) and "reduction" in r.reason


def _perturbed(net: Network, delta: Fraction) -> Network:
    g = nx.DiGraph(net.graph)
    for u, v, data in g.edges(data=True):
        if "weight" in data:
            data["weight"] = data["weight"] + delta
            break
    return Network(g, net.inputs, net.outputs, name="perturbed")


@pytest.mark.parametrize("delta", [Fraction(1, 64), Fraction(-1, 3)])
def test_perturbed_tree_refuted_with_confirmed_counterexample(delta):
    net = _perturbed(max_tree(3), delta)
    for backend in ("milp", "z3"):
        r = check_exact(net, Box.cube(3, -1, 1), backend=backend, timeout=60)
        assert r.status is Status.REFUTED
        x = r.counterexample
        assert evaluate(net, x)[r.output_index] != reference_max(net, x)[r.output_index]


def test_biases_block_the_reduction_and_fall_back_to_z3():
    net = random_relu_network([2, 3, 1], seed=0)
    ref_box, why = homogeneous_reduction(net, net, RealSpace(2))
    assert ref_box is None and "bias" in why
    r = check_equivalent(net, net, None, backend="milp")
    assert r.status is Status.PROVED and "z3 used" in r.reason


def test_difference_network_matches_its_parts():
    f, g = random_relu_network([3, 4, 1], seed=1), max_tree(3)
    D = difference_network(f, g, 0, -1)
    for x in [(Fraction(1, 3), Fraction(-2), Fraction(5, 7)), (0, 0, 1)]:
        assert evaluate(D, x)[0] == evaluate(g, x)[0] - evaluate(f, x)[0]


def test_cli_backend_option(tmp_path, capsys):
    path = tmp_path / "mean.json"
    save_network(mean_network(3), path)
    assert main(["error", str(path), "--box", "0,1", "--backend", "milp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sup_under"] == "2/3" and out["backend"] == "milp"
    assert main(["exact", str(path), "--backend", "milp"]) == 1  # the mean is not the max
    with pytest.raises(SystemExit) as exc:
        main(["exact", str(path), "--backend", "nope"])
    assert exc.value.code == 2


def test_max5_package_data_loads_and_is_bias_free():
    from verify.constructions.published import load_max5

    net = load_max5()
    assert (net.n_inputs, net.widths) == (5, [61, 602])
    assert net.is_bias_free  # so check_exact(..., backend="milp") reduces R^5 to [-1,1]^5
    box, note = homogeneous_reduction(net, net, RealSpace(5))
    assert box == Box.cube(5, -1, 1) and "bias-free" in note
    # The data README: N(x) = max(x) at every point of {-1,0,1}^5 (checked exactly at a few of them).
    for x in [(1, 0, -1, 0, 1), (-1, -1, -1, -1, 0), (0, 1, 1, -1, 1), (Fraction(1, 3), Fraction(-2, 7), 5, 0, -9)]:
        assert evaluate(net, x)[0] == max(Fraction(v) for v in x)


def test_multi_output_pooling_network_both_backends():
    from verify.constructions import pool2d

    net = pool2d(2, 3, 2, 1)  # two overlapping 2x2 windows, exact max pooling
    box = Box.cube(6)
    r = worst_case_error(net, box, backend="milp")
    assert r.status is Status.PROVED and (r.sup_over, r.sup_under) == (0, 0)
    assert check_exact(net, box, backend="milp").status is Status.PROVED


@pytest.mark.parametrize("net", [max_tree(4, "A"), max_tree(6, "B"), truncated_tree(8, 1, "A"),
                                 random_relu_network([3, 6, 6, 1], seed=3)])
def test_merge_parallel_relus_is_exact(net):
    from verify.ir.rewrites import merge_parallel_relus

    merged = merge_parallel_relus(net)
    assert merged.n_relus <= net.n_relus
    # z3 proves the rewrite equal to the original on all of R^d.
    assert check_equivalent(net, merged, None, backend="z3").status is Status.PROVED


def test_merge_removes_linear_carriers():
    from verify.ir.rewrites import merge_parallel_relus

    # gadget A carries y through relu(y) - relu(-y) = y: after merging, a tree of d - 1 pair maxima
    # needs exactly d - 1 ReLUs (relu(x - y) per pair).
    for d in (2, 4, 8):
        assert merge_parallel_relus(max_tree(d, "A")).n_relus == d - 1


@pytest.mark.parametrize("d,gadget", [(8, "B"), (16, "A")])
def test_larger_exact_trees_proved_by_milp(d, gadget):
    r = check_exact(max_tree(d, gadget), backend="milp", timeout=120)
    assert r.status is Status.PROVED


def test_auto_backend_decides_exactness_both_ways():
    assert check_exact(max_tree(6, "B"), backend="auto", timeout=60).status is Status.PROVED
    r = check_exact(_perturbed(max_tree(4), Fraction(1, 8)), backend="auto", timeout=60)
    assert r.status is Status.REFUTED
    x = r.counterexample
    assert evaluate(_perturbed(max_tree(4), Fraction(1, 8)), x)[0] != max(x)
