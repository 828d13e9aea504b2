"""Affine forms under an activation pattern, exactly: the one place that computes them.

An *activation pattern* fixes, for every ReLU node, whether it is active, and for every ``max`` node,
which predecessor it selects. Under a fixed pattern every node of the network is an affine function of
the input ``x``; the set of inputs where the network follows the pattern is a polyhedron.

Tie rule (the toolkit's only one)
---------------------------------
A ReLU whose pre-activation is **exactly 0 is inactive** (its value and, on a piece, its derivative
are 0), and a ``max`` node whose largest predecessors tie **selects the first** of them (the lowest
position among its predecessors). :func:`activation_pattern`, the region enumerator
(:mod:`verify.analysis.regions`), the one-hidden-layer procedure, the gradient encodings, the MILP and
the worst-case searches all follow it.

Representation
--------------
Forms are integer-scaled: an :class:`AffineForm` is ``(coef . x + const) / den`` with integer ``coef``,
``const`` and a positive integer ``den``. The network is compiled once (:class:`AffinePlan`, cached on the
network) into integer combination rules with one static denominator per node, so no ``Fraction`` is
touched while forms or point values are propagated: this stays fast when weights are float32 values
(dyadic, denominators near 2^30) or 17-digit decimals (denominators 10^17).

API
---
* :func:`activation_pattern` ``(net, x) -> Pattern``: the pattern at a rational point (exact);
* :func:`pattern_forms` ``(net, pattern) -> {node: AffineForm}``: every node's affine form;
* :func:`pattern_affine_map` ``(net, pattern, nodes=None) -> (A, c)``: ``A`` a tuple of rows of
  Fractions and ``c`` a tuple of Fractions, ``node_k(x) = A[k] . x + c[k]`` on the pattern's region
  (default: the outputs, in order);
* :func:`pattern_constraints` ``(net, pattern, integral=False) -> [(a, b), ...]``: the region of the
  pattern is ``{x : a . x <= b for every pair}`` (one pair per ReLU and per non-selected max argument,
  constant pairs that always hold left out; a pattern that no point follows may give ``(0, b)`` with
  ``b < 0``). With ``integral=True`` the pairs are scaled to integers.
* :func:`pattern_region` ``(net, pattern) -> Region``: the closed region as integer half-spaces and
  the outputs' affine maps (the :class:`Region` type the region enumerator reports too).

References
----------
Serra, Tjandraatmadja, Ramalingam, "Bounding and counting linear regions of deep neural networks",
ICML 2018 (arXiv:1711.02114): regions as activation patterns, affine on each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd, lcm
from typing import Iterator, Mapping, Sequence

import numpy as np

from ..errors import ResourceLimitError, VerifyError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk

__all__ = ["Pattern", "AffineForm", "Region", "AffinePlan", "affine_plan", "activation_pattern", "pattern_forms",
           "pattern_affine_map", "pattern_constraints", "pattern_region", "decision_nodes", "forms_fit",
           "MAX_FORM_ENTRIES", "output_values"]

# The forms of a pattern are dense: one vector of d + 1 integers per node. Above this many entries
# (nodes x (d + 1); about 1.6 GB of Python integers at the limit) they are refused instead of made:
# a network of 10^4 inputs would need 10^8 entries for its inputs' unit vectors alone.
MAX_FORM_ENTRIES = 20_000_000


def output_values(net: Network, point) -> tuple:
    """Exact outputs at a rational point by the integer-scaled plan (the same values as
    :func:`verify.backends.evaluator.evaluate`, several times faster on wide layers)."""
    plan = affine_plan(net)
    vals, scale = plan.values_at(point)
    return tuple(Fraction(vals[q], plan.den[q] * scale) for q in plan.output_positions)


def forms_fit(net: Network) -> bool:
    """Whether the dense affine forms of ``net`` (:meth:`AffinePlan.propagate`) stay within
    :data:`MAX_FORM_ENTRIES`; callers that only use them to improve a point skip them otherwise."""
    return len(net.order) * (net.n_inputs + 1) <= MAX_FORM_ENTRIES


# -- patterns -------------------------------------------------------------------------------------
class Pattern(Mapping):
    """An immutable activation pattern: ReLU node -> bool (active), max node -> selected position.

    ``key`` is the tuple of choices (1/0 for ReLUs, the position for max nodes) over the decision nodes
    in topological order (:func:`decision_nodes`); two patterns of one network are equal iff their keys are.
    """

    __slots__ = ("_choice", "key")

    def __init__(self, choices: Mapping, key: tuple):
        self._choice = dict(choices)
        self.key = key

    def __getitem__(self, node):
        return self._choice[node]

    def __iter__(self) -> Iterator:
        return iter(self._choice)

    def __len__(self) -> int:
        return len(self._choice)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        if isinstance(other, Pattern):
            return self.key == other.key and self._choice.keys() == other._choice.keys()
        return isinstance(other, Mapping) and dict(self._choice) == dict(other)

    def __repr__(self) -> str:
        return f"Pattern({self.key})"

    @property
    def active(self) -> tuple:
        """The active ReLU nodes."""
        return tuple(n for n, v in self._choice.items() if v is True)


def decision_nodes(net: Network) -> tuple:
    """The ReLU and max nodes in topological order (the positions of a pattern's ``key``)."""
    plan = affine_plan(net)
    return tuple(plan.order[q] for q in plan.decision_positions)


@dataclass(frozen=True)
class AffineForm:
    """The affine function ``(coef . x + const) / den`` (integers; ``den > 0``)."""

    coef: tuple
    const: int
    den: int

    def fractions(self) -> tuple[tuple[Fraction, ...], Fraction]:
        """``(coefficients, constant)`` as exact Fractions."""
        return tuple(Fraction(int(c), self.den) for c in self.coef), Fraction(int(self.const), self.den)

    def at(self, x: Sequence) -> Fraction:
        return (sum((int(c) * Fraction(v) for c, v in zip(self.coef, x)), Fraction(0)) + int(self.const)) / self.den


@dataclass(frozen=True)
class Region:
    """A region of a network: where it follows one activation pattern, with the outputs' affine maps.

    Attributes
    ----------
    pattern : tuple
        The pattern's ``key`` (one entry per decision node, :func:`decision_nodes`): 1/0 for a ReLU
        active / inactive, the selected position for a ``max`` node.
    point : tuple of Fraction or None
        A point strictly inside (every constraint > 0 there, checked exactly), when one is known.
    maps : tuple of (tuple of Fraction, Fraction)
        For each output, ``(coefficients, constant)`` of the network's affine map on the region.
    constraints : tuple of tuple of int
        Half-spaces ``a . x + c >= 0`` (``> 0`` in the open region) as integer vectors ``(a_1..a_d, c)``;
        box faces are not included.
    """

    pattern: tuple
    point: tuple | None
    maps: tuple
    constraints: tuple = field(repr=False, default=())

    @property
    def key(self) -> tuple:
        return self.pattern

    @property
    def gradient(self) -> tuple:
        """The linear part of output 0's map."""
        return self.maps[0][0]

    @property
    def offset(self) -> Fraction:
        return self.maps[0][1]

    def value_at(self, x) -> tuple:
        """The region's affine maps evaluated at ``x`` (exact)."""
        return tuple(sum((c * Fraction(v) for c, v in zip(coef, x)), Fraction(0)) + k for coef, k in self.maps)

    def value(self, x) -> Fraction:
        """Output 0's affine map at ``x``."""
        return self.value_at(x)[0]

    def forms(self) -> list[tuple[tuple[Fraction, ...], Fraction]]:
        """The constraints as ``(a, c)`` with Fractions: ``a . x + c >= 0``."""
        d = len(self.constraints[0]) - 1 if self.constraints else 0
        return [(tuple(Fraction(int(r[i])) for i in range(d)), Fraction(int(r[d]))) for r in self.constraints]

    def slacks(self, x) -> list[Fraction]:
        """``a . x + c`` for every constraint (exact)."""
        out = []
        for r in self.constraints:
            d = len(r) - 1
            out.append(sum((int(r[i]) * Fraction(x[i]) for i in range(d)), Fraction(0)) + int(r[d]))
        return out


# -- the integer plan -----------------------------------------------------------------------------
def _zero_vec(d: int) -> np.ndarray:
    return np.array([0] * (d + 1), dtype=object)


def _plan_input(plan, net, node, values):
    plan._add(node, Op.INPUT, net.graph.nodes[node]["index"], 1)


def _plan_affine(plan, net, node, values):
    terms = net.affine_terms(node)
    bias = net.bias(node)
    dn = lcm(bias.denominator, *(w.denominator for _, w in terms)) if terms else bias.denominator
    big_l = lcm(*(plan.den[plan.pos[p]] for p, _ in terms)) if terms else 1
    preds = np.array([plan.pos[p] for p, _ in terms], dtype=np.int64)
    if terms:
        coefs = np.array([int(w * dn) * (big_l // plan.den[plan.pos[p]]) for p, w in terms], dtype=object)
    else:
        coefs = np.zeros(0, dtype=object)
    plan._add(node, Op.AFFINE, (preds, coefs, int(bias * dn) * big_l), dn * big_l)


def _plan_relu(plan, net, node, values):
    p = plan.pos[net.single_pred(node)]
    plan._add(node, Op.RELU, p, plan.den[p])


def _plan_max(plan, net, node, values):
    ps = [plan.pos[p] for p in net.preds(node)]
    big_l = lcm(*(plan.den[p] for p in ps))
    plan._add(node, Op.MAX, [(p, big_l // plan.den[p]) for p in ps], big_l)


def _plan_output(plan, net, node, values):
    p = plan.pos[net.single_pred(node)]
    plan._add(node, Op.OUTPUT, p, plan.den[p])


# Which ops need a choice under a pattern (the others are affine in their predecessors).
IS_DECISION = Handlers("patterns.is-decision", {Op.INPUT: lambda: False, Op.AFFINE: lambda: False,
                                                Op.OUTPUT: lambda: False, Op.RELU: lambda: True,
                                                Op.MAX: lambda: True})

PLAN = Handlers("patterns.plan", {Op.INPUT: _plan_input, Op.AFFINE: _plan_affine, Op.RELU: _plan_relu,
                                  Op.MAX: _plan_max, Op.OUTPUT: _plan_output})


class AffinePlan:
    """A network compiled into integer combination rules (one static denominator per node).

    Position ``q`` is the ``q``-th node in topological order; ``ops[q]`` its op, ``rules[q]`` its data:
    the input index; ``(pred positions, integer coefficients, integer constant)`` of an affine node (its
    form is ``(sum coef_k * form_{pred_k} + const) / den[q]`` with every pred form over ``den[q]``'s
    share); the pred position of a ReLU or an output; ``[(pred position, scale), ...]`` of a max node
    (``scale`` brings the pred's denominator to the node's). Built by a walk (table ``patterns.plan``).
    """

    def __init__(self, net: Network):
        self.net = net
        self.d = net.n_inputs
        self.order: list = []
        self.pos: dict = {}
        self.den: list[int] = []
        self.ops: list = []
        self.rules: list = []
        walk(net, PLAN, self)
        self.decision_positions = [q for q, op in enumerate(self.ops) if IS_DECISION[op]()]
        self.decision_index = {q: k for k, q in enumerate(self.decision_positions)}
        self.output_positions = [self.pos[o] for o in net.outputs]

    def _add(self, node, op, rule, den) -> None:
        self.pos[node] = len(self.order)
        self.order.append(node)
        self.ops.append(op)
        self.rules.append(rule)
        self.den.append(den)

    # -- forms ---------------------------------------------------------------------------------
    def fill(self, q: int, V: np.ndarray) -> None:
        """The form of the non-decision node at ``q`` from the forms before it (input, affine, output)."""
        FILL[self.ops[q]](self, q, V)

    def form(self, q: int, vec) -> AffineForm:
        d = self.d
        return AffineForm(tuple(int(vec[i]) for i in range(d)), int(vec[d]), self.den[q])

    def propagate(self, rules) -> tuple[tuple | None, np.ndarray]:
        """Walk the plan with exact forms, asking ``rules`` at every decision node.

        ``rules.relu(k, g)`` says whether the ``k``-th decision (a ReLU with pre-activation form ``g``) is
        active; a constant pre-activation is decided by the tie rule without asking. ``rules.max(k,
        forms, rep)`` gets the distinct forms of a max node's predecessors (``[(position, form)]``, first
        occurrences; ``rep`` maps every position to its representative) and returns ``(position,
        form)``. Either may return None to stop: the choices are then None. Returns ``(choices, V)``.
        """
        entries = len(self.order) * (self.d + 1)
        if entries > MAX_FORM_ENTRIES:
            raise ResourceLimitError(f"the affine forms of a network of {len(self.order):,} nodes and {self.d:,} inputs "
                                     f"would hold {entries:,} numbers, more than the limit {MAX_FORM_ENTRIES:,}")
        V = np.empty((len(self.order), self.d + 1), dtype=object)
        out: list = []
        for q, op in enumerate(self.ops):
            if not PROPAGATE[op](self, q, V, rules, out):
                return None, V
        return tuple(out), V

    # -- values at a point ---------------------------------------------------------------------
    def values_at(self, x: Sequence) -> tuple[list[int], int]:
        """Exact node values at the rational point ``x``: ``value(node q) = vals[q] / (den[q] * scale)``."""
        xs = [Fraction(v) for v in x]
        if len(xs) != self.d:
            raise VerifyError(f"point has {len(xs)} coordinates, the network has {self.d} inputs")
        scale = lcm(*(v.denominator for v in xs)) if xs else 1
        xp = [int(v * scale) for v in xs]
        vals: list = [0] * len(self.order)
        for q, op in enumerate(self.ops):
            vals[q] = VALUE[op](self, q, vals, xp, scale)
        return vals, scale


# Non-decision nodes: their form from earlier forms.
def _fill_input(plan, q, V):
    vec = _zero_vec(plan.d)
    vec[plan.rules[q]] = 1
    V[q] = vec


def _fill_affine(plan, q, V):
    preds, coefs, const = plan.rules[q]
    vec = coefs.dot(V[preds]) if len(preds) else _zero_vec(plan.d)
    vec[plan.d] = vec[plan.d] + const
    V[q] = vec


def _fill_output(plan, q, V):
    V[q] = V[plan.rules[q]]


def _fill_decision(plan, q, V):  # pragma: no cover - decisions are never filled without a choice
    raise VerifyError(f"node {plan.order[q]!r} is a decision node: its form needs a choice")


FILL = Handlers("patterns.fill", {Op.INPUT: _fill_input, Op.AFFINE: _fill_affine, Op.OUTPUT: _fill_output,
                                  Op.RELU: _fill_decision, Op.MAX: _fill_decision})


def _prop_fill(plan, q, V, rules, out) -> bool:
    FILL[plan.ops[q]](plan, q, V)
    return True


def _prop_relu(plan, q, V, rules, out) -> bool:
    d = plan.d
    g = V[plan.rules[q]]
    if all(g[i] == 0 for i in range(d)):
        active = g[d] > 0  # the tie rule: a pre-activation that is exactly 0 is inactive
    else:
        active = rules.relu(len(out), g)
        if active is None:
            return False
    V[q] = g if active else _zero_vec(d)
    out.append(1 if active else 0)
    return True


def _prop_max(plan, q, V, rules, out) -> bool:
    forms, rep, first = [], {}, {}
    for j, (p, scale) in enumerate(plan.rules[q]):
        f = V[p] * scale if scale != 1 else V[p]
        key = tuple(int(v) for v in f)
        if key not in first:
            first[key] = j
            forms.append((j, f))
        rep[j] = first[key]
    picked = rules.max(len(out), forms, rep)
    if picked is None:
        return False
    out.append(picked[0])
    V[q] = picked[1]
    return True


PROPAGATE = Handlers("patterns.propagate", {Op.INPUT: _prop_fill, Op.AFFINE: _prop_fill, Op.OUTPUT: _prop_fill,
                                            Op.RELU: _prop_relu, Op.MAX: _prop_max})


def _value_input(plan, q, vals, xp, scale):
    return xp[plan.rules[q]]


def _value_affine(plan, q, vals, xp, scale):
    preds, coefs, const = plan.rules[q]
    total = const * scale
    for p, c in zip(preds, coefs):
        total += c * vals[p]
    return total


def _value_relu(plan, q, vals, xp, scale):
    v = vals[plan.rules[q]]
    return v if v > 0 else 0


def _value_max(plan, q, vals, xp, scale):
    return max(vals[p] * s for p, s in plan.rules[q])


def _value_output(plan, q, vals, xp, scale):
    return vals[plan.rules[q]]


VALUE = Handlers("patterns.values", {Op.INPUT: _value_input, Op.AFFINE: _value_affine, Op.RELU: _value_relu,
                                     Op.MAX: _value_max, Op.OUTPUT: _value_output})


def affine_plan(net: Network) -> AffinePlan:
    """The network's :class:`AffinePlan` (compiled once, kept with the network)."""
    return net.memo("patterns.plan", lambda: AffinePlan(net))


# -- the API --------------------------------------------------------------------------------------
# Per decision node: the choice at a point (from exact values), and the half-spaces of a choice.
def _no_choice(plan, q, vals):
    return None


def _choose_relu(plan, q, vals):
    return vals[plan.rules[q]] > 0  # exactly 0 is inactive (the tie rule)


def _choose_max(plan, q, vals):
    scaled = [vals[p] * s for p, s in plan.rules[q]]
    return scaled.index(max(scaled))  # the first maximiser (the tie rule)


CHOOSE = Handlers("patterns.choose", {Op.INPUT: _no_choice, Op.AFFINE: _no_choice, Op.OUTPUT: _no_choice,
                                      Op.RELU: _choose_relu, Op.MAX: _choose_max})


def _no_rows(plan, q, V, choice):
    return ()


def _relu_rows(plan, q, V, choice):
    g = V[plan.rules[q]]
    return (g if choice else -g,)


def _max_rows(plan, q, V, choice):
    data = plan.rules[q]
    pk, sk = data[choice]
    fk = V[pk] * sk
    return tuple(fk - V[p] * s for j, (p, s) in enumerate(data) if j != choice)


ROWS = Handlers("patterns.rows", {Op.INPUT: _no_rows, Op.AFFINE: _no_rows, Op.OUTPUT: _no_rows,
                                  Op.RELU: _relu_rows, Op.MAX: _max_rows})


def _key_entry(choice) -> int:
    """A pattern entry as it appears in a key: 1/0 for a ReLU (a bool), the position for a max node."""
    return int(choice)


def activation_pattern(net: Network, x: Sequence) -> Pattern:
    """The pattern of the rational point ``x`` under the tie rule (module docstring), exactly.

    >>> from verify.constructions import max_tree
    >>> net = max_tree(2, "skip")            # x1 + relu(x0 - x1)
    >>> activation_pattern(net, [1, 0]).key, activation_pattern(net, [0, 0]).key
    ((1,), (0,))
    """
    plan = affine_plan(net)
    vals, _ = plan.values_at(x)
    choices = {}
    for q in plan.decision_positions:
        choices[plan.order[q]] = CHOOSE[plan.ops[q]](plan, q, vals)
    return Pattern(choices, tuple(_key_entry(c) for c in choices.values()))


class _Follow:
    """Rules that follow a given pattern (``pattern[node]`` for each decision node)."""

    def __init__(self, plan: AffinePlan, pattern: Mapping):
        self.nodes = [plan.order[q] for q in plan.decision_positions]
        self.pattern = pattern

    def relu(self, k, g):
        return bool(self.pattern[self.nodes[k]])

    def max(self, k, forms, rep):
        j = rep[self.pattern[self.nodes[k]]]
        return j, next(f for i, f in forms if i == j)


def _check_pattern(net: Network, pattern: Mapping) -> None:
    missing = [n for n in decision_nodes(net) if n not in pattern]
    if missing:
        raise VerifyError(f"the pattern has no choice for node {missing[0]!r}")


def _forms(net: Network, pattern: Mapping) -> tuple[AffinePlan, np.ndarray]:
    _check_pattern(net, pattern)
    plan = affine_plan(net)
    _, V = plan.propagate(_Follow(plan, pattern))
    return plan, V


def pattern_forms(net: Network, pattern: Mapping) -> dict:
    """Every node's :class:`AffineForm` on the region of ``pattern`` (exact)."""
    plan, V = _forms(net, pattern)
    return {n: plan.form(q, V[q]) for q, n in enumerate(plan.order)}


def pattern_affine_map(net: Network, pattern: Mapping, nodes: Sequence | None = None) -> tuple[tuple, tuple]:
    """``(A, c)``: ``value(nodes[k]) = A[k] . x + c[k]`` on the region of ``pattern`` (default: the outputs)."""
    plan, V = _forms(net, pattern)
    rows, consts = [], []
    for n in (net.outputs if nodes is None else nodes):
        a, c = plan.form(plan.pos[n], V[plan.pos[n]]).fractions()
        rows.append(a)
        consts.append(c)
    return tuple(rows), tuple(consts)


def _halfspaces(plan: AffinePlan, V: np.ndarray, pattern: Mapping) -> list:
    """Integer vectors ``(a_1..a_d, c)`` with ``a . x + c >= 0`` on the closed region, in topological order
    (each divided by the gcd of its entries; constants that always hold left out)."""
    d = plan.d
    out = []
    for q in plan.decision_positions:
        for r in ROWS[plan.ops[q]](plan, q, V, pattern[plan.order[q]]):
            if not any(r[i] for i in range(d)) and r[d] >= 0:
                continue
            g = 0
            for v in r:
                g = gcd(g, int(v))
            g = g or 1
            out.append(tuple(int(v) // g for v in r))
    return out


def pattern_constraints(net: Network, pattern: Mapping, *, integral: bool = False) -> list[tuple[tuple, object]]:
    """The region of ``pattern`` as ``[(a, b), ...]`` meaning ``a . x <= b`` (module docstring).

    >>> from verify.constructions import max_tree
    >>> net = max_tree(2, "skip")
    >>> pattern_constraints(net, activation_pattern(net, [1, 0]))   # x0 - x1 >= 0
    [((Fraction(-1, 1), Fraction(1, 1)), Fraction(0, 1))]
    """
    plan, V = _forms(net, pattern)
    out = []
    for r in _halfspaces(plan, V, pattern):
        d = len(r) - 1
        a, b = tuple(-v for v in r[:d]), r[d]  # a . x + c >= 0  <=>  -a . x <= c
        out.append((a, b) if integral else (tuple(Fraction(v) for v in a), Fraction(b)))
    return out


def pattern_region(net: Network, pattern: Mapping) -> Region:
    """The closed region of ``pattern`` with the outputs' affine maps (``point`` is None)."""
    plan, V = _forms(net, pattern)
    key = tuple(_key_entry(pattern[plan.order[q]]) for q in plan.decision_positions)
    maps = tuple(plan.form(q, V[q]).fractions() for q in plan.output_positions)
    return Region(key, None, maps, tuple(_halfspaces(plan, V, pattern)))
