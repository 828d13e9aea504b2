"""Rewrites of networks into equivalent networks (reductions, DESIGN.md habit 3).

:func:`difference_network` turns "compare output ``o`` of two networks" into "maximise the single output
of one ReLU-only network": the two graphs share their inputs, every ``max`` node becomes a balanced tree
of pairwise maxima ``max(a, b) = b + relu(a - b)`` (an exact identity), and the new output is
``sign * (f_o(x) - g_o(x))``. The MILP and LP-relaxation backends then need one handler less, and the
exact evaluator checks the rewrite at every witness it confirms.
"""

from __future__ import annotations

from fractions import Fraction

import networkx as nx

from ..errors import VerifyError
from .graph import Network
from .ops import Op

__all__ = ["difference_network", "max_free", "merge_parallel_relus"]


class _Copier:
    """Copy networks into one graph with shared inputs, lowering ``max`` nodes to ReLUs."""

    def __init__(self, d: int):
        self.g = nx.DiGraph()
        self.inputs = [("x", i) for i in range(d)]
        for i, node in enumerate(self.inputs):
            self.g.add_node(node, op=Op.INPUT, index=i)
        self.count = 0

    def fresh(self, tag):
        self.count += 1
        return (tag, "_", self.count)

    def affine(self, terms, bias, node=None, tag="t"):
        node = node if node is not None else self.fresh(tag)
        acc: dict = {}
        for p, w in terms:
            acc[p] = acc.get(p, Fraction(0)) + Fraction(w)
        self.g.add_node(node, op=Op.AFFINE, bias=Fraction(bias))
        for p, w in acc.items():
            if w != 0:
                self.g.add_edge(p, node, weight=w)
        return node

    def relu(self, pred, node=None, tag="t"):
        node = node if node is not None else self.fresh(tag)
        self.g.add_node(node, op=Op.RELU)
        self.g.add_edge(pred, node)
        return node

    def max_tree(self, vals: list, tag):
        # Balanced pairing keeps the number of ReLUs on a path at ceil(log2 k).
        while len(vals) > 1:
            nxt = []
            for k in range(0, len(vals) - 1, 2):
                a, b = vals[k], vals[k + 1]
                diff = self.affine([(a, 1), (b, -1)], 0, tag=tag)
                r = self.relu(diff, tag=tag)
                nxt.append(self.affine([(b, 1), (r, 1)], 0, tag=tag))
            if len(vals) % 2:
                nxt.append(vals[-1])
            vals = nxt
        return vals[0]

    def copy(self, net: Network, tag) -> dict:
        """Copy ``net``; return ``node -> node of the new graph holding its value``."""
        value: dict = {}
        for n in net.order:
            op = net.op(n)
            if op is Op.INPUT:
                value[n] = self.inputs[net.graph.nodes[n]["index"]]
            elif op is Op.AFFINE:
                value[n] = self.affine([(value[p], w) for p, w in net.affine_terms(n)], net.bias(n), node=(tag, n))
            elif op is Op.RELU:
                value[n] = self.relu(value[net.single_pred(n)], node=(tag, n))
            elif op is Op.MAX:
                value[n] = self.max_tree([value[p] for p in net.preds(n)], tag)
            else:  # OUTPUT
                value[n] = value[net.single_pred(n)]
        return value


def difference_network(f: Network, g: Network | None, output: int = 0, sign: int = 1) -> Network:
    """A ReLU-only network with one output ``sign * (f_o(x) - g_o(x))`` (``g = None``: ``sign * f_o``).

    Exact: every node computes the same value as in ``f`` or ``g`` (``max`` nodes through the identity
    ``max(a, b) = b + relu(a - b)``).
    """
    if g is not None and (g.n_inputs != f.n_inputs or g.n_outputs != f.n_outputs):
        raise VerifyError("networks have different shapes")
    if sign not in (1, -1):
        raise VerifyError(f"sign must be 1 or -1, got {sign!r}")
    c = _Copier(f.n_inputs)
    vf = c.copy(f, "f")
    terms = [(vf[f.outputs[output]], sign)]
    if g is not None:
        vg = c.copy(g, "g")
        terms.append((vg[g.outputs[output]], -sign))
    top = c.affine(terms, 0, node=("out", "diff"))
    c.g.add_node(("out", "y"), op=Op.OUTPUT, index=0)
    c.g.add_edge(top, ("out", "y"))
    return Network(c.g, c.inputs, [("out", "y")], windows=[list(range(f.n_inputs))],
                   name=f"difference of output {output}")


def max_free(net: Network) -> Network:
    """``net`` with every ``max`` node lowered to ReLUs (all outputs kept)."""
    c = _Copier(net.n_inputs)
    value = c.copy(net, "f")
    outs = []
    for k, o in enumerate(net.outputs):
        node = ("out", k)
        c.g.add_node(node, op=Op.OUTPUT, index=k)
        c.g.add_edge(value[o], node)
        outs.append(node)
    return Network(c.g, c.inputs, outs, windows=net.windows, name=net.name)


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


def merge_parallel_relus(net: Network) -> Network:
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
    for r in net.relu_nodes:
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
