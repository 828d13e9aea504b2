"""The closed vocabulary of IR operators.

Every node of a network graph carries exactly one of these ops; every op is continuous and piecewise
linear. Every walk over the graph is a handler table with one handler per op (:mod:`verify.ir.walk`),
checked complete when it is built; ``tests/test_ops_coverage.py`` iterates all of them.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Op", "ARITY"]


class Op(str, Enum):
    """Node kinds. The value is the name used in the ``relu-graph/1`` file format."""

    INPUT = "input"  # attribute ``index``: position in the input vector; no predecessors
    AFFINE = "affine"  # sum_j weight(j -> n) * value(j) + bias; edge attribute ``weight``, node ``bias``
    RELU = "relu"  # max(value(pred), 0); exactly one predecessor
    MAX = "max"  # max over the predecessors (at least one); used by references and imported pooling
    OUTPUT = "output"  # attribute ``index``; exactly one predecessor, whose value it reports

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


# (min, max) number of predecessors; None means unbounded.
ARITY: dict[Op, tuple[int, int | None]] = {
    Op.INPUT: (0, 0),
    Op.AFFINE: (0, None),
    Op.RELU: (1, 1),
    Op.MAX: (1, None),
    Op.OUTPUT: (1, 1),
}
