"""Building networks: a node-level builder and affine expressions over nodes.

Constructions describe networks with :class:`Expr` (an exact affine combination of nodes) and let
:class:`GraphBuilder` materialise an affine node only where a ReLU, a max or an output needs one.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Mapping, Sequence

import networkx as nx

from ..errors import GraphError
from .graph import Network
from .ops import Op

__all__ = ["Expr", "GraphBuilder"]


class Expr:
    """An exact affine expression ``sum_n coef[n] * node_n + const``.

    ``level`` is the largest ReLU level of a node it reads (used to keep plain networks layered).
    """

    __slots__ = ("coef", "const", "level")

    def __init__(self, coef: Mapping | None = None, const=0, level: int = 0):
        self.coef = {n: Fraction(c) for n, c in (coef or {}).items() if c != 0}
        self.const = Fraction(const)
        self.level = level

    @classmethod
    def node(cls, node, level: int) -> "Expr":
        return cls({node: 1}, 0, level)

    def _combine(self, other: "Expr", sign: int) -> "Expr":
        coef = dict(self.coef)
        for n, c in other.coef.items():
            coef[n] = coef.get(n, 0) + sign * c
        return Expr(coef, self.const + sign * other.const, max(self.level, other.level))

    def __add__(self, other: "Expr") -> "Expr":
        if not isinstance(other, Expr):
            return Expr(self.coef, self.const + Fraction(other), self.level)
        return self._combine(other, 1)

    __radd__ = __add__

    def __sub__(self, other: "Expr") -> "Expr":
        if not isinstance(other, Expr):
            return Expr(self.coef, self.const - Fraction(other), self.level)
        return self._combine(other, -1)

    def __neg__(self) -> "Expr":
        return Expr({n: -c for n, c in self.coef.items()}, -self.const, self.level)

    def __mul__(self, k) -> "Expr":
        k = Fraction(k)
        return Expr({n: c * k for n, c in self.coef.items()}, self.const * k, self.level)

    __rmul__ = __mul__

    def __truediv__(self, k) -> "Expr":
        return self * (1 / Fraction(k))

    @staticmethod
    def sum(exprs: Iterable["Expr"]) -> "Expr":
        """The sum, accumulated in one dict (adding pairwise copies the terms each time: quadratic,
        minutes for an affine node reading 10^4 inputs)."""
        coef: dict = {}
        const, level = Fraction(0), 0
        for e in exprs:
            if not isinstance(e, Expr):
                const += Fraction(e)
                continue
            for n, c in e.coef.items():
                coef[n] = coef.get(n, 0) + c
            const += e.const
            level = max(level, e.level)
        return Expr(coef, const, level)

    def __repr__(self) -> str:
        terms = " + ".join(f"{c}*{n}" for n, c in self.coef.items())
        return f"Expr({terms or '0'} + {self.const}, level={self.level})"


class GraphBuilder:
    """Adds nodes with fresh ids and produces a validated :class:`Network`.

    Node ids: ``x{i}`` inputs, ``a{k}`` affine, ``r{k}`` relu, ``m{k}`` max, ``y{i}`` outputs.
    """

    def __init__(self, n_inputs: int):
        if n_inputs < 1:
            raise GraphError("a network needs at least one input")
        self.graph = nx.DiGraph()
        self._count = 0
        self.inputs = []
        for i in range(n_inputs):
            node = f"x{i}"
            self.graph.add_node(node, op=Op.INPUT, index=i)
            self.inputs.append(node)
        self.outputs: list = []

    def _fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def input_exprs(self) -> list[Expr]:
        return [Expr.node(n, 0) for n in self.inputs]

    # -- node level -------------------------------------------------------------------------------
    def add_affine(self, terms: Iterable[tuple[object, Fraction]], bias=0, **attrs) -> str:
        node = self._fresh("a")
        self.graph.add_node(node, op=Op.AFFINE, bias=Fraction(bias), **attrs)
        for pred, w in terms:
            w = Fraction(w)
            if w == 0:
                continue
            if self.graph.has_edge(pred, node):
                w = w + self.graph.edges[pred, node]["weight"]
                if w == 0:
                    self.graph.remove_edge(pred, node)
                    continue
            self.graph.add_edge(pred, node, weight=w)
        return node

    def add_relu(self, pred, **attrs) -> str:
        node = self._fresh("r")
        self.graph.add_node(node, op=Op.RELU, **attrs)
        self.graph.add_edge(pred, node)
        return node

    def add_max(self, preds: Sequence, **attrs) -> str:
        node = self._fresh("m")
        self.graph.add_node(node, op=Op.MAX, **attrs)
        for p in preds:
            self.graph.add_edge(p, node)
        return node

    def add_output(self, pred, **attrs) -> str:
        index = len(self.outputs)
        node = f"y{index}"
        self.graph.add_node(node, op=Op.OUTPUT, index=index, **attrs)
        self.graph.add_edge(pred, node)
        self.outputs.append(node)
        return node

    # -- expression level -------------------------------------------------------------------------
    def materialise(self, expr: Expr) -> str:
        """An affine node computing ``expr`` (always a fresh affine node, so ReLUs read affine nodes)."""
        return self.add_affine(expr.coef.items(), expr.const)

    def relu(self, expr: Expr) -> Expr:
        node = self.add_relu(self.materialise(expr))
        return Expr.node(node, expr.level + 1)

    def max(self, exprs: Sequence[Expr]) -> Expr:
        node = self.add_max([self.materialise(e) for e in exprs])
        return Expr.node(node, max(e.level for e in exprs))

    def output(self, expr: Expr) -> str:
        return self.add_output(self.materialise(expr))

    def build(self, windows=None, name: str = "") -> Network:
        return Network(self.graph, self.inputs, self.outputs, windows=windows, name=name)
