"""Gradients of max pooling and of its ReLU emulations, exactly, with attention to ties.

Max is not differentiable where the largest values of a window tie. Its Clarke subdifferential there is
the convex hull of the one-hot vectors of the maximisers (LITERATURE.md section 5):
``d max(x) = conv{e_i : x_i = max(x)}``. Sending the whole gradient to one maximiser (what max-pooling
layers do) and splitting it evenly are both valid subgradients; sending it to every maximiser is not
(its entries sum to more than 1).

A ReLU emulation of max computes the same function, but automatic differentiation does not see the
function: it applies the chain rule with a fixed ``relu'(0) = s``. At a tie, or wherever a ReLU inside
the emulation reads an exact zero, the result depends on ``s`` and may leave the subdifferential;
e.g. the pass-through ``relu(t) - relu(-t) = t`` gets derivative ``2s`` at ``t = 0``, which is 0 for
``s = 0`` (Bertoin et al., "Numerical influence of ReLU'(0) on backpropagation", NeurIPS 2021,
arXiv:2106.12915). This module computes all of it exactly on the IR:

- :func:`autodiff_gradient`: reverse-mode differentiation of a network at a point, exact, with
  ``relu'(0) = s`` and a rule for ``max`` nodes (``"first"`` maximiser, ``"split"`` evenly, ``"all"``);
- :func:`clarke_max`, :func:`in_clarke_max`: the subdifferential of max at a point and membership;
- :func:`region_gradient`: the gradient of the affine piece of a network for a fixed activation pattern;
  :func:`region_gradients`: every region of a network meeting an open box, with its exact gradient
  (enumerated by z3 with pattern variables, each region confirmed exactly);
- :func:`tie_table`: autodiff of the max-tree emulations over all windows with entries in {0, 1};
- :func:`check_gradient_onehot`: an SMT query, "for every x in the open box with a unique argmax, the
  gradient of the network (true gradient, or autodiff with a given ``s``) is the one-hot of the argmax".

References
----------
F. H. Clarke, Optimization and Nonsmooth Analysis, Wiley 1983 (generalised gradient of a max).
D. Bertoin, J. Bolte, S. Gerchinovitz, E. Pauwels, NeurIPS 2021, arXiv:2106.12915.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

from ..backends.evaluator import evaluate_nodes
from ..backends.patterns import pattern_affine_map, pattern_forms
from ..backends.z3_backend import z3
from ..backends.z3_session import Z3Session
from ..deadline import Deadline
from ..domain import Box
from ..errors import ResourceLimitError, ToolkitBugError, VerifyError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk_reverse
from ..numbers import to_text
from ..status import Status
from .gradient_encoding import GradientEncoding, blocking_clause, open_box, pattern_from_model

__all__ = [
    "MAX_RULES",
    "autodiff_gradient",
    "clarke_max",
    "in_clarke_max",
    "one_hot_first",
    "even_split",
    "region_gradient",
    "region_gradients",
    "RegionGradient",
    "tie_table",
    "TieTable",
    "check_gradient_onehot",
    "GradientCheckResult",
    "gradient_query_smtlib",
]

MAX_RULES = ("first", "split", "all")

Vector = tuple  # of Fractions


def _check_s(s) -> Fraction:
    if isinstance(s, float):
        raise VerifyError(f"relu'(0) must be an exact rational, got the float {s!r}")
    return Fraction(s)


def _argmax_set(x: Sequence[Fraction], window: Sequence[int]) -> list[int]:
    top = max(x[i] for i in window)
    return [i for i in window if x[i] == top]


def autodiff_gradient(net: Network, x: Sequence, *, s=0, max_rule: str = "first", output: int = 0) -> Vector:
    """Exact reverse-mode gradient of output ``output`` at ``x`` with ``relu'(0) = s``.

    Each ReLU contributes its derivative ``1`` (pre-activation > 0), ``0`` (< 0) or ``s`` (= 0); a
    ``max`` node passes the gradient to its first maximal predecessor (``"first"``, what max-pooling
    layers do), splits it evenly among the maximal ones (``"split"``) or gives it to each (``"all"``).
    This is what an autodiff framework computes, in exact arithmetic.

    >>> from verify.constructions import max_tree
    >>> net = max_tree(2, "A")   # relu(a - b) + relu(b) - relu(-b)
    >>> autodiff_gradient(net, [0, 0], s=0), autodiff_gradient(net, [0, 0], s=Fraction(1, 2))
    ((Fraction(0, 1), Fraction(0, 1)), (Fraction(1, 2), Fraction(1, 2)))
    """
    s = _check_s(s)
    if max_rule not in MAX_RULES:
        raise VerifyError(f"unknown max rule {max_rule!r} (choose one of {', '.join(MAX_RULES)})")
    if not 0 <= output < net.n_outputs:
        raise VerifyError(f"output {output} does not exist (the network has {net.n_outputs})")
    ctx = _Backprop(evaluate_nodes(net, x), s, max_rule, net.outputs[output])
    walk_reverse(net, AUTODIFF, ctx)
    return tuple(Fraction(ctx.adj.get(i, 0)) for i in net.inputs)


class _Backprop:
    """Adjoints accumulated by the reverse walk (``adj[node]`` = d output / d node)."""

    def __init__(self, values: dict, s: Fraction, max_rule: str, output):
        self.values, self.s, self.max_rule = values, s, max_rule
        self.adj: dict = {output: Fraction(1)}

    def add(self, node, amount) -> None:
        self.adj[node] = self.adj.get(node, 0) + amount


def _bp_input(bp: _Backprop, net, node, _):
    pass


def _bp_pass(bp: _Backprop, net, node, _):
    a = bp.adj.get(node)
    if a:
        bp.add(net.single_pred(node), a)


def _bp_affine(bp: _Backprop, net, node, _):
    a = bp.adj.get(node)
    if a:
        for p, w in net.affine_terms(node):
            bp.add(p, w * a)


def _bp_relu(bp: _Backprop, net, node, _):
    a = bp.adj.get(node)
    if not a:
        return
    p = net.single_pred(node)
    v = bp.values[p]
    slope = Fraction(1) if v > 0 else (Fraction(0) if v < 0 else bp.s)
    if slope:
        bp.add(p, slope * a)


def _bp_max(bp: _Backprop, net, node, _):
    a = bp.adj.get(node)
    if not a:
        return
    preds = net.preds(node)
    top = max(bp.values[p] for p in preds)
    tied = [p for p in preds if bp.values[p] == top]
    if bp.max_rule == "first":
        share = {tied[0]: a}
    elif bp.max_rule == "split":
        share = {p: a / len(tied) for p in tied}
    else:
        share = {p: a for p in tied}
    for p, v in share.items():
        bp.add(p, v)


AUTODIFF = Handlers("gradients.autodiff", {Op.INPUT: _bp_input, Op.AFFINE: _bp_affine, Op.RELU: _bp_relu,
                                           Op.MAX: _bp_max, Op.OUTPUT: _bp_pass})


def clarke_max(x: Sequence, window: Sequence[int] | None = None) -> list[Vector]:
    """Vertices of the Clarke subdifferential of ``max_{i in window} x_i``: one-hots of the maximisers.

    The subdifferential is their convex hull (Clarke 1983, Prop. 2.3.12).

    >>> clarke_max([1, 0, 1])
    [(1, 0, 0), (0, 0, 1)]
    """
    window = list(range(len(x))) if window is None else list(window)
    return [tuple(1 if j == i else 0 for j in range(len(x))) for i in _argmax_set([Fraction(v) for v in x], window)]


def in_clarke_max(g: Sequence, x: Sequence, window: Sequence[int] | None = None) -> bool:
    """Is ``g`` in conv{e_i : i a maximiser of x over window}? (non-negative, sum 1, zero elsewhere)."""
    window = list(range(len(x))) if window is None else list(window)
    support = set(_argmax_set([Fraction(v) for v in x], window))
    return (all(v == 0 for j, v in enumerate(g) if j not in support)
            and all(g[j] >= 0 for j in support) and sum(g[j] for j in support) == 1)


def one_hot_first(x: Sequence, window: Sequence[int] | None = None) -> Vector:
    """The max-pooling convention: the whole gradient to the first maximal index."""
    window = list(range(len(x))) if window is None else list(window)
    i = _argmax_set([Fraction(v) for v in x], window)[0]
    return tuple(Fraction(int(j == i)) for j in range(len(x)))


def even_split(x: Sequence, window: Sequence[int] | None = None) -> Vector:
    """The even-split convention: 1/k to each of the k maximisers."""
    window = list(range(len(x))) if window is None else list(window)
    tied = set(_argmax_set([Fraction(v) for v in x], window))
    return tuple(Fraction(1, len(tied)) if j in tied else Fraction(0) for j in range(len(x)))


# -- gradients of affine pieces -----------------------------------------------------------------------
def _pattern_gradients(net: Network, pattern: dict) -> dict:
    """Gradient of every node on the piece selected by ``pattern`` (relu -> bool, max -> index)."""
    return {n: form.fractions()[0] for n, form in pattern_forms(net, pattern).items()}


def region_gradient(net: Network, pattern: dict, output: int = 0) -> Vector:
    """Exact gradient of the affine piece of ``net`` with activation ``pattern``.

    ``pattern`` maps every ReLU to ``True`` (active) / ``False`` and every ``max`` node to the index of
    the predecessor it selects (see :func:`verify.backends.patterns.activation_pattern`).
    """
    (row,), _ = pattern_affine_map(net, pattern, [net.outputs[output]])
    return row


def _confirm_open_region(net: Network, pattern: dict, x, box: Box) -> dict:
    """Check exactly that ``x`` is in the open box and in the open region of ``pattern``; return gradients.

    The tie rule of :mod:`verify.backends.patterns`: a ReLU is active iff its pre-activation is > 0 at x,
    inactive iff it is < 0, or exactly 0 and constant on the piece.
    """
    if not all(a < v < b for a, v, b in zip(box.lo, x, box.hi)):
        raise ToolkitBugError("solver point is not inside the open box")
    vals = evaluate_nodes(net, x)
    grads = _pattern_gradients(net, pattern)
    for n in net.relu_nodes:
        p = net.single_pred(n)
        flat = not any(grads[p])
        ok = vals[p] > 0 if pattern[n] else (vals[p] < 0 or (flat and vals[p] <= 0))
        if not ok:
            raise ToolkitBugError(f"solver point is not in the open region claimed for ReLU {n!r}")
    for n in net.max_nodes:
        preds = net.preds(n)
        i = pattern[n]
        for j, q in enumerate(preds):
            if j == i:
                continue
            vi, vj = vals[preds[i]], vals[q]
            strict = vi > vj
            if not (strict or (j > i and grads[preds[i]] == grads[q] and vi >= vj)):
                raise ToolkitBugError(f"solver point is not in the open region claimed for max node {n!r}")
    return grads


@dataclass(frozen=True)
class RegionGradient:
    """One open activation region of a network in a box: its pattern, exact gradient and a point of it."""

    active: tuple  # ReLU nodes active on the region
    choices: dict  # max node -> chosen predecessor index
    gradient: Vector
    witness: tuple

    def to_json(self) -> dict:
        return {"active": [str(n) for n in self.active], "choices": {str(k): v for k, v in self.choices.items()},
                "gradient": [to_text(v) for v in self.gradient], "witness": [to_text(v) for v in self.witness]}


def region_gradients(net: Network, box: Box, *, output: int = 0, limit: int = 10_000,
                     timeout: float | None = None) -> list[RegionGradient]:
    """Every activation region of ``net`` that meets the open ``box``, with its exact gradient.

    Regions are enumerated by z3 over pattern variables (each found pattern is then excluded); each is
    confirmed exactly: the witness lies in the open region (checked by the exact evaluator) and the
    gradient is that of the affine piece, computed on the IR in rational arithmetic. Raises
    :class:`ResourceLimitError` beyond ``limit`` regions.

    >>> from verify.constructions import max_tree
    >>> sorted(r.gradient for r in region_gradients(max_tree(2, "skip"), Box.cube(2, -1, 1)))
    [(Fraction(0, 1), Fraction(1, 1)), (Fraction(1, 1), Fraction(0, 1))]
    """
    if not 0 <= output < net.n_outputs:
        raise VerifyError(f"output {output} does not exist (the network has {net.n_outputs})")
    if box.dim != net.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the network has {net.n_inputs} inputs")
    session = Z3Session(Deadline(timeout))
    xs = session.reals(net.n_inputs)
    enc = GradientEncoding(session, net, xs, "region")
    solver = session.solver()
    solver.add(*(open_box(session, xs, box) + enc.side))
    found = []
    while True:
        answer = solver.check()
        if answer.unsat:
            return found
        if answer.unknown:
            raise ResourceLimitError(f"region enumeration stopped after {len(found)} regions: solver returned unknown")
        if len(found) >= limit:
            raise ResourceLimitError(f"more than {limit} regions meet the box")
        point = answer.point
        pattern = pattern_from_model(enc, solver.model())
        grads = _confirm_open_region(net, pattern, point, box)
        found.append(RegionGradient(
            active=tuple(n for n in net.relu_nodes if pattern[n]),
            choices={n: pattern[n] for n in net.max_nodes},
            gradient=grads[net.outputs[output]], witness=point))
        block = blocking_clause(enc, pattern)
        if block is None:
            return found
        solver.add(block)


# -- the tie table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TieTable:
    """Autodiff of max-tree emulations on every window with entries in ``values``.

    ``rows[(gadget, s)]`` is a list of dicts with the pattern, the gradient, whether it is a valid
    subgradient (in the Clarke subdifferential of max), and whether it equals the first-index and the
    even-split conventions.
    """

    kernel: int
    values: tuple
    rows: dict = field(default_factory=dict)

    def summary(self) -> list[dict]:
        out = []
        for (gadget, s), rows in self.rows.items():
            out.append({
                "gadget": gadget, "s": s, "patterns": len(rows),
                "invalid": sum(not r["valid"] for r in rows),
                "differs_from_first": sum(not r["first"] for r in rows),
                "differs_from_split": sum(not r["split"] for r in rows),
            })
        return out

    def invalid(self, gadget: str, s) -> list[tuple]:
        """Patterns where the emulation's autodiff gradient is not a subgradient of max."""
        return [r["pattern"] for r in self.rows[(gadget, Fraction(s))] if not r["valid"]]

    def to_json(self) -> dict[str, Any]:
        return {
            "query": "ties", "kernel": self.kernel, "values": [to_text(v) for v in self.values],
            "summary": [dict(r, s=to_text(r["s"])) for r in self.summary()],
            "rows": [
                {"gadget": g, "s": to_text(s), "pattern": [to_text(v) for v in r["pattern"]],
                 "gradient": [to_text(v) for v in r["gradient"]], "valid": r["valid"],
                 "equals_first": r["first"], "equals_split": r["split"]}
                for (g, s), rows in self.rows.items() for r in rows
            ],
        }


def tie_table(kernel: int, gadgets: Sequence[str] = ("A", "B", "skip"),
              slopes: Sequence = (Fraction(0), Fraction(1, 2), Fraction(1)), values: Sequence = (0, 1)) -> TieTable:
    """Autodiff of the max tree of a ``kernel x kernel`` window at every pattern in ``values^(k*k)``.

    For each gadget and each ``s = relu'(0)``, every pattern's exact autodiff gradient is checked
    against the Clarke subdifferential of max (:func:`in_clarke_max`) and compared with the two
    max-pooling conventions (:func:`one_hot_first`, :func:`even_split`). Windows are row-major.
    """
    from ..constructions.gadgets import check_gadget
    from ..constructions.max_trees import max_tree

    if isinstance(kernel, bool) or not isinstance(kernel, int) or not 1 <= kernel <= 4:
        raise VerifyError(f"kernel must be 1..4 (the table has len(values)^(k*k) rows), got {kernel!r}")
    values = tuple(Fraction(v) for v in values)
    d = kernel * kernel
    if len(values) ** d > 1 << 16:
        raise ResourceLimitError(f"{len(values)}^{d} patterns is too many for a table (limit 65536)")
    table = TieTable(kernel, values)
    patterns = list(itertools.product(values, repeat=d))
    for gadget in gadgets:
        check_gadget(gadget)
        net = max_tree(d, gadget)
        for s in slopes:
            s = _check_s(s)
            rows = []
            for x in patterns:
                g = autodiff_gradient(net, x, s=s)
                rows.append({"pattern": x, "gradient": g, "valid": in_clarke_max(g, x),
                             "first": g == one_hot_first(x), "split": g == even_split(x)})
            table.rows[(gadget, s)] = rows
    return table


# -- the SMT gradient query ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientCheckResult:
    """Outcome of "gradient == one-hot of the argmax on the open box minus the tie set".

    For REFUTED: ``witness`` (exact, in the open box, unique argmax ``argmax`` in window ``output``),
    the gradient found there, and for ``mode="region"`` the region (active ReLUs) on which the network
    is affine with that gradient.
    """

    status: Status
    domain: Box
    seconds: float
    mode: str
    s: Fraction | None = None
    witness: tuple | None = None
    output_index: int | None = None
    argmax: int | None = None
    gradient: Vector | None = None
    active: tuple | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.status is Status.PROVED

    def message(self) -> str:
        if self.status is Status.PROVED:
            what = "the gradient" if self.mode == "region" else f"the autodiff gradient (relu'(0) = {to_text(self.s)})"
            return f"PROVED: {what} is the one-hot of the argmax at every point of the open box {self.domain.describe()} with a unique argmax"
        if self.status is Status.UNKNOWN:
            return f"UNKNOWN: {self.reason}"
        point = ", ".join(to_text(v) for v in self.witness)
        grad = ", ".join(to_text(v) for v in self.gradient)
        where = (f"on the open region where ReLUs {{{', '.join(map(str, self.active))}}} are active "
                 if self.mode == "region" else "")
        return (f"REFUTED: {where}around x = ({point}), output {self.output_index} has gradient ({grad}), "
                f"not the one-hot of its argmax, input {self.argmax}")

    def to_json(self) -> dict[str, Any]:
        return {
            "query": "gradient", "status": self.status.value, "mode": self.mode,
            "s": None if self.s is None else to_text(self.s), "domain": self.domain.to_json(),
            "witness": None if self.witness is None else [to_text(v) for v in self.witness],
            "output_index": self.output_index, "argmax": self.argmax,
            "gradient": None if self.gradient is None else [to_text(v) for v in self.gradient],
            "active": None if self.active is None else [str(n) for n in self.active],
            "seconds": round(self.seconds, 6), "reason": self.reason,
        }


def _gradient_problem(session: Z3Session, net: Network, box: Box, mode: str, s: Fraction, max_rule: str):
    """z3 inputs, encoding, side constraints and, per output, the violation condition."""
    xs = session.reals(net.n_inputs)
    enc = GradientEncoding(session, net, xs, mode, s=s, max_rule=max_rule)
    base = open_box(session, xs, box) + enc.side
    d = net.n_inputs
    violations = []
    for o, window in enumerate(net.windows):
        g = enc.grad[net.outputs[o]]
        cases = []
        for i in window:
            unique = [xs[i] > xs[j] for j in window if j != i]
            equal = [enc.boolean(enc.is_zero(enc.lin([(Fraction(1), g[k]), (Fraction(-int(k == i)), Fraction(1))])))
                     for k in range(d)]
            cases.append(z3.And(unique + [z3.Not(z3.And(equal))]))
        violations.append(z3.Or(cases))
    return xs, enc, base, violations


def gradient_query_smtlib(net: Network, box: Box, *, mode: str = "region", s=0, max_rule: str = "first") -> str:
    """The query of :func:`check_gradient_onehot` as SMT-LIB 2 text (``unsat`` proves the claim).

    Printed by z3 from the same constraints (Booleans choose ReLU phases in ``"region"`` mode, Ints the
    arguments of max nodes), so another solver can re-check the verdict.
    """
    if mode not in ("region", "autodiff"):
        raise VerifyError(f"unknown mode {mode!r} (choose 'region' or 'autodiff')")
    if net.windows is None:
        raise VerifyError("the network has several outputs but no 'windows'")
    if box.dim != net.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the network has {net.n_inputs} inputs")
    session = Z3Session()
    _, _, base, violations = _gradient_problem(session, net, box, mode, _check_s(s), max_rule)
    solver = session.solver()
    solver.add(*base)
    solver.add(z3.Or(violations) if len(violations) > 1 else violations[0])
    what = "true gradient" if mode == "region" else f"autodiff gradient with relu'(0) = {to_text(Fraction(s))}"
    header = (f"; verify: {what} of {net.name or 'network'} == one-hot of the argmax on the open box "
              f"{box.describe()} off the tie set\n; sat: a counterexample; unsat: the claim holds\n")
    return header + "(set-logic ALL)\n" + solver.to_smt2()


def check_gradient_onehot(net: Network, box: Box, *, mode: str = "region", s=0, max_rule: str = "first",
                          timeout: float | None = None) -> GradientCheckResult:
    """Decide: for every x in the open ``box`` where each window's argmax is unique, is the gradient
    of each output the one-hot vector of its window's argmax?

    ``mode="region"`` asks about the true gradient (the network is affine on an open set around x);
    it holds for every exact emulation of max, and fails for approximations. ``mode="autodiff"`` asks
    about what autodiff computes with ``relu'(0) = s``, which can differ from the true gradient on the
    measure-zero sets where a ReLU inside the emulation reads an exact zero.

    The query is one z3 problem per output in linear real arithmetic with If-terms (and, for
    ``"region"``, Boolean pattern variables): ``exists x, i: x in open box, x_i > x_j (j != i in the
    window), gradient(x) != e_i``. ``unsat`` is PROVED; a model is confirmed exactly (the region and the
    gradient recomputed on the IR, or the autodiff gradient recomputed by :func:`autodiff_gradient`)
    before REFUTED; ``unknown`` is UNKNOWN.
    """
    if mode not in ("region", "autodiff"):
        raise VerifyError(f"unknown mode {mode!r} (choose 'region' or 'autodiff')")
    s = _check_s(s)
    if box.dim != net.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the network has {net.n_inputs} inputs")
    windows = net.windows
    if windows is None:
        raise VerifyError("the network has several outputs but no 'windows'")
    deadline = Deadline(timeout)
    session = Z3Session(deadline)
    xs, enc, base, violations = _gradient_problem(session, net, box, mode, s, max_rule)
    d = net.n_inputs
    for o, window in enumerate(windows):
        solver = session.solver()
        solver.add(*base)
        solver.add(violations[o])
        answer = solver.check()
        if answer.unsat:
            continue
        if answer.unknown:
            return GradientCheckResult(Status.UNKNOWN, box, deadline.elapsed(), mode, s if mode == "autodiff" else None,
                                       output_index=o, reason=f"solver returned unknown on output {o} ({answer.reason})")
        point = answer.point
        tied = _argmax_set(point, window)
        if len(tied) != 1:
            raise ToolkitBugError("solver point has a tie in the window")
        i = tied[0]
        active = None
        if mode == "region":
            pattern = pattern_from_model(enc, solver.model())
            grads = _confirm_open_region(net, pattern, point, box)
            grad = grads[net.outputs[o]]
            active = tuple(n for n in net.relu_nodes if pattern[n])
        else:
            grad = autodiff_gradient(net, point, s=s, max_rule=max_rule, output=o)
        expected = tuple(Fraction(int(k == i)) for k in range(d))
        if grad == expected:
            return GradientCheckResult(Status.UNKNOWN, box, deadline.elapsed(), mode, s if mode == "autodiff" else None,
                                       output_index=o, reason="solver model did not reproduce under exact computation")
        return GradientCheckResult(Status.REFUTED, box, deadline.elapsed(), mode, s if mode == "autodiff" else None,
                                   witness=point, output_index=o, argmax=i, gradient=grad, active=active)
    return GradientCheckResult(Status.PROVED, box, deadline.elapsed(), mode, s if mode == "autodiff" else None)
