"""Size limits stated before anything is built.

A construction asked for with a huge size (``verify build max-tree --d 100000000``, ``pool2d`` on an
enormous image, the exponentially wide subpool approximation for large ``d``) would otherwise run for
minutes and exhaust memory before :func:`verify.ir.graph.check_graph` could refuse the finished graph.
Each construction therefore estimates its node count from closed formulas first and calls
:func:`check_size`, which raises :class:`~verify.errors.ResourceLimitError` with the size stated.

The estimates count IR nodes (inputs, affine nodes, ReLUs, max nodes, outputs). Every ReLU made by the
builder reads its own affine node, so a network with ``R`` ReLUs has about ``2 R`` hidden nodes. They are
upper bounds within a small factor of the real count (checked in ``tests/test_limits.py``).

References
----------
Arora, Basu, Mianjy, Mukherjee, "Understanding deep neural networks with rectified linear units",
ICLR 2018 (arXiv:1611.01491): a max of ``d`` inputs as a binary tree of pairwise maxima in
``ceil(log2 d)`` hidden layers, ``(d - 1)`` pairwise gadgets.
"""

from __future__ import annotations

import math
from typing import Iterable

from .constructions.gadgets import RELUS_PER_GADGET as _GADGET_RELUS
from .errors import ResourceLimitError
from .ir.graph import MAX_DENSE_WEIGHTS, MAX_NODES

__all__ = [
    "MAX_NODES",
    "MAX_DENSE_WEIGHTS",
    "BYTES_PER_NODE",
    "BYTES_PER_DENSE_WEIGHT",
    "check_size",
    "check_dense",
    "dense_weights",
    "tree_dense",
    "chain_dense",
    "truncated_tree_dense",
    "pool2d_dense",
    "tree_nodes",
    "chain_nodes",
    "pool2d_nodes",
    "truncated_tree_nodes",
    "subpool_nodes",
]

# Measured: a max tree of 20000 inputs (140020 nodes, 220023 edges) takes about 100 MB more resident
# memory than an empty interpreter, i.e. about 0.7 kB per node with its edges; rounded up.
BYTES_PER_NODE = 1000
# Measured: writing a max tree of 3000 inputs as relu-net/1 (27,001,593 dense weights, mostly zeros)
# peaks at about 93 bytes per weight (the rows of Fractions, then one text per entry); rounded up.
BYTES_PER_DENSE_WEIGHT = 100


def _human_bytes(n: int) -> str:
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1000:.3g} kB"


def check_size(estimated_nodes: int, what: str, limit: int | None = None) -> int:
    """Refuse to build ``what`` if it would have more than ``limit`` nodes (default :data:`MAX_NODES`).

    Parameters
    ----------
    estimated_nodes : int
        An upper estimate of the number of IR nodes (any size: Python integers do not overflow).
    what : str
        Names the object in the message, e.g. ``"max-tree d=10000000 gadget=A"``.
    limit : int, optional
        The largest allowed node count.

    Returns
    -------
    int
        ``estimated_nodes``, so that the call can be used inline.

    Raises
    ------
    ResourceLimitError
        With the estimated size, its memory and the limit stated in one line.

    Examples
    --------
    >>> check_size(10, "a small network")
    10
    >>> check_size(10**9, "max-tree d=10^8")
    Traceback (most recent call last):
    ...
    verify.errors.ResourceLimitError: max-tree d=10^8 would have about 1,000,000,000 nodes (about 1 TB of memory), more than the limit 5,000,000 nodes
    """
    limit = MAX_NODES if limit is None else limit
    if estimated_nodes > limit:
        raise ResourceLimitError(
            f"{what} would have about {estimated_nodes:,} nodes (about {_human_bytes(estimated_nodes * BYTES_PER_NODE)}"
            f" of memory), more than the limit {limit:,} nodes"
        )
    return estimated_nodes


def _relus(gadget: str) -> int:
    return _GADGET_RELUS.get(gadget, max(_GADGET_RELUS.values()))


def _tree_relus(n: int, gadget: str) -> int:
    """ReLUs of a balanced pairwise tree on ``n`` leaves: ``n - 1`` gadgets, at most one carry per round."""
    if n <= 1:
        return 0
    rounds = math.ceil(math.log2(n)) if n < 2**60 else n.bit_length()
    carries = 0 if gadget == "skip" else 2 * rounds
    return _relus(gadget) * (n - 1) + carries


def tree_nodes(n: int, gadget: str = "A") -> int:
    """Hidden nodes (affine + ReLU) of a max tree over ``n`` leaves, without inputs and outputs."""
    return 2 * _tree_relus(n, gadget) + 1


def chain_nodes(d: int, gadget: str = "A") -> int:
    """Nodes of :func:`~verify.constructions.max_chain`: quadratic in ``d`` for plain gadgets.

    Step ``k`` pairs a running max at level ``k - 1`` with ``x_k`` lifted to that level
    (``2 (k - 1)`` ReLUs) by one gadget, so the network has ``(d-1)(d-2) + g (d-1)`` ReLUs.
    """
    relus = (d - 1) * _relus(gadget) + (0 if gadget == "skip" else (d - 1) * max(d - 2, 0))
    return d + 2 * relus + 2


def truncated_tree_nodes(d: int, level: int, gadget: str = "A") -> int:
    """Nodes of :func:`~verify.constructions.truncated_tree` (group trees, lifts to a common level)."""
    size = 2 ** min(level, max(d, 1).bit_length() + 1)
    groups = -(-d // size)
    top = math.ceil(math.log2(min(size, d))) if min(size, d) > 1 else 0
    lifts = 0 if gadget == "skip" else 2 * 2 * top  # only a smaller last group is lifted
    return d + groups * tree_nodes(min(size, d), gadget) + lifts + 2


def pool2d_nodes(height: int, width: int, kernel: int, stride: int, gadget: str = "A") -> int:
    """Nodes of :func:`~verify.constructions.pool2d`: the image plus one max tree per window."""
    if kernel > height or kernel > width or min(height, width, kernel, stride) < 1:
        return height * width  # pool2d_windows refuses this shape with its own message
    n_windows = ((height - kernel) // stride + 1) * ((width - kernel) // stride + 1)
    return height * width + n_windows * (tree_nodes(kernel * kernel, gadget) + 1)


def subpool_nodes(d: int, sizes: Iterable[int], gadget: str = "A") -> int:
    """Nodes of a subpool-max estimator: one max tree per ``k``-subset of the ``d`` inputs, ``k`` in ``sizes``.

    ``sum_{k in sizes} C(d, k)`` subset maxima (exponential in ``d``), the way the estimators
    ``A_k(x) = C(d,k)^-1 sum_{|S| = k} max_{i in S} x_i`` of the seed paper are built (size 0, the
    intercept, has no tree).
    """
    total = d + 2
    for k in sizes:
        if k >= 1:
            total += math.comb(d, k) * tree_nodes(k, gadget)
    return total


# -- dense matrices: what a relu-net/1 file (and ONNX, VNN-LIB) of a layered network holds --------------
def dense_weights(widths: Iterable[int]) -> int:
    """Entries of the weight matrices of fully connected layers of these widths (inputs first, outputs last)."""
    widths = list(widths)
    return sum(a * b for a, b in zip(widths, widths[1:]))


def check_dense(entries: int, what: str, limit: int | None = None) -> int:
    """Refuse to write ``what`` as dense layers of ``entries`` weights above ``limit`` (default
    :data:`MAX_DENSE_WEIGHTS`), with the size and its memory in one line (:class:`ResourceLimitError`)."""
    limit = MAX_DENSE_WEIGHTS if limit is None else limit
    if entries > limit:
        raise ResourceLimitError(
            f"{what} as dense layers (relu-net/1, ONNX) would hold about {entries:,} weights (about "
            f"{_human_bytes(entries * BYTES_PER_DENSE_WEIGHT)} of memory), more than the limit {limit:,} weights"
        )
    return entries


def _tree_widths(n: int, gadget: str) -> list[int]:
    """ReLUs per hidden layer of a balanced tree on ``n`` leaves (pairs, and a carried odd one)."""
    widths = []
    while n > 1:
        widths.append(_relus(gadget) * (n // 2) + 2 * (n % 2))
        n = n // 2 + n % 2
    return widths


def tree_dense(d: int, gadget: str = "A") -> int:
    """Dense weights of :func:`~verify.constructions.max_tree` written as layers (0 for the skip gadget,
    whose networks are not layered and are written as ``relu-graph/1``)."""
    if gadget == "skip" and d >= 2:
        return 0
    return dense_weights([d] + _tree_widths(d, gadget) + [1])


def chain_dense(d: int, gadget: str = "A") -> int:
    """Dense weights of :func:`~verify.constructions.max_chain`: layer ``j`` holds the gadget of step
    ``j`` and the inputs ``x_{j+2} ..`` lifted so far (2 ReLUs each)."""
    if d < 2:
        return d
    if gadget == "skip":
        return 0
    return dense_weights([d] + [_relus(gadget) + 2 * (d - 1 - j) for j in range(1, d)] + [1])


def truncated_tree_dense(d: int, level: int, gadget: str = "A") -> int:
    """Dense weights of :func:`~verify.constructions.truncated_tree`: the group trees side by side, a
    smaller last group lifted to the common depth (2 ReLUs per layer)."""
    size = 2 ** min(level, max(d, 1).bit_length())
    sizes = [size] * (d // size) + ([d % size] if d % size else [])
    if gadget == "skip" and max(sizes) >= 2:
        return 0
    per = [_tree_widths(s, gadget) for s in sizes]
    depth = max(len(w) for w in per)
    widths = [sum(w[k] if k < len(w) else 2 for w in per) for k in range(depth)]
    return dense_weights([d] + widths + [1])


def pool2d_dense(height: int, width: int, kernel: int, stride: int, gadget: str = "A") -> int:
    """Dense weights of :func:`~verify.constructions.pool2d`: one tree per window, all side by side."""
    if (gadget == "skip" and kernel >= 2) or kernel > height or kernel > width or min(height, width, kernel, stride) < 1:
        return 0
    n_windows = ((height - kernel) // stride + 1) * ((width - kernel) // stride + 1)
    return dense_weights([height * width] + [n_windows * w for w in _tree_widths(kernel * kernel, gadget)]
                         + [n_windows])
