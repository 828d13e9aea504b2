"""The emulation of max nodes by ReLU gadget trees is exact: a rewrite lemma, decided once per arity.

:func:`verify.constructions.emulate.emulate_max` replaces each ``max`` node of a network by a tree of a
pairwise ReLU gadget; :func:`check_emulation` proves the result equal to the network on all of R^d
without one big query.

References
----------
R. Arora, A. Basu, P. Mianjy, A. Mukherjee, ICLR 2018 (arXiv:1611.01491): the pairwise tree computes
the max of its arguments exactly.
"""

from __future__ import annotations

from ..constructions.gadgets import check_gadget
from ..constructions.max_trees import max_tree
from ..deadline import Deadline
from ..domain import RealSpace
from ..status import Status
from .exactness import check_exact
from .results import ExactnessResult

__all__ = ["check_emulation"]


def check_emulation(net, gadget: str = "A", *, timeout: float | None = None):
    """Prove ``emulate_max(net, gadget) == net`` on all of R^d by a rewrite lemma, without one big query.

    :func:`~verify.constructions.emulate.emulate_max` replaces each ``max`` node over arguments
    ``a_1..a_k`` by ``tree_max_expr`` of the same arguments; the tree is a fixed composition of its arguments, so it equals ``max(a_1..a_k)`` for
    all arguments iff the tree on fresh inputs, :func:`max_tree` ``(k, gadget)``, equals max on all of
    R^k. That lemma is decided by :func:`verify.analysis.check_exact` once per arity k occurring in the
    network. A whole-network :func:`check_equivalent` gives the same verdict but can take minutes on an
    imported CNN (see docs); this takes milliseconds.

    Returns an :class:`~verify.analysis.results.ExactnessResult` over ``RealSpace(d)`` (query "emulation").
    """
    check_gadget(gadget)
    deadline = Deadline(timeout)
    arities = sorted({len(net.preds(n)) for n in net.max_nodes if len(net.preds(n)) > 1})
    for k in arities:
        r = check_exact(max_tree(k, gadget), timeout=deadline.remaining())
        if r.status is not Status.PROVED:
            return ExactnessResult(r.status, RealSpace(net.n_inputs), deadline.elapsed(), query="emulation",
                                   reason=f"the gadget-{gadget} tree of arity {k} is not proved exact: {r.reason}")
    return ExactnessResult(Status.PROVED, RealSpace(net.n_inputs), deadline.elapsed(), query="emulation",
                           reason=f"max trees of gadget {gadget} proved exact on R^k for k in {arities or '[]'}")
