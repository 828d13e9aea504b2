"""Certificates of the engine's PROVED answers: the closed branch-and-bound trees (issue 13, item 4).

A PROVED worst-case error (``verify error NET --box LO,HI --certificate F``) or exactness on a box or on
R^d (``verify exact``) that the engine decided carries, when asked, the tree of every maximisation it
ran. The certificate ``verify-engine-tree/1`` holds the network, the query and its claim, and the trees;
``verify recheck F`` then (:mod:`verify.engine.certificate_check`)

1. re-evaluates each witness with the exact evaluator (a supremum is attained where the claim says);
2. rebuilds, from the network and the query alone, the sub-problems whose suprema make up each side
   (the argmax cones of a max reference, or the difference network: :func:`~verify.engine.queries.
   subproblems`), and for every one of them requires a tree whose root region is that sub-problem's;
3. re-checks every tree with :func:`verify.engine.recheck.recheck_tree`, in Fractions and with code of
   its own (no float bound of the search is trusted): each tree shows ``sub-problem <= claimed value``.

Trusted: the exact evaluator, the sub-problem construction (exact rewrites of the network: a difference
network, an affine objective ``f_o - x_i`` or the lifted ``f_o - t`` with ``x_j <= t``, and the max-to-ReLU
lowering of :func:`~verify.engine.problem.prepare_network`), and the recheck. On R^d the homogeneous
reduction (bias-free networks, the box [-1, 1]^d) is re-derived as well.

Trees are stored losslessly: floats as JSON numbers (Python's shortest repr round-trips exactly),
fractions as ``{"q": "p/q"}``, tuples as ``{"t": [...]}``, mappings with non-string keys as
``{"m": [[key, value], ...]}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..domain import Box, RealSpace
from ..ir.graph import Network
from ..status import Status

__all__ = ["FORMAT", "SideTrees", "EngineProof", "engine_certificate", "record_to_json", "record_from_json",
           "freeze"]

FORMAT = "verify-engine-tree/1"


@dataclass(frozen=True)
class SideTrees:
    """The trees of one side ``sup (f - g)``: ``trees[(output, k)]`` for sub-problem ``k`` of output ``output``
    (in the order of :func:`verify.engine.queries.subproblems`), and the reference handling used."""

    trees: dict
    reference: str


@dataclass(frozen=True)
class EngineProof:
    """What a PROVED engine answer rests on: the trees of the ``over`` side (``sup (N - ref)``) and of the
    ``under`` side (``sup (ref - N)``), for the query ``"error"`` or ``"exact"``."""

    query: str
    over: SideTrees
    under: SideTrees

    def certificate(self, net: Network, result) -> dict:
        return engine_certificate(net, result, self)


# -- lossless encoding of the trees ---------------------------------------------------------------------
def _enc(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, (str, int)):
        return v
    if isinstance(v, Fraction):
        return {"q": f"{v.numerator}/{v.denominator}"}
    if isinstance(v, float):
        return float(v)  # numpy float64 too; repr round-trips exactly
    if isinstance(v, tuple):
        return {"t": [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) and k not in ("q", "t", "m") for k in v):
            return {k: _enc(x) for k, x in v.items()}
        return {"m": [[_enc(k), _enc(x)] for k, x in v.items()]}
    if hasattr(v, "tolist"):  # a numpy scalar or array
        return _enc(v.tolist())
    raise TypeError(f"cannot store {type(v).__name__} in a tree certificate")


def _dec(v: Any) -> Any:
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"q"}:
            return Fraction(v["q"])
        if set(v) == {"t"}:
            return tuple(_dec(x) for x in v["t"])
        if set(v) == {"m"}:
            return {freeze(_dec(k)): _dec(x) for k, x in v["m"]}
        return {k: _dec(x) for k, x in v.items()}
    return v


def freeze(k):
    return tuple(freeze(x) for x in k) if isinstance(k, (list, tuple)) else k


def record_to_json(rec) -> dict:
    return {"root": rec.root, "domain": _enc(rec.domain), "box_lo": _enc(rec.box_lo), "box_hi": _enc(rec.box_hi),
            "nodes": _enc(rec.nodes)}


def record_from_json(data: dict):
    from .search import TreeRecord

    return TreeRecord(int(data["root"]), _dec(data["domain"]), _dec(data["box_lo"]), _dec(data["box_hi"]),
                      _dec(data["nodes"]))


# -- writing ----------------------------------------------------------------------------------------------
def engine_certificate(net: Network, result, proof: EngineProof) -> dict:
    """The ``verify-engine-tree/1`` certificate of a PROVED ``ErrorResult`` or ``ExactnessResult``."""
    from .. import __version__
    from ..errors import VerifyError
    from ..io.json_format import network_hash, network_to_mapping
    from ..numbers import to_text

    if result.status is not Status.PROVED:
        raise VerifyError("only a PROVED engine answer has a tree certificate")
    cert = {"format": FORMAT, "query": proof.query, "status": "PROVED", "network_sha256": network_hash(net),
            "network": network_to_mapping(net), "domain": result.domain.to_json(), "made_by": f"verify {__version__}"}
    if proof.query == "error":
        cert["claim"] = {"sup_over": to_text(result.sup_over), "witness_over": [to_text(v) for v in result.witness_over],
                         "output_over": result.output_over, "sup_under": to_text(result.sup_under),
                         "witness_under": [to_text(v) for v in result.witness_under],
                         "output_under": result.output_under}
    else:
        cert["claim"] = {"sup_over": "0", "sup_under": "0"}
    cert["sides"] = {side: {"reference": st.reference,
                            "trees": [{"output": o, "subproblem": k, "tree": record_to_json(rec)}
                                      for (o, k), rec in sorted(st.trees.items())]}
                     for side, st in (("over", proof.over), ("under", proof.under))}
    return cert
