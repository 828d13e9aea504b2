"""Rewrites of a network into an equivalent network of the same inputs and outputs (exact identities).

:func:`merge_parallel_relus` merges ReLUs with proportional pre-activations. The lowering of ``max``
nodes to ReLUs is :func:`verify.constructions.emulate.replay` (it needs the gadgets of the
constructions), and the difference network of two networks is the reduction
:func:`verify.reductions.difference.difference_network`.
"""

from __future__ import annotations

from fractions import Fraction

import networkx as nx

from .graph import Network
from .ops import Op

__all__ = ["merge_parallel_relus"]


def _direction(net: Network, node):
    """Pre-activation ``node`` (affine) as (canonical key, scale): ``expr = scale * canonical``."""
    terms = sorted(((repr(p), p, w) for p, w in net.affine_terms(node) if w != 0), key=lambda t: t[0])
    bias = net.bias(node)
    lead = terms[0][2] if terms else bias
    if lead == 0:
        return None, None
    scale = abs(lead)
    key = (tuple((k, w / scale) for k, _, w in terms), bias / scale)
    return key, scale


def merge_parallel_relus(net: Network, deadline=None) -> Network:
    """Merge ReLUs whose pre-activations are proportional, using two exact identities.

    For ``c > 0``: ``relu(c e) = c relu(e)``, and ``relu(-c e) = c relu(e) - c e``. ReLUs whose
    pre-activation is a multiple of another's are replaced by the first one plus a linear skip term,
    and a ReLU whose consumers' weights cancel (e.g. ``relu(y) - relu(-y) = y``) disappears. This
    removes ReLUs that only carry values linearly, which an LP relaxation would otherwise treat as
    unstable. Only ReLUs whose pre-activation is an affine node and whose consumers are all affine
    nodes are touched. The result computes the same function (checked in the tests by exact
    evaluation and by z3).
    """
    g = nx.DiGraph(net.graph)
    groups: dict = {}
    for k, r in enumerate(net.relu_nodes):
        if deadline is not None and k % 64 == 0:
            deadline.check("merging parallel ReLUs")
        p = net.single_pred(r)
        if net.op(p) is not Op.AFFINE or any(net.op(c) is not Op.AFFINE for c in net.graph.successors(r)):
            continue
        key, scale = _direction(net, p)
        if key is None:
            continue
        # The same hyperplane with the opposite orientation has the negated key.
        neg = (tuple((k, -w) for k, w in key[0]), -key[1])
        if neg in groups:
            groups[neg].append((r, p, -scale))
        else:
            groups.setdefault(key, []).append((r, p, scale))
    changed = False
    for members in groups.values():
        if len(members) < 2:
            continue
        # Every member's pre-activation p is (s / s0) * p0: rewrite relu(p) in terms of relu(p0).
        r0, p0, s0 = members[0]
        for r, p, s in members[1:]:
            ratio = s / s0  # p = ratio * p0
            mult = abs(ratio)
            lin = ratio if ratio < 0 else Fraction(0)  # relu(ratio * p0) = |ratio| relu(p0) + min(ratio, 0) p0
            for c in list(g.successors(r)):
                w = g.edges[r, c]["weight"]
                _add_weight(g, r0, c, w * mult)
                if lin != 0:
                    _add_weight(g, p0, c, w * lin)
                g.remove_edge(r, c)
            changed = True
    if not changed:
        return net
    # Dead code: nodes with no successors that are neither outputs nor inputs.
    keep = set(net.outputs) | set(net.inputs)
    while True:
        dead = [n for n in g.nodes if g.out_degree(n) == 0 and n not in keep]
        if not dead:
            break
        g.remove_nodes_from(dead)
    return Network(g, net.inputs, net.outputs, windows=net.windows if net.has_explicit_windows else None,
                   name=net.name)


def _add_weight(g, src, dst, w):
    if w == 0:
        return
    if g.has_edge(src, dst):
        w = w + g.edges[src, dst]["weight"]
        if w == 0:
            g.remove_edge(src, dst)
            return
        g.edges[src, dst]["weight"] = w
    else:
        g.add_edge(src, dst, weight=w)
