"""The IR as sympy expressions, and sympy expressions as IR networks.

:func:`to_sympy` walks the graph in topological order with one handler per op (DESIGN.md, habit 2;
tables ``sympy.max`` and ``sympy.piecewise``):
an affine node is a sum with exact :class:`sympy.Rational` coefficients, ``relu(t)`` is ``Max(t, 0)``
and a ``max`` node is ``Max(...)``. :func:`from_sympy` goes the other way for expressions built from
``+``, multiplication by rational constants, ``Max``, ``Min``, ``Abs`` and any nesting of them:

- ``Min(a, b, ...) = -Max(-a, -b, ...)`` (order reversal),
- ``Abs(a) = relu(a) + relu(-a)`` (two ReLUs),
- ``Max(t, 0)`` is a ReLU,
- any other ``Max(a, b, ...)`` becomes one IR ``max`` node by default (``max_as="max"``): a formula's ``Max``
  then stays a max, so it can be compared with a ReLU emulation by :func:`check_equivalent` and
  :func:`worst_case_error`. With ``max_as`` set to a gadget name (``"A"``, ``"B"``, ``"skip"``) the
  ``Max`` is built as a balanced tree of that ReLU gadget instead (Arora et al., ICLR 2018,
  arXiv:1611.01491: ceil(log2 k) hidden layers for k arguments), and the network has ReLUs only.

Both directions are exact; round trips are checked by meaning (z3 proves the two networks equal),
never by comparing strings (DESIGN.md, habit 8).

sympy evaluates ``Max`` eagerly and may reorder or merge arguments; it never changes the value.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ..errors import GraphError, ResourceLimitError, UnsupportedOpError, VerifyError
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk

__all__ = ["to_sympy", "from_sympy", "to_latex", "input_symbols", "MAX_EXPRESSION_SIZE", "SYMPY_HANDLED_OPS"]

# A DAG with shared nodes becomes a tree as an expression; its size (counted before anything is built)
# can grow exponentially with depth. Larger expressions are refused.
MAX_EXPRESSION_SIZE = 200_000


def _sympy():
    import sympy  # a core dependency; imported here so that ``import verify`` stays light

    return sympy


def input_symbols(n: int, prefix: str = "x", start: int = 1) -> tuple:
    """Real sympy symbols ``x1 .. xn`` (numbered from ``start``), one per network input."""
    sp = _sympy()
    return tuple(sp.Symbol(f"{prefix}{i}", real=True) for i in range(start, start + n))


def _tree_sizes(net: Network) -> dict:
    size: dict = {}
    for n in net.order:
        size[n] = 1 + sum(size[p] for p in net.preds(n))
    return size


def _rational(sp, q: Fraction):
    return sp.Rational(q.numerator, q.denominator)


def to_sympy(net: Network, symbols: Sequence | None = None, *, form: str = "max", deadline=None):
    """The function of ``net`` as a sympy expression (one output) or a tuple of expressions.

    Parameters
    ----------
    net : Network
    symbols : sequence of sympy symbols, optional
        One per input; default ``x1 .. xd`` (real).
    form : {"max", "piecewise"}
        ``"max"``: ReLUs as ``Max(t, 0)``, max nodes as ``Max``. ``"piecewise"``: ReLUs as
        ``Piecewise((t, t > 0), (0, True))`` and max nodes as a ``Piecewise`` choosing the first
        maximal argument (the same function).
    deadline : Deadline, optional
        Checked between nodes (:class:`~verify.errors.DeadlineExpired` when the time is up).

    Examples
    --------
    >>> from verify.constructions import max_tree
    >>> to_sympy(max_tree(2, gadget="skip"))
    x2 + Max(0, x1 - x2)
    """
    sp = _sympy()
    if form not in ("max", "piecewise"):
        raise VerifyError(f"unknown form {form!r} (choose 'max' or 'piecewise')")
    if symbols is None:
        symbols = input_symbols(net.n_inputs)
    symbols = tuple(symbols)
    if len(symbols) != net.n_inputs:
        raise VerifyError(f"{len(symbols)} symbols given for a network with {net.n_inputs} inputs")
    sizes = _tree_sizes(net)
    biggest = max(sizes[o] for o in net.outputs)
    if biggest > MAX_EXPRESSION_SIZE:
        raise ResourceLimitError(
            f"the expression would have {biggest} nodes (limit {MAX_EXPRESSION_SIZE}): the network shares "
            f"too many intermediate values to be written as one formula"
        )
    table = PIECEWISE_HANDLERS if form == "piecewise" else SYMPY_HANDLERS
    values = walk(net, table, (sp, symbols), deadline=deadline, doing="building the sympy formula")
    out = [values[o] for o in net.outputs]
    return out[0] if len(out) == 1 else tuple(out)


# One handler per op; ``ctx`` is ``(sympy module, input symbols)``.
def _sym_input(ctx, net, node, values):
    return ctx[1][net.graph.nodes[node]["index"]]


def _sym_affine(ctx, net, node, values):
    sp = ctx[0]
    terms = [_rational(sp, w) * values[p] for p, w in net.affine_terms(node)]
    return sp.Add(*terms, _rational(sp, net.bias(node)))


def _sym_relu(ctx, net, node, values):
    return ctx[0].Max(values[net.single_pred(node)], 0)


def _sym_max(ctx, net, node, values):
    return ctx[0].Max(*[values[p] for p in net.preds(node)])


def _pw_relu(ctx, net, node, values):
    sp = ctx[0]
    t = values[net.single_pred(node)]
    return sp.Piecewise((t, t > 0), (0, True), evaluate=False)


def _pw_max(ctx, net, node, values):
    # First maximal argument wins: (a_k, a_k >= a_j for all later j) in order.
    sp = ctx[0]
    args = [values[p] for p in net.preds(node)]
    pieces = [(a, sp.And(*[a >= c for c in args[k + 1:]])) for k, a in enumerate(args[:-1])]
    return sp.Piecewise(*pieces, (args[-1], True), evaluate=False)


def _sym_output(ctx, net, node, values):
    return values[net.single_pred(node)]


SYMPY_HANDLERS = Handlers("sympy.max", {
    Op.INPUT: _sym_input,
    Op.AFFINE: _sym_affine,
    Op.RELU: _sym_relu,
    Op.MAX: _sym_max,
    Op.OUTPUT: _sym_output,
})
PIECEWISE_HANDLERS = SYMPY_HANDLERS.extended("sympy.piecewise", RELU=_pw_relu, MAX=_pw_max)
SYMPY_HANDLED_OPS = frozenset(SYMPY_HANDLERS)


def to_latex(net: Network, symbols: Sequence | None = None) -> str:
    """LaTeX of :func:`to_sympy` (outputs separated by ``,\\;`` when there are several)."""
    sp = _sympy()
    expr = to_sympy(net, symbols)
    if isinstance(expr, tuple):
        return r",\; ".join(sp.latex(e) for e in expr)
    return sp.latex(expr)


def from_sympy(expr, symbols: Sequence, *, max_as: str = "max", windows=None, name: str = "") -> Network:
    """Build an IR network computing ``expr`` (or one output per expression of a sequence).

    Parameters
    ----------
    expr : sympy expression or sequence of them
        Made of symbols from ``symbols``, rational numbers, ``+``, multiplication by a rational
        constant, ``Max``, ``Min``, ``Abs``, and nesting of these.
    symbols : sequence of sympy symbols
        The inputs, in order.
    max_as : {"max", "A", "B", "skip"}
        How ``Max`` is built: one IR ``max`` node, or a balanced tree of the named ReLU gadget.
    windows, name
        Passed to :meth:`GraphBuilder.build`.

    Raises
    ------
    UnsupportedOpError
        For anything else (a product of two non-constant terms, a float, ``Piecewise``, a function),
        naming the offending sub-expression.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", real=True)
    >>> net = from_sympy(sp.Min(a, b) + sp.Abs(a - b), [a, b])
    >>> from verify.backends.evaluator import evaluate
    >>> evaluate(net, [3, 5])
    (Fraction(5, 1),)
    """
    sp = _sympy()
    from ..constructions.gadgets import check_gadget
    from ..constructions.max_trees import tree_max_expr

    if max_as != "max":
        check_gadget(max_as)
    symbols = tuple(symbols)
    if len(set(symbols)) != len(symbols):
        raise VerifyError("the symbols must be distinct")
    for s in symbols:
        if not isinstance(s, sp.Symbol):
            raise VerifyError(f"{s!r} is not a sympy Symbol")
    exprs = list(expr) if isinstance(expr, (list, tuple)) else [expr]
    if not exprs:
        raise VerifyError("no expression given")
    index = {s: i for i, s in enumerate(symbols)}
    b = GraphBuilder(len(symbols))
    xs = b.input_exprs()
    cache: dict = {}

    def build_max(args: list[Expr]) -> Expr:
        if len(args) == 1:
            return args[0]
        zero = [k for k, a in enumerate(args) if not a.coef and a.const == 0]
        if len(args) == 2 and len(zero) == 1:
            return b.relu(args[1 - zero[0]])  # max(t, 0) is a ReLU, whatever max_as says
        if max_as == "max":
            return b.max(args)
        return tree_max_expr(b, args, max_as)

    def walk(e) -> Expr:
        if e in cache:
            return cache[e]
        out = visit(e)
        cache[e] = out
        return out

    def visit(e) -> Expr:
        if isinstance(e, sp.Symbol):
            if e not in index:
                raise UnsupportedOpError(f"symbol {e} is not one of the inputs {', '.join(map(str, symbols))}")
            return xs[index[e]]
        if e.is_Number:
            if not e.is_Rational:
                raise UnsupportedOpError(f"number {e} is not an exact rational (write it as a Rational)")
            return Expr(const=Fraction(int(e.p), int(e.q)))
        if isinstance(e, sp.Add):
            return Expr.sum(walk(a) for a in e.args)
        if isinstance(e, sp.Mul):
            coeff, rest = e.as_coeff_Mul()
            if not coeff.is_Rational:
                raise UnsupportedOpError(f"coefficient {coeff} in {e} is not an exact rational")
            if isinstance(rest, sp.Mul):
                raise UnsupportedOpError(f"product {e} is not a rational constant times one term")
            return walk(rest) * Fraction(int(coeff.p), int(coeff.q))
        if isinstance(e, sp.Max):
            return build_max([walk(a) for a in e.args])
        if isinstance(e, sp.Min):
            return -build_max([-walk(a) for a in e.args])
        if isinstance(e, sp.Abs):
            a = walk(e.args[0])
            return b.relu(a) + b.relu(-a)
        raise UnsupportedOpError(
            f"{type(e).__name__} in {e} is not supported (use +, rational *, Max, Min, Abs)"
        )

    for k, e in enumerate(exprs):
        e = sp.sympify(e)
        free = e.free_symbols - set(symbols)
        if free:
            raise UnsupportedOpError(
                f"expression {k} uses {', '.join(sorted(map(str, free)))}, which are not among the input symbols"
            )
        b.output(walk(e))
    try:
        return b.build(windows=windows, name=name)
    except GraphError as exc:  # e.g. windows of the wrong length
        raise VerifyError(str(exc)) from None

