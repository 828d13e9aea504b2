"""Certificates of the engine's answers (verify-engine-tree/1): written from the closed trees, re-checked
by independent exact code, and rejected when tampered with (issue 13, item 4)."""

from __future__ import annotations

import copy
import json
from fractions import Fraction

import pytest

from verify.analysis.exactness import check_exact
from verify.analysis.worst_case import worst_case_error
from verify.certificates import certificate_for, recheck
from verify.cli import main
from verify.constructions import max_tree, mean_network
from verify.constructions.random_nets import random_relu_network
from verify.domain import Box
from verify.engine.entry import set_options
from verify.io.json_format import save_network
from verify.status import Status


def _recorded(fn, *args, **kw):
    previous = set_options(record_trees=True)
    try:
        return fn(*args, **kw)
    finally:
        set_options(**previous)


@pytest.fixture(scope="module")
def error_cert():
    net = random_relu_network([3, 8, 8, 1], seed=3)
    r = _recorded(worst_case_error, net, Box.cube(3), backend="engine")
    assert r.status is Status.PROVED and r.proof is not None
    return net, r, json.loads(json.dumps(certificate_for(net, r)))  # through JSON text, as a file would be


def test_error_certificate_rechecks(error_cert):
    net, r, cert = error_cert
    assert cert["format"] == "verify-engine-tree/1"
    out = recheck(cert)
    assert out.holds is True, out.reason
    # every sub-problem of both sides was covered by a tree
    assert sum("sub-problem" in c for c in out.checks) == len(cert["sides"]["over"]["trees"]) + \
        len(cert["sides"]["under"]["trees"])


def test_the_z3_route_agrees_with_the_certified_values(error_cert):
    net, r, _ = error_cert
    z = worst_case_error(net, Box.cube(3), backend="milp", timeout=120)
    assert (z.sup_over, z.sup_under) == (r.sup_over, r.sup_under)


def test_a_lower_claim_is_rejected(error_cert):
    _, r, cert = error_cert
    bad = copy.deepcopy(cert)
    bad["claim"]["sup_under"] = str(r.sup_under - Fraction(1, 10 ** 9))
    assert recheck(bad).holds is False


def test_a_missing_tree_is_rejected(error_cert):
    bad = copy.deepcopy(error_cert[2])
    bad["sides"]["under"]["trees"].pop()
    out = recheck(bad)
    assert out.holds is False and "no tree" in out.reason


def test_a_tightened_bound_in_a_tree_is_rejected(error_cert):
    bad = copy.deepcopy(error_cert[2])
    tree = max(bad["sides"]["under"]["trees"], key=lambda t: len(t["tree"]["nodes"]["m"]))["tree"]
    # the root's upper bound of the first ReLU, lowered below what anything justifies
    root = next(v for k, v in tree["nodes"]["m"] if k == 0)
    U = root["U"]["t"]
    U[0] = U[0] - 10.0
    assert recheck(bad).holds is False


def test_a_tree_for_another_box_is_rejected(error_cert):
    bad = copy.deepcopy(error_cert[2])
    tree = bad["sides"]["over"]["trees"][0]["tree"]
    tree["box_hi"]["t"][0] = {"q": "1/2"}
    assert recheck(bad).holds is False


@pytest.mark.parametrize("domain", [Box.cube(4, -1, 1), None], ids=["box", "R^d"])
def test_exactness_certificate_rechecks(domain):
    net = max_tree(4, "A")
    r = _recorded(check_exact, net, domain, backend="engine", timeout=120)
    assert r.status is Status.PROVED
    cert = json.loads(json.dumps(certificate_for(net, r)))
    assert cert["format"] == "verify-engine-tree/1" and cert["query"] == "exact"
    assert recheck(cert).holds is True
    bad = copy.deepcopy(cert)
    bad["network_sha256"] = "0" * 64
    assert recheck(bad).holds is False
    bad = copy.deepcopy(cert)
    bad["claim"]["sup_over"] = "-1/8"  # "N - max <= -1/8": false (they are equal)
    assert recheck(bad).holds is False


def test_cli_error_certificate_roundtrip(tmp_path, capsys):
    net = mean_network(3)
    # the mean has no ReLU: both sides are closed at the root; (d-1)/d = 2/3 is the known sup(max - mean)
    path = tmp_path / "mean3.json"
    save_network(net, path)
    cert = tmp_path / "c.json"
    assert main(["error", str(path), "--box", "0,1", "--backend", "engine", "--certificate", str(cert), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert Fraction(out["sup_under"]) == Fraction(2, 3) and Fraction(out["sup_over"]) == 0
    assert json.loads(cert.read_text())["format"] == "verify-engine-tree/1"
    assert main(["recheck", str(cert)]) == 0
