"""Exactness on R^d by the hyperplane arrangement, checked against z3 and by its certificate checker.

Known answers: max trees with gadgets A and B compute max (Arora et al. 2018); the mean of d >= 2 inputs
does not; a network equal to max stays equal after permuting inputs consistently, rescaling units by
positive factors, shuffling units, and adding pairs of units that cancel; z3 decides small networks
independently; the public max6 network computes max on R^6 (msun170/relu-max6, also proved by the
certificate checker here); the shipped max5 network computes max on R^5 (shared/data/README.md).
"""

from __future__ import annotations

import copy
import json
import random
from fractions import Fraction as F

import pytest

from verify.analysis.arrangement import (arrangement_certificate, check_exact_arrangement, network_hyperplanes,
                                         prove_by_arrangement, two_layer_form)
from verify.analysis.arrangement_check import recheck_arrangement
from verify.analysis.exactness import check_exact
from verify.analysis.flats import enumerate_flats, essential_coordinates
from verify.analysis.results import Status
from verify.backends.evaluator import evaluate
from verify.constructions import max_tree, mean_network
from verify.constructions.published import load_max5
from verify.constructions.support_sum import max6_two_hidden
from verify.ir.layers import Layer, from_layers, to_layers

import numpy as np


def _rebuild(d, W, act=("relu", "relu", "linear"), windows=None):
    return from_layers(d, [Layer(tuple(map(tuple, w)), (F(0),) * len(w), a) for w, a in zip(W, act)], windows=windows)


def scramble(net, seed, noise_pairs=0):
    """Same function: inputs permuted (and the windows with them), units rescaled by positive rationals
    and shuffled, and ``noise_pairs`` pairs of second-layer units w relu(F) - w relu(F) added."""
    rnd = random.Random(seed)
    L = to_layers(net)
    d = net.n_inputs
    W1 = [list(r) for r in L[0].weights]
    W2 = [list(r) for r in L[1].weights]
    W3 = [list(r) for r in L[2].weights]
    for j in range(len(W1)):
        c = F(rnd.randint(1, 9), rnd.randint(1, 9))
        W1[j] = [w * c for w in W1[j]]
        for row in W2:
            row[j] /= c
    for u in range(len(W2)):
        c = F(rnd.randint(1, 9), rnd.randint(1, 9))
        W2[u] = [w * c for w in W2[u]]
        W3[0][u] /= c
    for _ in range(noise_pairs):
        row = [F(rnd.randint(-3, 3)) for _ in W1]
        w = F(rnd.randint(1, 5), 7)
        W2 += [row, [2 * v for v in row]]
        W3[0] += [w, -w / 2]
    o1 = list(range(len(W1)))
    rnd.shuffle(o1)
    o2 = list(range(len(W2)))
    rnd.shuffle(o2)
    W1 = [W1[j] for j in o1]
    W2 = [[row[j] for j in o1] for row in W2]
    W2, W3 = [W2[u] for u in o2], [[W3[0][u] for u in o2]]
    perm = list(range(d))
    rnd.shuffle(perm)
    W1 = [[row[perm[i]] for i in range(d)] for row in W1]  # N'(x) = N(x permuted): still max of all inputs
    return _rebuild(d, [W1, W2, W3])


def random_two_hidden(seed, d=3, n1=4, n2=3):
    rnd = random.Random(seed)
    w = lambda: F(rnd.randint(-4, 4), rnd.randint(1, 3))
    return _rebuild(d, [[[w() for _ in range(d)] for _ in range(n1)], [[w() for _ in range(n1)] for _ in range(n2)],
                        [[w() for _ in range(n2)]]])


def perturb(net, layer, r, c, delta):
    L = to_layers(net)
    W = [[list(row) for row in l.weights] for l in L]
    W[layer][r][c] += delta
    return _rebuild(net.n_inputs, W, tuple(l.activation for l in L),
                    windows=net.windows if net.has_explicit_windows else None)


def _agree_with_z3(net):
    z = check_exact(net, backend="z3", timeout=60)
    a, _ = prove_by_arrangement(net, samples=0)
    assert z.status is not Status.UNKNOWN
    assert a.status is z.status, (a.reason, z.reason)
    if a.status is Status.REFUTED:
        x = a.counterexample
        assert evaluate(net, x)[0] == a.network_value != max(x) == a.reference_value
    return a


@pytest.mark.parametrize("d, gadget", [(2, "A"), (2, "B"), (3, "A"), (3, "B"), (4, "A"), (4, "B")])
def test_max_trees_agree_with_z3(d, gadget):
    assert _agree_with_z3(max_tree(d, gadget)).status is Status.PROVED


@pytest.mark.parametrize("d", [2, 3, 4])
def test_mean_is_refuted_like_z3(d):
    assert _agree_with_z3(mean_network(d)).status is Status.REFUTED


@pytest.mark.parametrize("seed", range(6))
def test_random_two_hidden_nets_agree_with_z3(seed):
    _agree_with_z3(random_two_hidden(seed, d=3 if seed % 2 else 2))


@pytest.mark.parametrize("seed", range(4))
def test_scrambled_max_trees_with_cancelling_units_agree_with_z3(seed):
    net = scramble(max_tree(4, "B" if seed % 2 else "A"), seed, noise_pairs=2)
    assert _agree_with_z3(net).status is Status.PROVED
    bad = perturb(net, 1, seed % 3, 1, F(1, 3))
    _agree_with_z3(bad)


def test_refutation_found_at_a_ray_without_random_points():
    # max of 3 plus 1/7 relu(relu(x1 - x2) - 9 relu(x3 - x2) ...): differs only on a thin cone.
    L = to_layers(max_tree(3, "A"))
    W1 = [list(r) for r in L[0].weights] + [[F(1), F(-1), F(0)], [F(0), F(-1), F(1)]]
    n1 = len(W1)
    W2 = [list(r) + [F(0), F(0)] for r in L[1].weights] + [[F(0)] * (n1 - 2) + [F(1), F(-9)]]
    W3 = [list(L[2].weights[0]) + [F(1, 7)]]
    net = _rebuild(3, [W1, W2, W3])
    res, _ = prove_by_arrangement(net, samples=0)
    assert res.status is Status.REFUTED
    x = res.counterexample
    assert evaluate(net, x)[0] != max(x)
    assert check_exact(net, backend="z3").status is Status.REFUTED


def test_flats_of_the_braid_arrangement():
    """The braid arrangement of R^4 modulo (1,1,1,1): rank 3, 7 lines of rank 2 (the 0/1 vectors up to
    complement), 7 flats of rank 2... known from the lattice of set partitions of {1,2,3,4}: 6 hyperplanes,
    7 partitions into two blocks."""
    normals = [tuple(1 if t == i else (-1 if t == j else 0) for t in range(4)) for i in range(4) for j in range(i + 1, 4)]
    piv, k, lin = essential_coordinates(normals, 4)
    assert k == 3 and len(lin) == 1 and abs(np.array(lin[0])).tolist() == [1, 1, 1, 1]
    flats = enumerate_flats(np.array([[h[p] for p in piv] for h in normals]))
    assert len(flats.rays) == 7  # S(4, 2) = 7 partitions into two blocks


def test_scrambled_shipped_max5_is_proved_on_r5():
    net = scramble(load_max5(), 1, noise_pairs=3)
    res = check_exact_arrangement(net)
    assert res.status is Status.PROVED and "55 hyperplanes" in res.reason


def test_perturbed_max6_is_refuted_with_an_exact_counterexample():
    net = max6_two_hidden()
    bad = perturb(net, 2, 0, 5, F(1, 1000))
    res = check_exact_arrangement(bad)
    assert res.status is Status.REFUTED
    assert evaluate(bad, res.counterexample)[0] == res.network_value != max(res.counterexample)


@pytest.mark.slow
def test_public_max6_is_proved_on_r6_and_its_certificate_rechecks():
    net = max6_two_hidden()
    res, proof = prove_by_arrangement(net)
    assert res.status is Status.PROVED
    assert res.stats["hyperplanes"] == 120 and res.stats["rank"] == 5
    cert = arrangement_certificate(net, proof)
    out = recheck_arrangement(json.loads(json.dumps(cert)))
    assert out.holds, out.reason


def test_route_declines_quickly_with_a_reason():
    biased = from_layers(2, [Layer(((F(1), F(-1)),), (F(1, 2),), "relu"), Layer(((F(1),),), (F(0),), "linear")])
    for net, why in ((biased, "biases"), (max_tree(8, "A"), "3 hidden layers"), (max_tree(5, "skip"), "not layered")):
        res = check_exact_arrangement(net, timeout=5)
        assert res.status is Status.UNKNOWN and why in res.reason and res.seconds < 5


@pytest.fixture(scope="module")
def max5_certificate():
    net = load_max5()
    res, proof = prove_by_arrangement(net)
    assert res.status is Status.PROVED
    return json.loads(json.dumps(arrangement_certificate(net, proof)))


def test_certificate_rechecks(max5_certificate):
    out = recheck_arrangement(max5_certificate)
    assert out.holds, out.reason
    assert any("closure" in c for c in out.checks)


def _tampered(cert, how):
    c = copy.deepcopy(cert)
    if how == "drop-ray":
        c["rays"].pop(len(c["rays"]) // 2)
        c["values"].pop(len(c["values"]) // 2)
    elif how == "drop-hyperplane":
        c["hyperplanes"].pop(0)
    elif how == "drop-flat":
        c["flats"]["2"].pop(3)
    elif how == "value":
        c["values"][0][0] = "12345"
    elif how == "rank":
        c["rank"] = 3
    elif how == "hash":
        c["network"]["layers"][2]["weights"][0][0] = "7"
    elif how == "network":
        from verify.io.json_format import network_from_mapping, network_hash

        c["network"]["layers"][2]["weights"][0][0] = "7"
        c["network_sha256"] = network_hash(network_from_mapping(c["network"]))
    return c


@pytest.mark.parametrize("how", ["drop-ray", "drop-hyperplane", "drop-flat", "value", "rank", "hash", "network"])
def test_checker_rejects_tampered_certificates(max5_certificate, how):
    out = recheck_arrangement(_tampered(max5_certificate, how))
    assert out.holds is False, how


def test_hyperplanes_of_a_block_unit():
    """relu(h_Z1 - h_Z2) with Z1 = 2e1 + [0, e2 - e1], Z2 = 2e3: the forms are 2e1 - 2e3 and e1 + e2 - 2e3."""
    W1 = [[F(1), F(0), F(0)], [F(-1), F(0), F(0)], [F(0), F(0), F(1)], [F(0), F(0), F(-1)], [F(-1), F(1), F(0)]]
    W2 = [[F(2), F(-2), F(-2), F(2), F(1)]]
    net = _rebuild(3, [W1, W2, [[F(1)]]])
    forms = two_layer_form(net)
    hyper = set(network_hyperplanes(forms, [()]))
    assert hyper == {(1, -1, 0), (1, 0, -1), (1, 1, -2)}


def test_pooling_layer_with_several_windows_agrees_with_z3():
    from verify.constructions import pool2d

    net = pool2d(2, 3, 2, 1, "A")  # two overlapping 2x2 windows
    assert check_exact_arrangement(net).status is Status.PROVED
    assert check_exact(net, backend="z3").status is Status.PROVED
    bad = perturb(net, 2, 1, 0, F(1, 5))
    res, _ = prove_by_arrangement(bad, samples=0)
    assert res.status is check_exact(bad, backend="z3").status is Status.REFUTED


def test_built_max5_and_shipped_max5_are_both_max_on_r5():
    """Both proved equal to max on R^5, hence equal to each other (shared/data/README.md's construction)."""
    from verify.constructions.support_sum import compile_support_sum, load_shipped_support_sum

    built = compile_support_sum(load_shipped_support_sum("max5"))
    assert check_exact_arrangement(built).status is Status.PROVED
    assert check_exact_arrangement(load_max5()).status is Status.PROVED


def test_cli_exact_arrangement_certificate_and_recheck(tmp_path):
    import subprocess
    import sys

    from verify.io.json_format import save_network

    net = tmp_path / "n.json"
    cert = tmp_path / "c.json"
    save_network(scramble(max_tree(4, "B"), 3, noise_pairs=1), net)
    run = lambda *a: subprocess.run([sys.executable, "-m", "verify.cli", *a], capture_output=True, text=True)
    p = run("exact", str(net), "--backend", "arrangement", "--certificate", str(cert), "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["backend"] == "arrangement", p.stderr
    assert json.loads(cert.read_text())["format"] == "verify-arrangement/1"
    q = run("recheck", str(cert))
    assert q.returncode == 0 and "HOLDS" in q.stdout
    data = json.loads(cert.read_text())
    data["rays"].pop()
    data["values"].pop()
    cert.write_text(json.dumps(data))
    assert run("recheck", str(cert)).returncode == 1
    assert run("exact", str(net), "--backend", "arrangement", "--box", "0,1").returncode == 2
