"""Search for shallow max_n constructions, and the certificates that a family cannot express max_n.

Known answers: two hidden layers suffice for max of n <= 4 (binary tree, Arora et al. 2018); one hidden
layer cannot compute max of 3 or more (Mukherjee and Basu, as cited in LITERATURE.md section 2) but can
compute max of 2 (max(a, b) = b + relu(a - b)); max of 5 and of 6 have two-hidden-layer constructions in
the weight-2 family (shared/data/README.md; msun170/relu-max6). Counting: the weight-1 blocks with two
hidden layers in R^n are the simplices on 1..4 unit vectors (a join of two segments has at most 4
vertices), so there are C(n,1) + C(n,2) + C(n,3) + C(n,4) of them; the weight-2 lattice of R^n has
n (n + 1) / 2 points.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from fractions import Fraction as F
from math import comb

import pytest

from verify.analysis.exactness import check_exact
from verify.analysis.family import block_family, lattice_vertices, orbit_members, sorted_rays
from verify.analysis.results import Status
from verify.analysis.search import search_max
from verify.analysis.search_check import _all_blocks, recheck_search
from verify.backends.evaluator import evaluate
from verify.constructions.polytopes import lattice_points


@pytest.mark.parametrize("n, symmetric", [(3, True), (3, False), (4, True), (4, False)])
def test_search_finds_max3_and_max4_with_two_hidden_layers(n, symmetric):
    res = search_max(n, 2, 2, symmetric=symmetric)
    assert res.status == "found" and res.proof.status is Status.PROVED
    assert res.network.hidden_layers == 2
    assert check_exact(res.network, backend="z3").status is Status.PROVED  # a second, independent backend


def test_search_finds_max2_with_one_hidden_layer():
    res = search_max(2, 1, 2)
    assert res.status == "found" and res.network.hidden_layers == 1
    assert check_exact(res.network, backend="z3").status is Status.PROVED


@pytest.mark.parametrize("n", [3, 4, 5])
def test_one_hidden_layer_cannot_compute_max(n):
    res = search_max(n, 1, 2)
    assert res.status == "infeasible" and res.certificate["kind"] == "one-hidden-layer"
    out = recheck_search(json.loads(json.dumps(res.certificate)))
    assert out.holds, out.reason
    bad = copy.deepcopy(res.certificate)
    bad["y"][0] += 1
    assert recheck_search(bad).holds is False


def test_search_rediscovers_max5():
    res = search_max(5, 2, 2, symmetric=True)
    assert res.status == "found" and res.proof.status is Status.PROVED
    rnd = random.Random(2)
    for _ in range(5):
        x = tuple(F(rnd.randint(-99, 99), rnd.randint(1, 9)) for _ in range(5))
        assert evaluate(res.network, x)[0] == max(x)


@pytest.mark.parametrize("symmetric", [True, False])
def test_weight1_family_cannot_express_max5(symmetric):
    fam = block_family(5, 1, 2)
    assert fam.blocks == sum(comb(5, k) for k in range(1, 5))
    res = search_max(5, 2, 1, symmetric=symmetric)
    assert res.status == "infeasible"
    cert = json.loads(json.dumps(res.certificate))
    out = recheck_search(cert)
    assert out.holds, out.reason
    for how in ("y", "point", "weight", "value"):
        bad = copy.deepcopy(cert)
        if how == "y":
            bad["y"][-1] += 1
        elif how == "point":
            bad["points"][0][0] += 1
        elif how == "weight":
            bad["weight"] = 2  # the weight-2 family does contain max of 5: the functional cannot vanish on it
        else:
            bad["value"] += 1
        assert recheck_search(bad).holds is not True, how
    weaker = copy.deepcopy(cert)
    weaker["hidden"] = 1  # a subfamily: the same functional still certifies it
    assert recheck_search(weaker).holds


def test_family_enumerations_agree():
    """The search's family (vertex sets, orbits) and the checker's (corner-point sets) give the same
    polytopes, for n = 4 and weight 2."""
    fam = block_family(4, 2, 2)
    ours = {frozenset(map(tuple, m.tolist())) for o in fam.orbits for m in orbit_members(o.vertices, 4)}
    theirs = {lattice_vertices(S, 2) for S in _all_blocks(4, 2, 2)}
    assert ours == theirs and len(ours) == fam.blocks
    assert len(lattice_points(6, 2)) == 21


def test_sorted_rays_of_max5_are_the_42_of_the_data_readme():
    rays = sorted_rays(5, 2)
    assert len(rays) == 42  # "the 42 extreme rays of the sorted cone" (shared/data/README.md)
    assert all(list(r) == sorted(r, reverse=True) for r in rays.tolist())


def test_cli_search_exit_codes_and_recheck(tmp_path):
    net = tmp_path / "n.json"
    cert = tmp_path / "c.json"
    ok = subprocess.run([sys.executable, "-m", "verify.cli", "search", "--max", "4", "--symmetric", "-o", str(net)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and net.exists(), ok.stderr
    no = subprocess.run([sys.executable, "-m", "verify.cli", "search", "--max", "3", "--hidden", "1",
                         "--certificate", str(cert)], capture_output=True, text=True)
    assert no.returncode == 1 and "NOT IN THIS FAMILY" in no.stdout
    again = subprocess.run([sys.executable, "-m", "verify.cli", "recheck", str(cert)], capture_output=True, text=True)
    assert again.returncode == 0 and "HOLDS" in again.stdout
    bad = subprocess.run([sys.executable, "-m", "verify.cli", "search", "--max", "12"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


@pytest.mark.slow
def test_shipped_max7_certificate_rechecks_and_tampering_fails():
    """msun170/relu-max6 claims max of 7 is not in the weight-2 family; the shipped certificate says so."""
    from importlib import resources

    cert = json.loads(resources.files("verify").joinpath("data", "max7_weight2_certificate.json").read_text())
    assert cert["n"] == 7 and cert["weight"] == 2 and cert["hidden"] == 2
    out = recheck_search(cert)
    assert out.holds, out.reason
    bad = copy.deepcopy(cert)
    bad["y"][3] -= 1
    assert recheck_search(bad).holds is False


def test_a_system_too_large_for_exact_ranks_in_memory_ends_unknown_with_the_way_out(monkeypatch):
    # `search --max 4 --vertices-weight 3` without --symmetric reached 7.5 GB in FLINT's rank and was
    # aborted under a 4 GB cap (soak seed 307575); a lowered limit shows the same route on a small case
    import verify.analysis.search as search_module

    monkeypatch.setattr(search_module, "RANK_MAX_ENTRIES", 50)
    res = search_max(3, 2, 2, symmetric=False)  # 14 points x (44 blocks + 3 linear)
    assert res.status == "unknown" and res.network is None and res.certificate is None
    assert "use --symmetric" in res.reason and "14 x 47" in res.reason
    res = search_max(3, 2, 2, symmetric=True)
    assert res.status == "unknown" and "use a smaller --vertices-weight" in res.reason
