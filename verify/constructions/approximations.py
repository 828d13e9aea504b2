"""Approximations of max pooling: average pooling and truncated trees.

On [0,1]^d their worst-case errors have closed forms (checked in the tests and the catalogue):
mean of d inputs: sup(max - N) = (d-1)/d, sup(N - max) = 0; a truncated tree with m groups (exact max
inside each group, then the mean of the group maxima): (m-1)/m and 0.
"""

from __future__ import annotations

from fractions import Fraction

from ..errors import VerifyError
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from ..limits import check_size, truncated_tree_nodes
from .gadgets import check_gadget, lift_to
from .max_trees import tree_max_expr

__all__ = ["mean_network", "truncated_tree", "truncated_groups"]


def mean_network(d: int) -> Network:
    """Average pooling of ``d`` inputs: one linear layer, no ReLU."""
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise VerifyError(f"d must be a positive integer, got {d!r}")
    check_size(d + 2, f"mean d={d}")
    b = GraphBuilder(d)
    b.output(Expr.sum(b.input_exprs()) / d)
    return b.build(name=f"mean d={d}")


def truncated_groups(d: int, level: int) -> list[list[int]]:
    """Consecutive groups of 2^level inputs (the last one may be smaller)."""
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise VerifyError(f"level must be a non-negative integer, got {level!r}")
    # groups of 2^level >= d inputs are all one group: cap the exponent so a huge level costs nothing
    size = 2 ** min(level, max(d, 1).bit_length())
    return [list(range(s, min(s + size, d))) for s in range(0, d, size)]


def truncated_tree(d: int, level: int, gadget: str = "A") -> Network:
    """Exact max inside groups of 2^level inputs, then the mean of the group maxima.

    ``level = 0`` is the mean; ``level >= ceil(log2 d)`` is the exact tree.
    """
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise VerifyError(f"d must be a positive integer, got {d!r}")
    check_gadget(gadget)
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise VerifyError(f"level must be a non-negative integer, got {level!r}")
    check_size(truncated_tree_nodes(d, level, gadget), f"truncated-tree d={d} level={level} gadget={gadget}")
    groups = truncated_groups(d, level)
    b = GraphBuilder(d)
    xs = b.input_exprs()
    maxima = [tree_max_expr(b, [xs[i] for i in g], gadget) for g in groups]
    top = max(m.level for m in maxima)
    maxima = [lift_to(b, m, top, gadget) for m in maxima]
    b.output(Expr.sum(maxima) * Fraction(1, len(groups)))
    return b.build(name=f"truncated-tree d={d} level={level} gadget={gadget}")
