"""Replace every ``max`` node of a network by an exact ReLU emulation (a rewrite of the graph).

An imported model keeps its max pooling as IR ``max`` nodes; :func:`emulate_max` returns the same model
with each ``max`` node replaced by a balanced tree of a pairwise ReLU gadget (Arora et al., ICLR 2018,
arXiv:1611.01491), so the two can be compared with :func:`verify.analysis.check_equivalent` (equal on
all of R^d, or by the rewrite lemma of :func:`verify.analysis.emulation.check_emulation`) and their
gradients at ties examined (:mod:`verify.analysis.gradients`). :func:`replay` is the toolkit's one
lowering of ``max`` nodes to ReLUs: :func:`max_free` and the difference networks of
:mod:`verify.reductions.difference` use it too.
"""

from __future__ import annotations

from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk
from .gadgets import check_gadget
from .max_trees import tree_max_expr

__all__ = ["emulate_max", "rebuild", "max_free", "replay"]


class _Replay:
    """What the replaying walk carries: the builder, its input expressions and the gadget (or None)."""

    def __init__(self, b: GraphBuilder, gadget: str | None):
        self.b, self.xs, self.gadget = b, b.input_exprs(), gadget


def _replay_input(r: _Replay, net, node, val):
    return r.xs[net.graph.nodes[node]["index"]]


def _replay_affine(r: _Replay, net, node, val):
    return Expr.sum(val[p] * w for p, w in net.affine_terms(node)) + net.bias(node)


def _replay_relu(r: _Replay, net, node, val):
    return r.b.relu(val[net.single_pred(node)])


def _replay_max(r: _Replay, net, node, val):
    args = [val[p] for p in net.preds(node)]
    if len(args) == 1:
        return args[0]
    if r.gadget is None:
        return r.b.max(args)
    return tree_max_expr(r.b, args, r.gadget)


def _replay_output(r: _Replay, net, node, val):
    return val[net.single_pred(node)]


REPLAY = Handlers("emulate.replay", {Op.INPUT: _replay_input, Op.AFFINE: _replay_affine, Op.RELU: _replay_relu,
                                     Op.MAX: _replay_max, Op.OUTPUT: _replay_output})


def replay(b: GraphBuilder, net: Network, gadget: str | None = None, deadline=None) -> dict:
    """The value of every node of ``net`` as an :class:`Expr` of builder ``b`` (same inputs).

    Affine chains are multiplied out; with ``gadget`` set every ``max`` node becomes an exact tree of
    that gadget, otherwise it stays a max node. Output nodes map to the value they report. This is the
    toolkit's one lowering of ``max`` to ReLUs (a walk, table ``emulate.replay``).
    """
    return walk(net, REPLAY, _Replay(b, gadget), deadline=deadline, doing="building the difference network")


def rebuild(net: Network, gadget: str | None = None, name: str | None = None) -> Network:
    """A copy of ``net`` built through :class:`GraphBuilder` (affine chains multiplied out).

    With ``gadget`` set, every ``max`` node becomes a tree of that gadget; otherwise it stays a max.
    """
    if gadget is not None:
        check_gadget(gadget)
    b = GraphBuilder(net.n_inputs)
    val = replay(b, net, gadget)
    for o in net.outputs:
        b.output(val[o])
    windows = net.windows if net.has_explicit_windows else None
    return b.build(windows=windows, name=name if name is not None else net.name)


def max_free(net: Network) -> Network:
    """``net`` with every ``max`` node lowered to ReLUs by the skip gadget ``max(a, b) = b + relu(a - b)``
    (all outputs and the windows kept): the form the LP relaxation and the MILP encoding read."""
    b = GraphBuilder(net.n_inputs)
    val = replay(b, net, "skip")
    for o in net.outputs:
        b.output(val[o])
    return b.build(windows=net.windows, name=net.name)


def emulate_max(net: Network, gadget: str = "A") -> Network:
    """``net`` with every ``max`` node replaced by an exact ReLU tree of ``gadget``.

    >>> from verify.analysis import reference_network, check_equivalent
    >>> from verify.constructions import max_tree
    >>> ref = reference_network(max_tree(4))
    >>> emu = emulate_max(ref, "B")
    >>> emu.is_relu_network, check_equivalent(ref, emu).status.value
    (True, 'PROVED')
    """
    return rebuild(net, gadget, name=f"{net.name or 'network'} (max as gadget {gadget})")
