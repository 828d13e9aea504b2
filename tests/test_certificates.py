"""Certificates: valid ones recheck; tampered ones (witness, value, weight, hash, forged claims) fail.

Known answers are independent of the code: max trees equal max (Arora et al. 2018); the mean of d inputs
on [0,1]^d has sup(max - N) = (d-1)/d and sup(N - max) = 0; a truncated tree differs from max.
"""

from __future__ import annotations

import copy
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
from verify.certificates import (
    CertificateError,
    certificate_for,
    load_certificate,
    recheck,
    save_certificate,
    smtlib_query,
)
from verify.constructions import max_tree, mean_network, pool2d, truncated_tree
from verify.domain import Box, RealSpace, domain_from_json
from verify.io.json_format import network_from_mapping, network_hash

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "verify.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def roundtrip(cert: dict) -> dict:
    return json.loads(json.dumps(cert))


@pytest.fixture(scope="module")
def certs():
    # The SMT-LIB certificate kind is the one of answers z3 gives (the default route may answer with
    # another kind, e.g. the arrangement route on R^d: tests/test_arrangement.py).
    out = {}
    net = max_tree(4, "B")
    out["exact-proved-reals"] = roundtrip(certificate_for(net, check_exact(net, backend="z3")))
    out["exact-proved-box"] = roundtrip(certificate_for(net, check_exact(net, Box.cube(4, -1, 2), backend="z3")))
    pool = pool2d(3, 3, 2, 1, "skip")
    out["exact-proved-pool"] = roundtrip(certificate_for(pool, check_exact(pool, Box.cube(9), backend="z3")))
    trunc = truncated_tree(4, 1, "A")
    r = check_exact(trunc, backend="z3")
    assert r.status is Status.REFUTED
    out["exact-refuted"] = roundtrip(certificate_for(trunc, r))
    mean = mean_network(3)
    out["error-mean"] = roundtrip(certificate_for(mean, worst_case_error(mean, Box.cube(3), backend="z3")))
    out["error-trunc"] = roundtrip(certificate_for(trunc, worst_case_error(trunc, Box.cube(4, -1, 1), backend="z3")))
    return out


@pytest.mark.parametrize("name", ["exact-proved-reals", "exact-proved-box", "exact-proved-pool", "exact-refuted",
                                  "error-mean", "error-trunc"])
def test_valid_certificates_recheck(certs, name):
    outcome = recheck(certs[name])
    assert outcome.holds is True, outcome.reason
    assert any("fresh z3" in c for c in outcome.checks) and any("hash" in c for c in outcome.checks)


def test_error_certificate_holds_the_closed_form(certs):
    claim = certs["error-mean"]["claim"]
    assert claim["sup_under"] == "2/3" and claim["sup_over"] == "0"  # (d-1)/d and 0 for d = 3


def _fails(cert, fragment):
    outcome = recheck(cert)
    assert outcome.holds is False, outcome.reason
    assert fragment in outcome.reason, outcome.reason
    return outcome


def _rehash(cert):
    cert["network_sha256"] = network_hash(network_from_mapping(cert["network"]))


def _requery(cert):
    """Forge consistently: regenerate the SMT-LIB queries for the (tampered) network and claim."""
    from verify.certificates import _queries

    net = network_from_mapping(cert["network"])
    dom = domain_from_json(cert["domain"])
    cert["queries"] = _queries(net, dom, cert["claim"], cert["query"], cert["status"])


def test_changed_witness_fails(certs):
    c = copy.deepcopy(certs["error-mean"])
    c["claim"]["witness_under"] = ["0", "1/2", "0"]
    _fails(c, "exact evaluation at witness_under")


def test_changed_value_fails(certs):
    c = copy.deepcopy(certs["error-mean"])
    c["claim"]["sup_under"] = "1/2"
    _fails(c, "not the stored sup_under 1/2")


def test_changed_counterexample_fails(certs):
    c = copy.deepcopy(certs["exact-refuted"])
    c["claim"]["counterexample"] = ["0", "0", "0", "0"]  # the network equals max (= 0) there
    _fails(c, "exact evaluation at the counterexample")


def test_changed_weight_fails(certs):
    for name in ("exact-proved-box", "error-mean", "exact-refuted"):
        c = copy.deepcopy(certs[name])
        layer = c["network"]["layers"][-1]
        layer["weights"][0][0] = "5/7"
        _fails(c, "network hash mismatch")
        _rehash(c)  # a consistent hash is not enough: exact evaluation or the stored queries give it away
        assert recheck(c).holds is False
        _requery(c)  # fully re-forged claim queries: still fails (evaluation at witnesses or the solver)
        assert recheck(c).holds is False


def test_edited_smtlib_text_fails(certs):
    c = copy.deepcopy(certs["exact-proved-box"])
    text = c["queries"][0]["smtlib"]
    assert "(assert (<= x0 2.0))" in text
    c["queries"][0]["smtlib"] = text.replace("(assert (<= x0 2.0))", "(assert (<= x0 1.0))")
    _fails(c, "stored SMT-LIB is not the query")


def test_changed_hash_fails(certs):
    c = copy.deepcopy(certs["exact-proved-reals"])
    c["network_sha256"] = "0" * 64
    _fails(c, "network hash mismatch")


def test_forged_sup_with_consistent_witness_fails_the_solver(certs):
    # Claim sup(max - mean) = 1/3 on [0,1]^3 with a witness that really attains 1/3, and matching queries:
    # everything is consistent except the claim, and only the fresh solver run can refute it.
    c = copy.deepcopy(certs["error-mean"])
    c["claim"]["sup_under"] = "1/3"
    c["claim"]["sup_abs"] = "1/3"
    c["claim"]["witness_under"] = ["1/2", "0", "0"]  # max 1/2, mean 1/6: error 1/3
    _requery(c)
    _fails(c, "a fresh solver says sat")


def test_forged_proved_exactness_fails_the_solver():
    # truncated tree (d = 4, groups of 2) agrees with max at the centre and both corners of [0,1]^4,
    # so only the solver can show the forged PROVED false.
    net = truncated_tree(4, 1, "A")
    good = check_exact(net, Box.cube(4))
    assert good.status is Status.REFUTED
    c = roundtrip(certificate_for(net, check_exact(max_tree(4, "A"), Box.cube(4))))  # a PROVED template
    c["network"] = roundtrip(certificate_for(net, good))["network"]
    c["claim"] = {}
    _rehash(c)
    _requery(c)
    _fails(c, "a fresh solver says sat")


def test_changed_expectation_fails(certs):
    c = copy.deepcopy(certs["exact-proved-reals"])
    c["queries"][0]["expect"] = "sat"
    _fails(c, "expects 'sat'")


def test_smtlib_is_parsed_from_the_stored_text(certs, monkeypatch):
    # the recheck runs the stored text through a fresh z3 parser: a solver verdict of unknown is no verdict
    import verify.certificates as mod

    monkeypatch.setattr(mod, "_solve", lambda text, timeout: "unknown")
    outcome = recheck(certs["exact-proved-reals"])
    assert outcome.holds is None and outcome.exit_code == 3


def test_smtlib_query_text_is_plain_qf_lra():
    text = smtlib_query(max_tree(2, "A"), Box.cube(2, Fraction(-1, 2), 1), "differs")
    assert text.count("(check-sat)") == 1 and "(set-logic QF_LRA)" in text
    assert "(<= (- (/ 1.0 2.0)) x0)" in text  # negative rationals without negative literals


def test_cli_certificate_and_recheck(tmp_path):
    net, cert = tmp_path / "m.json", tmp_path / "m.cert"
    assert run("build", "mean", "--d", "3", "-o", net).returncode == 0
    proc = run("error", net, "--box", "0,1", "--certificate", cert)
    assert proc.returncode == 0 and cert.exists()
    proc = run("recheck", cert)
    assert proc.returncode == 0 and proc.stdout.startswith("HOLDS") and proc.stdout.count("\n") == 1
    data = load_certificate(cert)
    data["claim"]["witness_over"] = ["1", "1", "0"]
    bad = tmp_path / "bad.cert"
    save_certificate(data, bad)
    proc = run("recheck", bad)
    assert proc.returncode == 1 and proc.stdout.startswith("FAILS") and proc.stdout.count("\n") == 1
    assert "witness_over" in proc.stdout
    proc = run("recheck", cert, "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["holds"] is True


def test_refuted_exact_certificate_through_the_cli(tmp_path):
    net, cert = tmp_path / "t.json", tmp_path / "t.cert"
    assert run("build", "truncated-tree", "--d", "4", "--level", "1", "-o", net).returncode == 0
    assert run("exact", net, "--certificate", cert).returncode == 1
    assert load_certificate(cert)["status"] == "REFUTED"
    assert run("recheck", cert).returncode == 0


def test_unknown_results_have_no_certificate():
    net = max_tree(24, "B")
    r = check_exact(net, timeout=0)
    assert r.status is Status.UNKNOWN
    with pytest.raises(Exception, match="UNKNOWN"):
        certificate_for(net, r)


def test_load_rejects_non_certificates(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"format": "relu-net/1"}')
    with pytest.raises(CertificateError, match="not a certificate"):
        load_certificate(p)
