"""Lowering of the IR to z3 linear real arithmetic (exact), one handler per op.

The encoding is a walk over the graph in topological order (DESIGN.md, habit 2; table
``z3.lowering``). ReLUs that interval bounds prove stable on the query's box are replaced by the
identity or zero; the rest become ``If`` terms; a ``max`` node is a fresh variable above its arguments
and equal to one of them. (The network under a fixed activation pattern is an LP, written from the
exact rows of :mod:`verify.backends.patterns`.) Contexts and solvers are made only by
:mod:`verify.backends.z3_session`.

z3 is imported lazily: ``import verify`` does not need it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ..domain import Box, RealSpace
from ..errors import MissingExtraError, ToolkitBugError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk

__all__ = ["z3", "rational", "from_z3", "Z3Lowering", "domain_constraints", "max_expr", "Z3_LOWERING"]


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


def rational(value: Fraction | int, ctx=None):
    """An exact z3 rational constant in ``ctx`` (the context of a :class:`~verify.backends.z3_session.Z3Session`)."""
    value = Fraction(value)
    return z3.RealVal(f"{value.numerator}/{value.denominator}", ctx)


def from_z3(value) -> Fraction:
    """An exact Fraction from a z3 rational numeral (model values in linear real arithmetic)."""
    if z3.is_int_value(value):
        return Fraction(value.as_long())
    if z3.is_rational_value(value):
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    raise ToolkitBugError(f"z3 value {value} is not a rational numeral (the encodings are linear)")


def domain_constraints(xs: Sequence, domain: Box | RealSpace, deadline=None) -> list:
    """``lo_i <= x_i <= hi_i`` for a box (none for R^d); equal ends share one z3 constant."""
    if isinstance(domain, RealSpace):
        return []
    out = []
    consts: dict = {}
    for k, (x, lo, hi) in enumerate(zip(xs, domain.lo, domain.hi)):
        if deadline is not None and k % 4096 == 4095:
            deadline.check("building the z3 query")
        a = consts.get(lo)
        if a is None:
            a = consts[lo] = rational(lo, x.ctx)
        b = consts.get(hi)
        if b is None:
            b = consts[hi] = rational(hi, x.ctx)
        out.append(x >= a)
        out.append(x <= b)
    return out


def max_expr(values: Sequence, name: str, side: list):
    """A fresh variable equal to ``max(values)`` (constraints appended to ``side``)."""
    if len(values) == 1:
        return values[0]
    m = z3.Real(name, values[0].ctx)
    side.extend(m >= v for v in values)
    side.append(z3.Or([m == v for v in values]))
    return m


class Z3Lowering:
    """z3 terms for every node of ``net`` (a walk with the table ``z3.lowering``).

    Parameters
    ----------
    net : Network
    xs : list of z3 Real terms, the inputs (of a :class:`~verify.backends.z3_session.Z3Session`).
    prefix : str
        Prefix of fresh variable names (two networks in one query need different prefixes).
    phases : dict, optional
        ``relu -> "active" | "inactive" | "unstable"`` (from sound bounds): stable ReLUs are linear.
    bounds : dict, optional
        Sound ``node -> (lo, hi)`` bounds, asserted for the pre-activations of unstable ReLUs (they are
        implied, but they help the solver).
    deadline : Deadline, optional
        Checked between nodes and every few thousand terms of a wide affine node (building the terms of
        a layer of 10^5 inputs takes seconds).
    """

    def __init__(self, net: Network, xs: Sequence, prefix: str = "n", phases=None, bounds=None, deadline=None):
        self.net = net
        self.xs = list(xs)
        self.prefix = prefix
        self.phases = phases or {}
        self.bounds = bounds
        self.deadline = deadline if deadline is not None and deadline.seconds is not None else None
        self.side: list = []
        self.ctx = self.xs[0].ctx if self.xs else None
        self.values: dict = walk(net, Z3_LOWERING, self, deadline=self.deadline, doing="building the z3 query")

    @property
    def outputs(self) -> list:
        return [self.values[o] for o in self.net.outputs]


def _input(low, net, node, values):
    return low.xs[net.graph.nodes[node]["index"]]


# Above this many terms an affine node is built through z3's C API directly (about 4x faster than the
# Python operators, which coerce and wrap every product: seconds for a layer of 10^5 inputs).
WIDE_AFFINE = 256


def _wide_affine(low, terms, bias):
    """``sum_k w_k v_k + bias`` as one z3 ``+`` node, made with the C API (same term as the slow path).

    Every intermediate AST is reference-counted while it is needed (z3py contexts are reference
    counted: an AST with count 0 may be freed by the next call), then released once the sum holds it.
    """
    core = _import_z3().z3core
    ctx = low.ctx
    ref = ctx.ref()
    real = _import_z3().RealSort(ctx).ast
    made = []
    args = []
    try:
        for k, (v, w) in enumerate(terms):
            if low.deadline is not None and k % 4096 == 4095:
                low.deadline.check("building the z3 query")
            a = v.as_ast()
            if w == -1:
                a = core.Z3_mk_unary_minus(ref, a)
                core.Z3_inc_ref(ref, a)
                made.append(a)
            elif w != 1:
                num = core.Z3_mk_numeral(ref, f"{w.numerator}/{w.denominator}", real)
                core.Z3_inc_ref(ref, num)
                made.append(num)
                pair = (_import_z3().Ast * 2)(num, a)
                a = core.Z3_mk_mul(ref, 2, pair)
                core.Z3_inc_ref(ref, a)
                made.append(a)
            args.append(a)
        if bias != 0:
            num = core.Z3_mk_numeral(ref, f"{bias.numerator}/{bias.denominator}", real)
            core.Z3_inc_ref(ref, num)
            made.append(num)
            args.append(num)
        arr = (_import_z3().Ast * len(args))(*args)
        return _import_z3().ArithRef(core.Z3_mk_add(ref, len(args), arr), ctx)
    finally:
        for a in made:
            core.Z3_dec_ref(ref, a)


def _affine(low, net, node, values):
    items = net.affine_terms(node)
    if len(items) >= WIDE_AFFINE:
        return _wide_affine(low, [(values[p], w) for p, w in items], net.bias(node))
    terms = []
    for p, w in items:
        v = values[p]
        terms.append(v if w == 1 else (-v if w == -1 else rational(w, low.ctx) * v))
    b = net.bias(node)
    if b != 0 or not terms:
        terms.append(rational(b, low.ctx))
    return terms[0] if len(terms) == 1 else z3.Sum(terms)


def _relu(low, net, node, values):
    pre_node = net.single_pred(node)
    p = values[pre_node]
    phase = low.phases.get(node, "unstable")
    if phase == "active":
        return p
    if phase == "inactive":
        return rational(0, low.ctx)
    if low.bounds is not None and pre_node in low.bounds:
        lo, hi = low.bounds[pre_node]
        low.side.append(p >= rational(lo, low.ctx))
        low.side.append(p <= rational(hi, low.ctx))
    return z3.If(p > 0, p, rational(0, low.ctx))


def _max(low, net, node, values):
    vals = [values[p] for p in net.preds(node)]
    return max_expr(vals, f"{low.prefix}_{node}", low.side)


def _output(low, net, node, values):
    return values[net.single_pred(node)]


Z3_LOWERING = Handlers("z3.lowering", {Op.INPUT: _input, Op.AFFINE: _affine, Op.RELU: _relu, Op.MAX: _max,
                                       Op.OUTPUT: _output})
