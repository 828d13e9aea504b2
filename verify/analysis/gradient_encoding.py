"""Values and gradients of every node of a network as z3 terms (a walk, table ``gradients.z3-encoding``).

Two modes, both exact in linear real arithmetic:

* ``"region"``: Boolean pattern variables choose each ReLU's phase (and an Int each max node's argument);
  the constraints say that ``x`` lies in the *open* region of that pattern, and gradients are those of
  the affine piece (the true gradient of the network at ``x``). The tie rule is the one of
  :mod:`verify.backends.patterns`: a ReLU whose pre-activation is constant on the piece (zero gradient)
  is *inactive* when that constant is exactly 0, and among tied identical arguments a max node chooses
  the first. So every satisfiable pattern describes a non-empty open set on which the network is affine,
  and every such open set has exactly one pattern.
* ``"autodiff"``: no pattern variables; gradients are what reverse-mode autodiff computes at ``x`` with
  ``relu'(0) = s`` and a rule for max nodes (``"first"``, ``"split"``, ``"all"``).

Every term lives in the context of the query's :class:`~verify.backends.z3_session.Z3Session`. Terms are
kept as Python Fractions while they are constant (most gradients are), so the encoding stays small.
"""

from __future__ import annotations

from fractions import Fraction

from ..backends.z3_backend import rational, z3
from ..backends.z3_session import Z3Session
from ..domain import Box
from ..errors import DomainError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk
from ..numbers import to_text

__all__ = ["GradientEncoding", "open_box", "pattern_from_model", "blocking_clause", "GRADIENT_ENCODING"]


class GradientEncoding:
    """Value ``val[n]`` and gradient ``grad[n]`` (a tuple, one entry per input) of every node.

    ``side`` holds the constraints (region mode: the pattern's open region); the pattern variables are
    ``relu_vars`` (ReLU -> Bool) and ``max_vars`` (max node -> Int).
    """

    def __init__(self, session: Z3Session, net: Network, xs, mode: str, s: Fraction = Fraction(0),
                 max_rule: str = "first", prefix: str = "g"):
        self.session, self.ctx = session, session.ctx
        self.net, self.xs, self.mode, self.s, self.max_rule = net, list(xs), mode, s, max_rule
        self.prefix = prefix
        self.side: list = []
        self.relu_vars: dict = {}
        self.max_vars: dict = {}
        self.pattern_vars: dict = {}  # both kinds, in topological order
        self.d = net.n_inputs
        self.val: dict = {}
        self.grad: dict = {}
        walk(net, GRADIENT_ENCODING, self)

    # -- terms that stay Fractions while they are constant ----------------------------------------
    def q(self, v):
        return rational(v, self.ctx)

    def lin(self, terms):
        """z3 sum of (coef, term) pairs; constants stay Fractions when possible."""
        const = Fraction(0)
        parts = []
        for c, t in terms:
            if isinstance(t, Fraction):
                const += c * t
            elif c == 1:
                parts.append(t)
            elif c == -1:
                parts.append(-t)
            else:
                parts.append(self.q(c) * t)
        if not parts:
            return const
        if const:
            parts.append(self.q(const))
        return parts[0] if len(parts) == 1 else z3.Sum(parts)

    def z(self, v):
        return self.q(v) if isinstance(v, Fraction) else v

    def boolean(self, c):
        """A z3 Bool from a z3 Bool or a Python bool."""
        return z3.BoolVal(c, self.ctx) if isinstance(c, bool) else c

    def is_zero(self, v):
        """A z3 condition (or Python bool) for ``v == 0``."""
        return v == 0 if isinstance(v, Fraction) else v == self.q(0)

    def all(self, conds):
        conds = [c for c in conds if c is not True]
        if any(c is False for c in conds):
            return False
        if not conds:
            return True
        return conds[0] if len(conds) == 1 else z3.And(conds)

    def ite(self, c, a, b):
        if c is True:
            return a
        if c is False:
            return b
        if isinstance(a, Fraction) and isinstance(b, Fraction) and a == b:
            return a
        return z3.If(c, self.z(a), self.z(b))

    def gt(self, a, b):
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return a > b
        return self.z(a) > self.z(b)

    def ge(self, a, b):
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return a >= b
        return self.z(a) >= self.z(b)

    def lt(self, a, b):
        return self.gt(b, a)

    def le(self, a, b):
        return self.ge(b, a)


def _input(enc, net, node, values):
    i = net.graph.nodes[node]["index"]
    enc.val[node] = enc.xs[i]
    enc.grad[node] = tuple(Fraction(int(k == i)) for k in range(enc.d))


def _affine(enc, net, node, values):
    terms = net.affine_terms(node)
    enc.val[node] = enc.lin([(w, enc.val[p]) for p, w in terms] + [(Fraction(1), net.bias(node))])
    enc.grad[node] = tuple(enc.lin([(w, enc.grad[p][k]) for p, w in terms]) for k in range(enc.d))


def _relu(enc, net, node, values):
    p = net.single_pred(node)
    v, g = enc.val[p], enc.grad[p]
    zero = Fraction(0)
    if enc.mode == "region":
        b = z3.Bool(f"{enc.prefix}_{node}", enc.ctx)
        enc.relu_vars[node] = enc.pattern_vars[node] = b
        flat = enc.all([enc.is_zero(c) for c in g])
        # active: strictly positive; inactive: strictly negative, or constant <= 0 on the piece.
        enc.side.append(z3.Implies(b, enc.boolean(enc.gt(v, zero))))
        enc.side.append(z3.Implies(z3.Not(b), z3.Or(enc.boolean(enc.lt(v, zero)),
                                                    z3.And(enc.boolean(flat), enc.boolean(enc.le(v, zero))))))
        enc.val[node] = enc.ite(b, v, zero)
        enc.grad[node] = tuple(enc.ite(b, c, zero) for c in g)
    else:
        pos, neg = enc.gt(v, zero), enc.lt(v, zero)
        enc.val[node] = enc.ite(pos, v, zero)
        enc.grad[node] = tuple(enc.ite(pos, c, enc.ite(neg, zero, enc.s * c if isinstance(c, Fraction)
                                                       else enc.lin([(enc.s, c)])))
                               for c in g)


def _max(enc, net, node, values):
    preds = net.preds(node)
    vals = [enc.val[p] for p in preds]
    grads = [enc.grad[p] for p in preds]
    k = len(preds)
    d = enc.d
    true = z3.BoolVal(True, enc.ctx)
    if enc.mode == "region":
        c = z3.Int(f"{enc.prefix}_{node}", enc.ctx)
        enc.max_vars[node] = enc.pattern_vars[node] = c
        enc.side.append(z3.And(c >= 0, c < k))
        chosen = []
        for i in range(k):
            conds = []
            for j in range(k):
                if j < i:
                    conds.append(enc.boolean(enc.gt(vals[i], vals[j])))
                elif j > i:
                    same = enc.all([enc.is_zero(enc.lin([(Fraction(1), grads[i][t]), (Fraction(-1), grads[j][t])]))
                                    for t in range(d)])
                    conds.append(z3.Or(enc.boolean(enc.gt(vals[i], vals[j])),
                                       z3.And(enc.boolean(same), enc.boolean(enc.ge(vals[i], vals[j])))))
            enc.side.append(z3.Implies(c == i, z3.And(conds) if conds else true))
            chosen.append(c == i)
    else:
        chosen = []
        for i in range(k):
            conds = ([enc.boolean(enc.gt(vals[i], vals[j])) for j in range(i)]
                     + [enc.boolean(enc.ge(vals[i], vals[j])) for j in range(i + 1, k)])
            chosen.append(z3.And(conds) if conds else true)
    val = vals[-1]
    for i in range(k - 2, -1, -1):
        val = enc.ite(chosen[i], vals[i], val)
    enc.val[node] = val
    if enc.mode == "autodiff" and enc.max_rule != "first":
        # split / all: the gradient goes to every maximal argument (scaled by 1/#ties for split).
        ismax = [z3.And([enc.boolean(enc.ge(vals[i], vals[j])) for j in range(k) if j != i]) for i in range(k)]
        count = z3.Sum([z3.If(m, enc.q(1), enc.q(0)) for m in ismax])
        g = []
        for t in range(d):
            total = z3.Sum([z3.If(ismax[i], enc.z(grads[i][t]), enc.q(0)) for i in range(k)])
            if enc.max_rule == "split":
                # total / count, kept linear: count is one of 1..k
                split = total
                for cnt in range(2, k + 1):
                    split = z3.If(count == cnt, total * enc.q(Fraction(1, cnt)), split)
                g.append(split)
            else:
                g.append(total)
        enc.grad[node] = tuple(g)
    else:
        g = []
        for t in range(d):
            acc = grads[-1][t]
            for i in range(k - 2, -1, -1):
                acc = enc.ite(chosen[i], grads[i][t], acc)
            g.append(acc)
        enc.grad[node] = tuple(g)


def _output(enc, net, node, values):
    p = net.single_pred(node)
    enc.val[node], enc.grad[node] = enc.val[p], enc.grad[p]


GRADIENT_ENCODING = Handlers("gradients.z3-encoding", {Op.INPUT: _input, Op.AFFINE: _affine, Op.RELU: _relu,
                                                       Op.MAX: _max, Op.OUTPUT: _output})


def open_box(session: Z3Session, xs, box: Box) -> list:
    """``lo < x < hi`` for every coordinate (a degenerate coordinate is refused: the query needs an open box)."""
    for i, (a, b) in enumerate(zip(box.lo, box.hi)):
        if a >= b:
            raise DomainError(f"box coordinate {i} is degenerate ([{to_text(a)},{to_text(b)}]): the query needs an open box")
    return [c for x, a, b in zip(xs, box.lo, box.hi) for c in (x > session.rational(a), x < session.rational(b))]


def pattern_from_model(enc: GradientEncoding, model) -> dict:
    """The activation pattern (ReLU -> bool, max node -> index) chosen by a model of a region encoding."""
    pattern = {n: z3.is_true(model.eval(v, model_completion=True)) for n, v in enc.relu_vars.items()}
    pattern.update({n: model.eval(v, model_completion=True).as_long() for n, v in enc.max_vars.items()})
    return pattern


def blocking_clause(enc: GradientEncoding, pattern: dict):
    """``Or`` of "some pattern variable differs from ``pattern``" (None when there is no variable)."""
    block = [v != (z3.BoolVal(pattern[n], enc.ctx) if n in enc.relu_vars else pattern[n])
             for n, v in enc.pattern_vars.items()]
    return z3.Or(block) if block else None
