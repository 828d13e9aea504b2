"""Lowering of the IR to z3 linear real arithmetic (exact), one handler per op.

The encoding is a walk over the graph in topological order (DESIGN.md, habit 2). ReLUs that interval
bounds prove stable on the query's box are replaced by the identity or zero; the rest become ``If``
terms. With a fixed *activation pattern* (``pattern``) every ReLU and every ``max`` becomes linear and
the pattern's constraints are returned, which turns the network into an LP on that region.

z3 is imported lazily: ``import verify`` does not need it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ..domain import Box, RealSpace
from ..errors import MissingExtraError
from ..ir.graph import Network
from ..ir.ops import Op

__all__ = ["z3", "rational", "from_z3", "Z3Lowering", "domain_constraints", "max_expr"]


def _import_z3():
    try:
        import z3 as _z3
    except ImportError:  # pragma: no cover - z3-solver is a core dependency
        raise MissingExtraError("the z3 backend needs z3-solver: pip install z3-solver") from None
    return _z3


class _LazyZ3:
    def __getattr__(self, name):
        return getattr(_import_z3(), name)


z3 = _LazyZ3()


def rational(value: Fraction | int):
    """An exact z3 rational constant."""
    value = Fraction(value)
    return z3.RealVal(f"{value.numerator}/{value.denominator}")


def from_z3(value) -> Fraction:
    """An exact Fraction from a z3 rational numeral (model values in linear real arithmetic)."""
    if z3.is_int_value(value):
        return Fraction(value.as_long())
    if z3.is_rational_value(value):
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    raise ValueError(f"z3 value {value} is not a rational numeral")


def domain_constraints(xs: Sequence, domain: Box | RealSpace) -> list:
    if isinstance(domain, RealSpace):
        return []
    out = []
    for x, lo, hi in zip(xs, domain.lo, domain.hi):
        out.append(x >= rational(lo))
        out.append(x <= rational(hi))
    return out


def max_expr(values: Sequence, name: str, side: list):
    """A fresh variable equal to ``max(values)`` (constraints appended to ``side``)."""
    if len(values) == 1:
        return values[0]
    m = z3.Real(name)
    side.extend(m >= v for v in values)
    side.append(z3.Or([m == v for v in values]))
    return m


class Z3Lowering:
    """z3 terms for every node of ``net``.

    Parameters
    ----------
    net : Network
    xs : list of z3 Real terms, the inputs.
    prefix : str
        Prefix of fresh variable names (two networks in one query need different prefixes).
    phases : dict, optional
        ``relu -> "active" | "inactive" | "unstable"`` (from sound bounds): stable ReLUs are linear.
    pattern : dict, optional
        A fixed activation pattern: ``relu -> bool`` and ``max node -> index of the chosen predecessor``.
        Every node is then linear; the region's constraints are in ``side``.
    bounds : dict, optional
        Sound ``node -> (lo, hi)`` bounds, asserted for the pre-activations of unstable ReLUs (they are
        implied, but they help the solver).
    """

    def __init__(self, net: Network, xs: Sequence, prefix: str = "n", phases=None, pattern=None, bounds=None):
        self.net = net
        self.xs = list(xs)
        self.prefix = prefix
        self.phases = phases or {}
        self.pattern = pattern
        self.bounds = bounds
        self.side: list = []
        self.values: dict = {}
        for node in net.order:
            self.values[node] = getattr(self, self.HANDLERS[net.op(node)])(node)

    # One handler (method name) per op.
    HANDLERS = {
        Op.INPUT: "_input",
        Op.AFFINE: "_affine",
        Op.RELU: "_relu",
        Op.MAX: "_max",
        Op.OUTPUT: "_output",
    }

    @property
    def outputs(self) -> list:
        return [self.values[o] for o in self.net.outputs]

    def _input(self, node):
        return self.xs[self.net.graph.nodes[node]["index"]]

    def _affine(self, node):
        terms = []
        for p, w in self.net.affine_terms(node):
            v = self.values[p]
            terms.append(v if w == 1 else (-v if w == -1 else rational(w) * v))
        b = self.net.bias(node)
        if b != 0 or not terms:
            terms.append(rational(b))
        return terms[0] if len(terms) == 1 else z3.Sum(terms)

    def _relu(self, node):
        pre_node = self.net.single_pred(node)
        p = self.values[pre_node]
        if self.pattern is not None:
            if self.pattern[node]:
                self.side.append(p >= 0)
                return p
            self.side.append(p <= 0)
            return rational(0)
        phase = self.phases.get(node, "unstable")
        if phase == "active":
            return p
        if phase == "inactive":
            return rational(0)
        if self.bounds is not None and pre_node in self.bounds:
            lo, hi = self.bounds[pre_node]
            self.side.append(p >= rational(lo))
            self.side.append(p <= rational(hi))
        return z3.If(p > 0, p, rational(0))

    def _max(self, node):
        vals = [self.values[p] for p in self.net.preds(node)]
        if self.pattern is not None:
            k = self.pattern[node]
            self.side.extend(vals[k] >= v for v in vals)
            return vals[k]
        return max_expr(vals, f"{self.prefix}_{node}", self.side)

    def _output(self, node):
        return self.values[self.net.single_pred(node)]
