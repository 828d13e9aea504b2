"""Limits: timeouts give UNKNOWN with sound bounds, sizes are refused before building, and the same
query gives the same answer in separate processes (determinism)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from verify.analysis.exactness import check_exact
from verify.analysis.results import Status
from verify.analysis.worst_case import worst_case_error
from verify.backends.evaluator import evaluate
from verify.constructions import max_chain, max_tree, pool2d, truncated_tree
from verify.domain import Box
from verify.errors import ResourceLimitError
from verify.io.json_format import save_network
from verify.limits import (
    chain_nodes,
    check_size,
    pool2d_nodes,
    subpool_nodes,
    tree_nodes,
    truncated_tree_nodes,
)
from verify.testing import RandomSource, dense_network, random_points

ROOT = Path(__file__).resolve().parents[1]


def run(*args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "verify.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


# -- timeouts ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hard_net():
    return dense_network(0, (6, 24, 24, 1))


def test_tiny_timeout_is_unknown_with_sound_bounds(hard_net):
    box = Box.cube(6, 0, 1)
    r = worst_case_error(hard_net, box, timeout=0.01)
    assert r.status is Status.UNKNOWN and "timeout" in r.reason
    # lower bounds are attained at their witnesses (exact evaluation) ...
    y, m = evaluate(hard_net, r.witness_over)[0], max(r.witness_over)
    assert y - m == r.sup_over
    y, m = evaluate(hard_net, r.witness_under)[0], max(r.witness_under)
    assert m - y == r.sup_under
    # ... and the upper bounds are sound: no point of the box exceeds them
    assert r.upper_over >= r.sup_over and r.upper_under >= r.sup_under
    for p in random_points(RandomSource(5), box, 200) + [box.lo, box.hi]:
        e = evaluate(hard_net, p)[0] - max(p)
        assert -r.upper_under <= e <= r.upper_over


def test_tiny_timeout_through_the_cli(tmp_path, hard_net):
    net = tmp_path / "hard.json"
    save_network(hard_net, net)
    cert = tmp_path / "cert.json"
    proc = run("error", net, "--box", "0,1", "--timeout", "0.01", "--json", "--certificate", cert)
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "UNKNOWN"
    assert out["upper_over"] is not None and out["upper_under"] is not None
    assert Fraction(out["sup_over"]) <= Fraction(out["upper_over"])
    assert Fraction(out["sup_under"]) <= Fraction(out["upper_under"])
    assert not cert.exists() and "no certificate" in proc.stderr  # UNKNOWN has no certificate
    proc = run("error", net, "--box", "0,1", "--timeout", "0.01")
    assert proc.returncode == 3 and "sound upper bounds" in proc.stdout


def test_exact_timeout_reports_what_was_proved():
    net = pool2d(4, 4, 2, 2, "B")
    r = check_exact(net, timeout=0)
    assert r.status is Status.UNKNOWN and r.proved_outputs == () and "no output proved" in r.reason
    assert r.to_json()["proved_outputs"] == []
    full = check_exact(net)
    assert full.status is Status.PROVED


# -- sizes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gadget", ["A", "B", "skip"])
def test_size_estimates_bound_the_real_sizes(gadget):
    # Estimates are upper bounds within a factor 2 (plus a constant) of the node counts actually built.
    for d in (1, 2, 3, 5, 8, 9, 17, 40):
        n = max_tree(d, gadget).graph.number_of_nodes()
        assert n <= d + tree_nodes(d, gadget) + 1 <= 2 * n + 3
        n = max_chain(d, gadget).graph.number_of_nodes()
        assert n <= chain_nodes(d, gadget) <= 2 * n + 3
        for level in range(4):
            n = truncated_tree(d, level, gadget).graph.number_of_nodes()
            assert n <= truncated_tree_nodes(d, level, gadget) <= 2 * n + 5
    for h, w, k, s in ((4, 4, 2, 2), (5, 7, 3, 1), (9, 9, 3, 2)):
        n = pool2d(h, w, k, s, gadget).graph.number_of_nodes()
        assert n <= pool2d_nodes(h, w, k, s, gadget) <= 2 * n


def test_closed_forms_of_the_estimates():
    # max tree of d = 2^L with gadget A: 3(d-1) ReLUs, each with its affine node (Arora et al. 2018)
    assert tree_nodes(1024, "A") == 2 * (3 * 1023 + 2 * 10) + 1
    # the chain is quadratic: (d-1)(d-2) lift ReLUs plus 3(d-1) gadget ReLUs
    assert chain_nodes(100, "A") == 100 + 2 * (99 * 98 + 3 * 99) + 2
    # subpool estimators: sum_k C(d, k) subset maxima, e.g. all sizes 1..d-1 for d = 30
    assert subpool_nodes(30, range(1, 30)) > 2 ** 30


def test_check_size_states_the_size():
    assert check_size(10, "x") == 10
    with pytest.raises(ResourceLimitError, match=r"subpool d=40 would have about [\d,]+ nodes \(about .* of memory\)"):
        check_size(subpool_nodes(40, range(1, 40)), "subpool d=40")
    with pytest.raises(ResourceLimitError, match="more than the limit 100 nodes"):
        check_size(101, "y", limit=100)


@pytest.mark.parametrize("make", [lambda: max_tree(10**8), lambda: max_chain(5000), lambda: pool2d(10**5, 10**5, 2, 2),
                                  lambda: truncated_tree(10**8, 3)])
def test_constructions_refuse_before_building(make):
    with pytest.raises(ResourceLimitError, match="would have about"):
        make()


# -- determinism ------------------------------------------------------------------------------------
def _strip(text: str) -> dict:
    data = json.loads(text)
    data.pop("seconds", None)
    return data


@pytest.mark.parametrize("query", ["error", "exact"])
def test_same_answer_in_separate_processes(tmp_path, query):
    nets = {"dense": dense_network(3, (3, 6, 6, 1)), "pool": pool2d(3, 3, 2, 1, "A"),
            "truncated": truncated_tree(5, 1, "B")}
    for name, net in nets.items():
        path = tmp_path / f"{name}.json"
        save_network(net, path)
        outs, certs = [], []
        for seed in ("1", "2"):  # different hash seeds: no dependence on set or dict order of strings
            cert = tmp_path / f"{name}-{seed}.cert"
            proc = run(query, path, "--box=-1,1", "--json", "--certificate", cert,
                       env_extra={"PYTHONHASHSEED": seed})
            assert proc.returncode in (0, 1), proc.stderr
            outs.append(_strip(proc.stdout))
            certs.append(cert.read_bytes())
        assert outs[0] == outs[1], name
        assert certs[0] == certs[1], name


# -- dense matrices (issue 16): the size guard counts what a relu-net/1 file would hold ----------------
def _real_dense(net) -> int:
    """Entries of the dense matrices the layered view really builds (None: not layered, nothing dense)."""
    from verify.ir.layers import to_layers

    layers = to_layers(net)
    return 0 if layers is None else sum(len(l.weights) * len(l.weights[0]) for l in layers)


@pytest.mark.parametrize("gadget", ["A", "B", "skip"])
def test_dense_estimates_are_the_real_dense_sizes(gadget):
    from verify.limits import chain_dense, pool2d_dense, tree_dense, truncated_tree_dense

    for d in (1, 2, 3, 5, 7, 9, 16, 17, 33):
        assert tree_dense(d, gadget) == _real_dense(max_tree(d, gadget))
        assert chain_dense(d, gadget) == _real_dense(max_chain(d, gadget))
        for level in (0, 1, 2, 3, 9):
            assert truncated_tree_dense(d, level, gadget) == _real_dense(truncated_tree(d, level, gadget))
    for h, w, k, s in [(4, 4, 2, 2), (5, 5, 3, 1), (6, 4, 2, 1), (3, 3, 3, 1)]:
        assert pool2d_dense(h, w, k, s, gadget) == _real_dense(pool2d(h, w, k, s, gadget))


def test_dense_closed_form_of_a_power_of_two_tree():
    """Gadget A on d = 2^L: layer k has 3 d / 2^k units, so the matrices hold
    d * 3d/2 + sum_k (3d/2^k)(3d/2^(k+1)) + 3 entries (the last layer, 3 units, feeds one output)."""
    from verify.limits import tree_dense

    for L in range(1, 8):
        d = 2 ** L
        widths = [3 * d // 2 ** k for k in range(1, L + 1)]
        assert tree_dense(d, "A") == d * widths[0] + sum(a * b for a, b in zip(widths, widths[1:])) + widths[-1]


def test_writer_refuses_huge_dense_layers_before_making_them():
    from verify.io.json_format import dumps_network
    from verify.limits import MAX_DENSE_WEIGHTS, tree_dense

    net = max_tree(3000, "A")  # 21,000 nodes, but 27 million dense weights
    assert tree_dense(3000, "A") > MAX_DENSE_WEIGHTS
    with pytest.raises(ResourceLimitError, match="dense layers .* would hold 27,001,593 weights"):
        dumps_network(net)


def _limited_memory():  # the child may use at most 1.5 GB of address space: a kill becomes a MemoryError
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))


@pytest.mark.parametrize("argv, fragment", [
    (["build", "max-tree", "--d", "100000"], "max-tree d=100000 gadget=A as dense layers"),
    (["build", "pool2d", "--height", "300", "--width", "300", "--kernel", "2"], "pool2d 300x300 k=2 s=2"),
    (["build", "truncated-tree", "--d", "60000", "--level", "3", "--gadget", "B"], "truncated-tree d=60000"),
])
def test_build_refuses_dense_files_up_front(tmp_path, argv, fragment):
    """Before issue 16 the first was killed by the kernel (tens of GB of zeros); now one line, exit 2,
    within a small memory limit and nothing written."""
    out = tmp_path / "big.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "verify.cli", *argv, "-o", str(out)], capture_output=True,
                          text=True, env=env, timeout=120, preexec_fn=_limited_memory)
    assert proc.returncode == 2, proc.stderr[-500:]
    assert proc.stderr.count("\n") == 1 and fragment in proc.stderr and "more than the limit" in proc.stderr
    assert proc.stdout == "" and not out.exists()
