"""Exact max of d inputs: balanced trees of pairwise maxima and sequential chains.

Arora et al. (ICLR 2018, arXiv:1611.01491): a binary tree computes MAX_d in ceil(log2 d) hidden layers.
Sizes for d = 2^L (LITERATURE.md section 3): 3(d-1) ReLUs with gadget A, 4(d-1) with gadget B.
"""

from __future__ import annotations

from typing import Sequence

from ..errors import VerifyError
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from ..limits import chain_nodes, check_size, tree_nodes
from .gadgets import carry, check_gadget, lift_to, pair_max

__all__ = ["max_tree", "max_chain", "tree_max_expr", "chain_max_expr"]


def _check_d(d: int) -> int:
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise VerifyError(f"d must be a positive integer, got {d!r}")
    return d


def tree_max_expr(b: GraphBuilder, values: Sequence[Expr], gadget: str) -> Expr:
    """Balanced pairwise tree: pairs neighbours, carries an odd last one; ceil(log2 len) rounds."""
    level = list(values)
    while len(level) > 1:
        nxt = [pair_max(b, level[i], level[i + 1], gadget) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(carry(b, level[-1], gadget))
        level = nxt
    return level[0]


def chain_max_expr(b: GraphBuilder, values: Sequence[Expr], gadget: str) -> Expr:
    """Sequential chain max(max(max(v0, v1), v2), ...): len - 1 hidden layers."""
    m = values[0]
    for v in values[1:]:
        m = pair_max(b, m, lift_to(b, v, m.level, gadget), gadget)
    return m


def max_tree(d: int, gadget: str = "A") -> Network:
    """The max of ``d`` inputs as a balanced tree: ceil(log2 d) hidden layers.

    >>> net = max_tree(9, gadget="A")
    >>> net.hidden_layers, net.n_relus
    (4, 30)
    """
    _check_d(d)
    check_gadget(gadget)
    check_size(d + tree_nodes(d, gadget) + 1, f"max-tree d={d} gadget={gadget}")
    b = GraphBuilder(d)
    b.output(tree_max_expr(b, b.input_exprs(), gadget))
    return b.build(name=f"max-tree d={d} gadget={gadget}")


def max_chain(d: int, gadget: str = "A") -> Network:
    """The max of ``d`` inputs as a sequential chain: d - 1 hidden layers."""
    _check_d(d)
    check_gadget(gadget)
    check_size(chain_nodes(d, gadget), f"max-chain d={d} gadget={gadget}")
    b = GraphBuilder(d)
    b.output(chain_max_expr(b, b.input_exprs(), gadget))
    return b.build(name=f"max-chain d={d} gadget={gadget}")
