"""The checker of ``verify-engine-tree/1`` certificates (:mod:`verify.engine.certificate` says what they
hold and what the check trusts): witnesses re-evaluated exactly, the sub-problems of every side rebuilt
from the network and the query, every one covered by a tree that :func:`verify.engine.recheck.recheck_tree`
re-checks in Fractions.
"""

from __future__ import annotations

from fractions import Fraction

from ..domain import RealSpace
from .certificate import freeze, record_from_json

__all__ = ["recheck_engine_certificate"]


class _Fails(Exception):
    pass


def recheck_engine_certificate(cert: dict, *, timeout: float | None = None):
    """Re-check a ``verify-engine-tree/1`` certificate; returns :class:`verify.certificates.RecheckResult`."""
    from ..certificates import CertificateError, RecheckResult
    from .recheck import RecheckError

    checks: list[str] = []
    try:
        _recheck(cert, checks)
    except _Fails as exc:
        return RecheckResult(False, str(exc), checks)
    except RecheckError as exc:
        return RecheckResult(False, f"a tree does not prove its bound: {exc}", checks)
    except CertificateError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise CertificateError(f"malformed engine certificate ({exc.__class__.__name__}: {exc})") from None
    return RecheckResult(True, f"{len(checks)} checks passed", checks)


def _recheck(cert: dict, checks: list) -> None:
    from ..backends.evaluator import evaluate
    from ..constructions.reference import reference_network
    from ..domain import domain_from_json
    from ..io.json_format import network_from_mapping, network_hash
    from ..numbers import parse_rational
    from ..reductions.homogeneous import homogeneous_box
    from .problem import Problem, prepare_network
    from .queries import subproblems
    from .recheck import recheck_tree

    net = network_from_mapping(cert["network"], "certificate")
    if network_hash(net) != cert["network_sha256"]:
        raise _Fails("the network does not match its SHA-256")
    checks.append("network hash")
    ref = reference_network(net)
    domain = domain_from_json(cert["domain"])
    if domain.dim != net.n_inputs:
        raise _Fails(f"the domain has dimension {domain.dim}, the network {net.n_inputs} inputs")
    query = cert["query"]
    if query not in ("error", "exact"):
        raise _Fails(f"unknown query {query!r}")
    if isinstance(domain, RealSpace):
        if query != "exact":
            raise _Fails("a worst-case error needs a box")
        box, why = homogeneous_box(net, ref, domain)
        if box is None:
            raise _Fails(f"the homogeneous reduction does not apply: {why}")
        checks.append("bias-free: R^d reduced to [-1, 1]^d")
    else:
        box = domain
    claim = cert["claim"]
    targets = {"over": parse_rational(claim["sup_over"]), "under": parse_rational(claim["sup_under"])}
    if query == "exact" and any(t != 0 for t in targets.values()):
        raise _Fails("an exactness claim bounds both sides by 0")
    if query == "error":
        for side, sign in (("over", 1), ("under", -1)):
            x = tuple(parse_rational(v) for v in claim[f"witness_{side}"])
            o = int(claim[f"output_{side}"])
            if not box.contains(x):
                raise _Fails(f"witness_{side} is outside the box")
            value = sign * (evaluate(net, x)[o] - evaluate(ref, x)[o])
            if value != targets[side]:
                raise _Fails(f"witness_{side} gives {value}, not sup_{side} = {targets[side]}")
            checks.append(f"sup_{side} attained at its witness")
    for side, (f, g) in (("over", (net, ref)), ("under", (ref, net))):
        data = cert["sides"][side]
        reference = data["reference"]
        trees = {(int(t["output"]), int(t["subproblem"])): t["tree"] for t in data["trees"]}
        for o in range(net.n_outputs):
            for k, part in enumerate(subproblems(f, g, o, box, reference)):
                sub, sub_box, cons = part.network, part.box, part.constraints
                if (o, k) not in trees:
                    raise _Fails(f"{side} side: no tree for sub-problem {k} of output {o}")
                record = record_from_json(trees[(o, k)])
                prep = prepare_network(sub)
                prob = Problem(prep, sub_box, cons)
                if freeze(record.domain) != freeze(prob.domspec):
                    raise _Fails(f"{side} side, output {o}, sub-problem {k}: the tree is for another region")
                if tuple(map(Fraction, record.box_lo)) != tuple(sub_box.lo) or \
                        tuple(map(Fraction, record.box_hi)) != tuple(sub_box.hi):
                    raise _Fails(f"{side} side, output {o}, sub-problem {k}: the tree is for another box")
                stats = recheck_tree(prep, record, targets[side])
                checks.append(f"{side} side, output {o}, sub-problem {k}: {stats['nodes']} nodes, "
                              f"{stats['leaves']} leaves closed exactly at <= {targets[side]}")
