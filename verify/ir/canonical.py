"""Canonical forms of sub-networks: equal ids mean the same function structure, exactly.

:class:`Canon` gives every node of a network an integer id by hash-consing (each distinct canonical key
is interned once in a table shared between networks, so equal ids are equal keys: no hash collisions,
no floats). Keys are built bottom-up from what a node computes, not from its name:

- an input is ``("x", label)``: its index by default, or any label the caller chooses (a position in a
  pooling window, so that two windows reading different pixels get the same ids);
- affine nodes are expanded into exact linear forms over *units* (inputs, ReLUs, max nodes, leaves):
  ``("aff", ((unit id, weight), ...), bias)`` with the terms sorted, and a form that is one unit with
  weight 1 and bias 0 has that unit's id (copies vanish). Chains of affine nodes are multiplied out, so a
  model imported with each linear layer as a node and the same model with the layers multiplied out get
  the same ids;
- ``("relu", id of the pre-activation)``; ``("max", sorted distinct ids of the arguments)`` (max is
  symmetric and idempotent);
- ``leaves`` (a mapping node -> label) turn chosen nodes into opaque units ``("leaf", label)``: a
  replaced sub-network's output, a pooling node, ...

Two nodes with the same id compute the same function of their units' labels (the keys describe the
computation completely), which is what decomposition (:mod:`verify.analysis.decompose`) and the
matching of pooling layers (:mod:`verify.analysis.pool_replacement`) rely on. The converse does not
hold (``relu(2z)`` and ``2 relu(z)`` get different ids): only identical structure is merged, which is sound.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Mapping

from .graph import Network
from .ops import Op
from .walk import Handlers

__all__ = ["Canon"]

_ONE = Fraction(1)
_ZERO = Fraction(0)


class Canon:
    """A shared table of canonical keys; :meth:`ids` labels the nodes of one network.

    Examples
    --------
    Two copies of max(x0, x1) built separately, one reading inputs (2, 3), get the same output id when
    their inputs are labelled by window position:

    >>> from verify.constructions import max_tree
    >>> c = Canon()
    >>> a = c.ids(max_tree(2, "B"))
    >>> b = c.ids(max_tree(2, "B"))
    >>> net = max_tree(2, "B")
    >>> a[net.outputs[0]] == b[net.outputs[0]]
    True
    """

    def __init__(self):
        self.table: dict = {}
        self.keys: list = []

    def intern(self, key) -> int:
        k = self.table.get(key)
        if k is None:
            k = self.table[key] = len(self.keys)
            self.keys.append(key)
        return k

    def ids(self, net: Network, *, input_label: Callable[[int], object] | None = None,
            leaves: Mapping | None = None, nodes=None) -> dict:
        """``node -> canonical id`` for ``nodes`` (default: every node of ``net``) and their ancestors.

        ``input_label(index)`` labels input ``index`` (default: the index itself); ``leaves`` maps nodes
        to labels of opaque units. ``nodes`` limits the work to the ancestors of the given nodes.
        """
        leaves = leaves or {}
        label = input_label or (lambda i: i)
        order = net.order
        if nodes is not None:
            import networkx as nx

            want = set(nodes)
            for n in list(want):
                want |= nx.ancestors(net.graph, n)
            order = [n for n in order if n in want]
        ctx = _Ids(self, label)
        ids: dict = {}
        op_of = net.op
        for n in order:
            if n in leaves:
                ids[n] = self.intern(("leaf", leaves[n]))
                continue
            ids[n] = CANON_IDS[op_of(n)](ctx, net, n, ids)
        return ids

    def form(self, node_id: int):
        """The linear form ``(((unit id, weight), ...), bias)`` of an affine id, or ``None`` for a unit."""
        key = self.keys[node_id]
        return (key[1], key[2]) if key[0] == "aff" else None


class _Ids:
    """What the labelling walk carries: the shared table, the input labels, affine nodes' linear forms."""

    def __init__(self, canon: Canon, label: Callable):
        self.canon, self.label = canon, label
        self.forms: dict = {}  # affine node -> (dict unit id -> weight, bias)


def _id_input(ctx: _Ids, net, n, ids):
    return ctx.canon.intern(("x", ctx.label(net.graph.nodes[n]["index"])))


def _id_affine(ctx: _Ids, net, n, ids):
    coef: dict = {}
    bias = net.bias(n)
    for p, w in net.affine_terms(n):
        if p in ctx.forms:
            pc, pb = ctx.forms[p]
            bias += w * pb
            for u, c in pc.items():
                coef[u] = coef.get(u, _ZERO) + w * c
        else:
            coef[ids[p]] = coef.get(ids[p], _ZERO) + w
    coef = {u: c for u, c in coef.items() if c != 0}
    if len(coef) == 1 and bias == 0 and next(iter(coef.values())) == _ONE:
        return next(iter(coef))  # a copy of one unit is that unit
    ctx.forms[n] = (coef, bias)
    return ctx.canon.intern(("aff", tuple(sorted(coef.items())), bias))


def _id_relu(ctx: _Ids, net, n, ids):
    return ctx.canon.intern(("relu", ids[net.single_pred(n)]))


def _id_max(ctx: _Ids, net, n, ids):
    return ctx.canon.intern(("max", tuple(sorted({ids[p] for p in net.preds(n)}))))


def _id_output(ctx: _Ids, net, n, ids):
    return ids[net.single_pred(n)]


CANON_IDS = Handlers("canonical.ids", {Op.INPUT: _id_input, Op.AFFINE: _id_affine, Op.RELU: _id_relu,
                                       Op.MAX: _id_max, Op.OUTPUT: _id_output})

