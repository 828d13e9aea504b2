"""Replace every ``max`` node of a network by an exact ReLU emulation (a rewrite of the graph).

An imported model keeps its max pooling as IR ``max`` nodes; :func:`emulate_max` returns the same model
with each ``max`` node replaced by a balanced tree of a pairwise ReLU gadget (Arora et al., ICLR 2018,
arXiv:1611.01491), so the two can be compared with :func:`verify.analysis.check_equivalent` (equal on
all of R^d) and their gradients at ties examined (:mod:`verify.analysis.gradients`).
"""

from __future__ import annotations

from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from ..ir.ops import Op
from .gadgets import check_gadget
from .max_trees import tree_max_expr

__all__ = ["emulate_max", "rebuild", "check_emulation"]


def replay(b: GraphBuilder, net: Network, gadget: str | None = None) -> dict:
    """The value of every node of ``net`` as an :class:`Expr` of builder ``b`` (same inputs).

    Affine chains are multiplied out; with ``gadget`` set every ``max`` node becomes an exact tree of
    that gadget, otherwise it stays a max node. Output nodes map to the value they report.
    """
    xs = b.input_exprs()
    val: dict = {}
    for n in net.order:
        op = net.op(n)
        if op is Op.INPUT:
            val[n] = xs[net.graph.nodes[n]["index"]]
        elif op is Op.AFFINE:
            val[n] = Expr.sum(val[p] * w for p, w in net.affine_terms(n)) + net.bias(n)
        elif op is Op.RELU:
            val[n] = b.relu(val[net.single_pred(n)])
        elif op is Op.MAX:
            args = [val[p] for p in net.preds(n)]
            if len(args) == 1:
                val[n] = args[0]
            elif gadget is None:
                val[n] = b.max(args)
            else:
                val[n] = tree_max_expr(b, args, gadget)
        else:
            val[n] = val[net.single_pred(n)]
    return val


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


def check_emulation(net: Network, gadget: str = "A", *, timeout: float | None = None):
    """Prove ``emulate_max(net, gadget) == net`` on all of R^d by a rewrite lemma, without one big query.

    :func:`emulate_max` replaces each ``max`` node over arguments ``a_1..a_k`` by ``tree_max_expr`` of the
    same arguments; the tree is a fixed composition of its arguments, so it equals ``max(a_1..a_k)`` for
    all arguments iff the tree on fresh inputs, :func:`max_tree` ``(k, gadget)``, equals max on all of
    R^k. That lemma is decided by :func:`verify.analysis.check_exact` once per arity k occurring in the
    network. A whole-network :func:`check_equivalent` gives the same verdict but can take minutes on an
    imported CNN (see docs); this takes milliseconds.

    Returns an :class:`~verify.analysis.results.ExactnessResult` over ``RealSpace(d)`` (query "emulation").
    """
    from ..analysis.exactness import check_exact
    from ..analysis.results import Deadline, ExactnessResult, Status
    from ..domain import RealSpace
    from .max_trees import max_tree

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
