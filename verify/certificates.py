"""Re-checkable certificates for PROVED and REFUTED results.

A certificate is one self-contained JSON file (format ``verify-certificate/1``) holding everything needed
to check a verdict again without trusting the run that produced it:

- the network itself (its ``relu-net/1`` or ``relu-graph/1`` mapping) and its SHA-256
  (:func:`verify.io.json_format.network_hash` of that embedded network);
- the domain (a box or all of R^d);
- the claim: for ``exact``, PROVED (``N == max`` everywhere on the domain) or REFUTED with a counterexample
  and both exact values; for ``error``, the exact suprema ``sup (N - max)`` and ``sup (max - N)`` with
  their witnesses;
- the solver queries as SMT-LIB2 text (QF_LRA with ``ite``), each with its expected answer: ``unsat`` for
  "no point violates the claim", ``sat`` for "a violating point exists".

:func:`recheck` checks it independently of the query code: the hash matches the embedded network; the
stored SMT-LIB text is exactly what the printer below makes from the embedded network (so the queries are
about this network and this claim); exact rational evaluation at every witness reproduces the stored
values; a fresh z3 context parses each stored SMT-LIB text (``z3.parse_smt2_string``) and gives the
expected answer. The printer encodes the network directly from the IR (every ReLU as an ``ite``, no
interval simplification), so it does not share code with :class:`verify.backends.z3_backend.Z3Lowering`:
a recheck is a second, plainer encoding of the same question.

The SMT-LIB printer here is deliberately minimal (one place, only what certificates need); a full
SMT-LIB / VNN-LIB export belongs to :mod:`verify.io`.

References
----------
Barrett, Fontaine, Tinelli, "The SMT-LIB Standard: Version 2.6" (2017): the QF_LRA logic and the
``ite``, ``distinct`` and arithmetic symbols used here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

from .analysis.results import ErrorResult, ExactnessResult, Status
from .backends.evaluator import evaluate
from .domain import Box, RealSpace, domain_from_json
from .errors import VerifyError
from .io.files import atomic_write_text
from .io.json_format import network_from_mapping, network_hash, network_to_mapping
from .io.reading import load_json, show
from .ir.graph import Network
from .ir.ops import Op
from .ir.walk import Handlers, walk
from .numbers import parse_rational, smt_number, to_text

__all__ = [
    "CERTIFICATE_FORMAT",
    "CertificateError",
    "RecheckResult",
    "canonical_network",
    "smtlib_query",
    "exactness_certificate",
    "error_certificate",
    "certificate_for",
    "save_certificate",
    "load_certificate",
    "recheck",
]

CERTIFICATE_FORMAT = "verify-certificate/1"
# Certificate kinds with their own checkers: format -> (module, function(cert, timeout=...)).
OTHER_KINDS = {
    "verify-arrangement/1": (".analysis.arrangement_check", "recheck_arrangement"),
    "verify-search/1": (".analysis.search_check", "recheck_search"),
    "verify-engine-tree/1": (".engine.certificate_check", "recheck_engine_certificate"),
}


class CertificateError(VerifyError, ValueError):
    """A certificate file is malformed (not: a well-formed certificate whose claim fails)."""


# -- the SMT-LIB2 printer ---------------------------------------------------------------------------
def _sum(terms: Sequence[str]) -> str:
    if not terms:
        return "0.0"
    return terms[0] if len(terms) == 1 else "(+ " + " ".join(terms) + ")"


class _Lines:
    """What the walk carries: the prefix, node positions, declarations and defining assertions."""

    def __init__(self, net: Network, prefix: str):
        self.prefix = prefix
        self.position = {n: k for k, n in enumerate(net.order)}
        self.decls: list[str] = []
        self.defs: list[str] = []

    def declare(self, node) -> str:
        v = f"{self.prefix}{self.position[node]}"
        self.decls.append(f"(declare-fun {v} () Real)")
        return v


def _cert_input(cl: _Lines, net, node, name):
    return f"x{net.graph.nodes[node]['index']}"


def _cert_affine(cl: _Lines, net, node, name):
    v = cl.declare(node)
    terms = [name[p] if w == 1 else f"(* {smt_number(w)} {name[p]})" for p, w in net.affine_terms(node)]
    if net.bias(node) != 0 or not terms:
        terms.append(smt_number(net.bias(node)))
    cl.defs.append(f"(assert (= {v} {_sum(terms)}))")
    return v


def _cert_relu(cl: _Lines, net, node, name):
    v = cl.declare(node)
    p = name[net.single_pred(node)]
    cl.defs.append(f"(assert (= {v} (ite (> {p} 0.0) {p} 0.0)))")
    return v


def _cert_max(cl: _Lines, net, node, name):
    v = cl.declare(node)
    ps = [name[p] for p in net.preds(node)]
    cl.defs.extend(f"(assert (>= {v} {p}))" for p in ps)
    cl.defs.append(f"(assert (or {' '.join(f'(= {v} {p})' for p in ps)}))" if len(ps) > 1 else f"(assert (= {v} {ps[0]}))")
    return v


def _cert_output(cl: _Lines, net, node, name):
    return name[net.single_pred(node)]


CERTIFICATE_LINES = Handlers("certificates.smtlib", {Op.INPUT: _cert_input, Op.AFFINE: _cert_affine,
                                                     Op.RELU: _cert_relu, Op.MAX: _cert_max,
                                                     Op.OUTPUT: _cert_output})


def _network_lines(net: Network, prefix: str) -> tuple[list[str], list[str], list[str]]:
    """Declarations, defining assertions and output terms of ``net`` over the inputs ``x0 .. x{d-1}``.

    One real variable per affine, ReLU and max node (named ``{prefix}{k}``, ``k`` its position in the
    network's topological order); outputs are the terms of their predecessors.
    """
    cl = _Lines(net, prefix)
    name = walk(net, CERTIFICATE_LINES, cl)
    return cl.decls, cl.defs, [name[o] for o in net.outputs]


def smtlib_query(net: Network, domain: Box | RealSpace, goal: str, output: int | None = None,
                 threshold: Fraction | None = None, comment: str = "") -> str:
    """SMT-LIB2 text of one certificate query about ``net`` against max over its windows on ``domain``.

    ``goal`` is one of

    - ``"differs"``: some output differs from the max of its window (``output`` given: that output only);
    - ``"over"``: some output exceeds the max of its window by more than ``threshold``;
    - ``"under"``: the max of some window exceeds its output by more than ``threshold``.

    The answer ``unsat`` proves the claim "no such point"; ``sat`` states that one exists.
    """
    if net.windows is None:
        raise VerifyError("the network has several outputs but no 'windows': its max reference is unknown")
    lines = [f"; {comment}" if comment else "; verify certificate query", "(set-logic QF_LRA)"]
    lines += [f"(declare-fun x{i} () Real)" for i in range(net.n_inputs)]
    if isinstance(domain, Box):
        for i, (lo, hi) in enumerate(zip(domain.lo, domain.hi)):
            lines.append(f"(assert (<= {smt_number(lo)} x{i}))")
            lines.append(f"(assert (<= x{i} {smt_number(hi)}))")
    decls, defs, outs = _network_lines(net, "n")
    lines += decls + defs
    refs = []
    for o, window in enumerate(net.windows):
        r = f"ref{o}"
        lines.append(f"(declare-fun {r} () Real)")
        lines.extend(f"(assert (>= {r} x{i}))" for i in window)
        lines.append(f"(assert (or {' '.join(f'(= {r} x{i})' for i in window)}))" if len(window) > 1 else f"(assert (= {r} x{window[0]}))")
        refs.append(r)
    chosen = range(net.n_outputs) if output is None else [output]
    if goal == "differs":
        parts = [f"(not (= {outs[o]} {refs[o]}))" for o in chosen]
    elif goal in ("over", "under"):
        t = smt_number(threshold)
        parts = [f"(> (- {outs[o]} {refs[o]}) {t})" if goal == "over" else f"(> (- {refs[o]} {outs[o]}) {t})" for o in chosen]
    else:
        raise VerifyError(f"unknown certificate goal {goal!r}")
    lines.append(f"(assert {parts[0]})" if len(parts) == 1 else f"(assert (or {' '.join(parts)}))")
    lines.append("(check-sat)")
    lines.append("(exit)")
    return "\n".join(lines) + "\n"


# -- making certificates ----------------------------------------------------------------------------
def canonical_network(net: Network) -> Network:
    """The network as it reads back from its own JSON mapping (a fixed point of write-then-read).

    Writing collapses affine chains, so the first round trip may renumber nodes; certificates embed and
    hash this canonical form so that a re-read certificate reproduces its hash and queries exactly.
    """
    for _ in range(4):
        again = network_from_mapping(json.loads(json.dumps(network_to_mapping(net))))
        if network_hash(again) == network_hash(net):
            return again
        net = again
    raise VerifyError("the network's JSON form does not reach a fixed point")  # pragma: no cover


def _pt(x) -> list[str]:
    return [to_text(v) for v in x]


def _header(net: Network, query: str, status: Status, domain) -> dict:
    from . import __version__

    return {
        "format": CERTIFICATE_FORMAT,
        "query": query,
        "status": status.value,
        "network_sha256": network_hash(net),
        "network": network_to_mapping(net),
        "domain": domain.to_json(),
        "made_by": f"verify {__version__}",
    }


def _queries(net: Network, domain, claim: dict, query: str, status: str) -> list[dict]:
    """The SMT-LIB queries of a claim, each with the answer that confirms it."""
    if query == "exact" and status == "PROVED":
        return [{"name": "no point of the domain where an output differs from its max", "expect": "unsat",
                 "smtlib": smtlib_query(net, domain, "differs", comment="exact: PROVED iff unsat")}]
    if query == "exact" and status == "REFUTED":
        o = claim["output_index"]
        return [{"name": f"some point of the domain where output {o} differs from its max", "expect": "sat",
                 "smtlib": smtlib_query(net, domain, "differs", output=o, comment="exact: REFUTED iff sat")}]
    if query == "error":
        out = []
        for side, label in (("over", "N - max"), ("under", "max - N")):
            s = parse_rational(claim[f"sup_{side}"])
            out.append({"name": f"no point of the box where {label} exceeds sup_{side} = {to_text(s)}",
                        "expect": "unsat",
                        "smtlib": smtlib_query(net, domain, side, threshold=s,
                                               comment=f"error: sup({label}) <= {to_text(s)} iff unsat")})
        return out
    raise CertificateError(f"no certificate for a {query} query with status {status}")


def exactness_certificate(net: Network, result: ExactnessResult) -> dict:
    """A certificate of a PROVED or REFUTED exactness result (``N == max`` on ``result.domain``)."""
    if result.status is Status.UNKNOWN:
        raise VerifyError("an UNKNOWN result has no certificate")
    if result.query != "exact":
        raise VerifyError(f"only exactness against max is certified, not {result.query!r}")
    net = canonical_network(net)
    cert = _header(net, "exact", result.status, result.domain)
    claim: dict = {}
    if result.status is Status.REFUTED:
        claim = {"counterexample": _pt(result.counterexample), "output_index": result.output_index,
                 "network_value": to_text(result.network_value), "reference_value": to_text(result.reference_value)}
    cert["claim"] = claim
    cert["queries"] = _queries(net, result.domain, claim, "exact", result.status.value)
    return cert


def error_certificate(net: Network, result: ErrorResult) -> dict:
    """A certificate of a PROVED worst-case error result (both suprema, attained at their witnesses)."""
    if result.status is not Status.PROVED:
        raise VerifyError("only a PROVED worst-case error has a certificate (an UNKNOWN one has only bounds)")
    net = canonical_network(net)
    cert = _header(net, "error", result.status, result.domain)
    claim = {"sup_over": to_text(result.sup_over), "witness_over": _pt(result.witness_over),
             "output_over": result.output_over, "sup_under": to_text(result.sup_under),
             "witness_under": _pt(result.witness_under), "output_under": result.output_under,
             "sup_abs": to_text(result.sup_abs)}
    cert["claim"] = claim
    cert["queries"] = _queries(net, result.domain, claim, "error", "PROVED")
    return cert


def certificate_for(net: Network, result) -> dict:
    """The certificate of an :class:`ExactnessResult` or :class:`ErrorResult`."""
    proof = getattr(result, "proof", None)
    if proof is not None:  # a route with its own certificate kind (the arrangement route, the engine's trees)
        return proof.certificate(net, result)
    if isinstance(result, ErrorResult):
        return error_certificate(net, result)
    return exactness_certificate(net, result)


def save_certificate(cert: dict, path: str | os.PathLike) -> None:
    """Write a certificate atomically (no partial file if writing fails)."""
    atomic_write_text(path, json.dumps(cert, indent=1, sort_keys=False) + "\n")


def load_certificate(path: str | os.PathLike) -> dict:
    """Read a certificate file (JSON numbers are read exactly); malformed files raise :class:`CertificateError`."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise CertificateError(f"{source}: cannot read file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CertificateError(f"{source}: not UTF-8 text") from None
    try:
        data = load_json(text, source)
    except VerifyError as exc:
        raise CertificateError(str(exc)) from None
    if not isinstance(data, dict) or data.get("format") not in (CERTIFICATE_FORMAT,) + tuple(OTHER_KINDS):
        got = show(data.get("format")) if isinstance(data, dict) else show(data)
        raise CertificateError(f"{source}: not a certificate (format {got}, expected {CERTIFICATE_FORMAT!r})")
    return data


# -- rechecking -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecheckResult:
    """Outcome of :func:`recheck`: ``holds`` is True, False, or None (a solver gave no answer)."""

    holds: bool | None
    reason: str
    checks: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {True: 0, False: 1, None: 3}[self.holds]

    def to_json(self) -> dict[str, Any]:
        return {"holds": self.holds, "reason": self.reason, "checks": self.checks}


class _Fails(Exception):
    pass


def _field(data: dict, key: str, kind, where: str = "certificate"):
    if key not in data:
        raise CertificateError(f"{where}: missing {key!r}")
    value = data[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise CertificateError(f"{where}: {key!r} must be an integer")
    if kind is not int and not isinstance(value, kind):
        raise CertificateError(f"{where}: {key!r} has the wrong type")
    return value


def _rational(data: dict, key: str) -> Fraction:
    try:
        return parse_rational(_field(data, key, (str, int, Fraction), "claim"))
    except ValueError as exc:
        raise CertificateError(f"claim: {key!r}: {exc}") from None


def _point(data: dict, key: str, dim: int) -> tuple[Fraction, ...]:
    raw = _field(data, key, list, "claim")
    if len(raw) != dim:
        raise CertificateError(f"claim: {key!r} has {len(raw)} coordinates, the network has {dim} inputs")
    try:
        return tuple(parse_rational(v) for v in raw)
    except ValueError as exc:
        raise CertificateError(f"claim: {key!r}: {exc}") from None


def _solve(text: str, deadline) -> str:
    """Answer of a fresh z3 context on an SMT-LIB2 text: ``"sat"``, ``"unsat"`` or ``"unknown"``
    (``deadline``: a :class:`~verify.deadline.Deadline`, or seconds, or None for no limit)."""
    from .backends.z3_backend import z3
    from .backends.z3_session import Z3Session
    from .deadline import Deadline

    if not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    if deadline.expired():
        return "unknown"
    session = Z3Session(deadline)
    try:
        assertions = session.parse_smtlib(text)
    except z3.Z3Exception as exc:
        raise CertificateError(f"stored SMT-LIB does not parse: {exc}") from None
    solver = session.solver()
    solver.add(assertions)
    answer = solver.check(point_of=())
    return "unsat" if answer.unsat else ("sat" if answer.sat else "unknown")


def _sample_points(domain) -> list[tuple[Fraction, ...]]:
    """A few fixed points of the domain (centre and two corners, or small integer points of R^d)."""
    if isinstance(domain, Box):
        return [domain.center(), domain.lo, domain.hi]
    d = domain.dim
    return [tuple(Fraction(0) for _ in range(d)), tuple(Fraction(i % 3 - 1) for i in range(d)),
            tuple(Fraction(1, i + 2) for i in range(d))]


def recheck(cert: dict, *, timeout: float | None = None) -> RecheckResult:
    """Check a certificate independently of the query that made it.

    Raises :class:`CertificateError` for a malformed certificate; returns a :class:`RecheckResult` whose
    ``holds`` is False with the first failed check as ``reason`` when the claim does not hold.
    ``timeout`` is the budget of the whole recheck (one deadline shared by its solver queries); when
    it runs out, ``holds`` is None.
    """
    from .deadline import Deadline

    other = OTHER_KINDS.get(cert.get("format")) if isinstance(cert, dict) else None
    if other is not None:
        import importlib

        module, name = other
        return getattr(importlib.import_module(module, __package__), name)(cert, timeout=timeout)
    checks: list[str] = []
    try:
        _recheck(cert, Deadline(timeout), checks)
    except _Fails as exc:
        return RecheckResult(False, str(exc), checks)
    except _Unknown as exc:
        return RecheckResult(None, str(exc), checks)
    return RecheckResult(True, f"{len(checks)} checks passed", checks)


class _Unknown(Exception):
    pass


def _recheck(cert: dict, deadline, checks: list[str]) -> None:
    if not isinstance(cert, dict) or cert.get("format") != CERTIFICATE_FORMAT:
        raise CertificateError(f"not a certificate (expected format {CERTIFICATE_FORMAT!r})")
    query = _field(cert, "query", str)
    status = _field(cert, "status", str)
    if (query, status) not in (("exact", "PROVED"), ("exact", "REFUTED"), ("error", "PROVED")):
        raise CertificateError(f"no certificate kind for query {query!r} with status {status!r}")
    try:
        net = network_from_mapping(_field(cert, "network", dict), source="embedded network")
    except VerifyError as exc:
        raise CertificateError(str(exc)) from None
    domain = domain_from_json(_field(cert, "domain", dict))
    if domain.dim != net.n_inputs:
        raise CertificateError(f"domain has dimension {domain.dim}, the network has {net.n_inputs} inputs")
    if query == "error" and not isinstance(domain, Box):
        raise CertificateError("an error certificate needs a box domain")
    claim = _field(cert, "claim", dict)
    stored = _field(cert, "queries", list)

    # 1. The hash names the embedded network.
    h = network_hash(net)
    if h != cert.get("network_sha256"):
        raise _Fails(f"network hash mismatch: the embedded network hashes to {h[:16]}..., "
                     f"the certificate says {str(cert.get('network_sha256'))[:16]}...")
    checks.append("network hash matches the embedded network")
    if net.windows is None:
        raise CertificateError("the embedded network has several outputs and no windows")

    # 2. Exact evaluation at the witnesses reproduces the claimed values.
    if query == "exact" and status == "REFUTED":
        x = _point(claim, "counterexample", net.n_inputs)
        o = _field(claim, "output_index", int, "claim")
        if not 0 <= o < net.n_outputs:
            raise CertificateError(f"claim: output_index {o} out of range")
        if not domain.contains(x):
            raise _Fails("the counterexample lies outside the domain")
        nv, rv = evaluate(net, x)[o], max(x[i] for i in net.windows[o])
        if nv != _rational(claim, "network_value") or rv != _rational(claim, "reference_value"):
            raise _Fails(f"exact evaluation at the counterexample gives network {to_text(nv)} and max {to_text(rv)}, "
                         f"not the stored {claim.get('network_value')} and {claim.get('reference_value')}")
        if nv == rv:
            raise _Fails("the counterexample is not one: the network equals the max there")
        checks.append("exact evaluation reproduces the counterexample")
    elif query == "exact":
        for x in _sample_points(domain):
            y = evaluate(net, x)
            for o, w in enumerate(net.windows):
                if y[o] != max(x[i] for i in w):
                    raise _Fails(f"PROVED is false: output {o} differs from its max at ({', '.join(_pt(x))})")
        checks.append("exact evaluation agrees with max at fixed sample points")
    else:
        for side in ("over", "under"):
            s = _rational(claim, f"sup_{side}")
            x = _point(claim, f"witness_{side}", net.n_inputs)
            o = _field(claim, f"output_{side}", int, "claim")
            if not 0 <= o < net.n_outputs:
                raise CertificateError(f"claim: output_{side} {o} out of range")
            if not domain.contains(x):
                raise _Fails(f"witness_{side} lies outside the box")
            y, r = evaluate(net, x)[o], max(x[i] for i in net.windows[o])
            v = y - r if side == "over" else r - y
            if v != s:
                raise _Fails(f"exact evaluation at witness_{side} gives {to_text(v)}, not the stored sup_{side} {to_text(s)}")
            checks.append(f"sup_{side} = {to_text(s)} is attained at its witness (exact evaluation)")
        if _rational(claim, "sup_abs") != max(_rational(claim, "sup_over"), _rational(claim, "sup_under")):
            raise _Fails("sup_abs is not the larger of sup_over and sup_under")

    # 3. The stored SMT-LIB queries are those of this network and claim, and a fresh solver confirms them.
    expected = _queries(net, domain, claim, query, status)
    if len(stored) != len(expected):
        raise _Fails(f"the certificate has {len(stored)} solver queries, expected {len(expected)}")
    for k, (s, e) in enumerate(zip(stored, expected), start=1):
        if not isinstance(s, dict):
            raise CertificateError(f"query {k}: must be an object")
        text = _field(s, "smtlib", str, f"query {k}")
        want = _field(s, "expect", str, f"query {k}")
        if want != e["expect"]:
            raise _Fails(f"query {k} expects {want!r}, but this claim needs {e['expect']!r}")
        if text != e["smtlib"]:
            raise _Fails(f"query {k}: the stored SMT-LIB is not the query of the embedded network and claim")
        answer = _solve(text, deadline)
        if answer == "unknown":
            raise _Unknown(f"query {k}: the solver gave no answer (timeout or unknown), so the claim is not rechecked")
        if answer != want:
            raise _Fails(f"query {k} ({e['name']}): a fresh solver says {answer}, the certificate needs {want}")
        checks.append(f"query {k}: fresh z3 on the stored SMT-LIB says {answer} ({e['name']})")
