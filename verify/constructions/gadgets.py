"""Pairwise-max gadgets and the carry of a value through one hidden layer.

Gadgets (LITERATURE.md section 2 and 3; identities checked exactly in ``tests/test_constructions.py``):

- ``"A"``:    max(a, b) = relu(a - b) + relu(b) - relu(-b)                      (3 ReLUs, plain layers)
- ``"B"``:    max(a, b) = (relu(a - b) + relu(b - a) + relu(a + b) - relu(-a - b)) / 2   (4 ReLUs, plain)
- ``"skip"``: max(a, b) = b + relu(a - b)                                        (1 ReLU, linear skip)

Plain gadgets keep a network layered (every ReLU reads only the previous layer), so operands must sit at
the same ReLU level; a value is lifted one level by ``relu(v) - relu(-v)`` (2 ReLUs). The skip gadget
reads ``b`` again after the ReLU, which makes the network a DAG with a linear skip connection.
"""

from __future__ import annotations

from ..errors import VerifyError
from ..ir.builder import Expr, GraphBuilder

__all__ = ["GADGETS", "pair_max", "carry", "lift_to", "check_gadget", "RELUS_PER_GADGET"]

GADGETS = ("A", "B", "skip")
RELUS_PER_GADGET = {"A": 3, "B": 4, "skip": 1}


def check_gadget(gadget: str) -> str:
    if gadget not in GADGETS:
        raise VerifyError(f"unknown gadget {gadget!r} (choose one of {', '.join(GADGETS)})")
    return gadget


def carry(b: GraphBuilder, v: Expr, gadget: str) -> Expr:
    """``v`` one hidden layer later: ``relu(v) - relu(-v)`` for plain gadgets; unchanged for skip."""
    if gadget == "skip":
        return v
    return b.relu(v) - b.relu(-v)


def lift_to(b: GraphBuilder, v: Expr, level: int, gadget: str) -> Expr:
    """Carry ``v`` up to ReLU level ``level`` (plain gadgets need operands on one level)."""
    if gadget == "skip":
        return v
    while v.level < level:
        v = carry(b, v, gadget)
    return v


def pair_max(b: GraphBuilder, x: Expr, y: Expr, gadget: str) -> Expr:
    """``max(x, y)`` with one hidden layer of the chosen gadget."""
    if gadget == "skip":
        return y + b.relu(x - y)
    level = max(x.level, y.level)
    x, y = lift_to(b, x, level, gadget), lift_to(b, y, level, gadget)
    if gadget == "A":
        return b.relu(x - y) + b.relu(y) - b.relu(-y)
    # gadget B: |x - y| and |x + y| from two ReLUs each; max = ((x + y) + |x - y|) / 2.
    return (b.relu(x - y) + b.relu(y - x) + b.relu(x + y) - b.relu(-x - y)) / 2
