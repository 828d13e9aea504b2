"""Queries on the engine: worst-case difference, worst-case error against max, exactness.

Every query becomes exact maximisations of one-output networks (:func:`verify.engine.entry.maximize`),
run one after the other with the best value so far as the floor of the next (so a sub-problem that
cannot beat it closes at its root), sharing one deadline.

When the reference is max pooling (each output of ``g`` is the max of some inputs, as
:func:`verify.constructions.reference.reference_network` builds it), the reference never becomes ReLUs:

* ``sup (f_o - max_W)``: on the argmax cone ``{x_j <= x_i, j in W}`` the reference is the linear ``x_i``.
  ``reference="lifted"`` (the default) solves all cones in one problem: with a new variable ``t``,
  ``sup_x (f_o(x) - max_W x) = sup { f_o(x) - t : x in box, x_j <= t (j in W) }`` (for fixed ``x`` the best
  ``t`` is ``max_W x``), an argmax cone in ``d + 1`` variables whose bounds the engine computes in closed
  form. ``reference="cones"`` solves one problem per cone ``i`` (``f_o(x) - x_i`` on the cone).
* ``sup (max_W - f_o) = max_{i in W} sup (x_i - f_o)`` over the whole box (``x_i <= max_W x``, with equality
  for the argmax): one problem per window entry, no cone constraints at all.

Exactness (``f == g`` on a box, or on R^d for bias-free networks through positive homogeneity) asks
``sup (f - g) <= 0`` and ``sup (g - f) <= 0`` with ``floor = 0`` and ``stop_above = 0``: the first exactly
evaluated point above 0 is a counterexample (REFUTED after the toolkit's evaluator confirms it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable
from fractions import Fraction

import numpy as np

from ..analysis.results import ErrorResult, ExactnessResult
from ..deadline import Deadline
from ..status import Status
from ..backends.evaluator import evaluate
from ..domain import Box, RealSpace
from ..errors import VerifyError
from ..ir.graph import Network
from ..ir.ops import Op
from .problem import linear_objective
from .entry import maximize
from .search import SearchConfig

__all__ = ["DifferenceResult", "SubProblem", "side_upper", "sup_difference", "both_sides", "worst_case_error",
           "check_equivalent", "check_exact", "max_windows", "subproblems"]


@dataclass(frozen=True)
class DifferenceResult:
    """``sup_{x in box} max_o (f_o(x) - g_o(x))``: ``value`` attained at ``witness`` on output ``output``;
    PROVED: it is the supremum (with a floor: no point exceeds the floor, ``value`` None); UNKNOWN: the
    supremum lies in ``[value, upper]``. ``stopped``: a point above ``stop_above`` was found."""

    status: Status
    value: Fraction | None
    witness: tuple | None
    output: int | None
    upper: Fraction | None
    stopped: bool = False
    stats: dict = field(default_factory=dict)
    # with record_tree: the closed tree of sub-problem k of output o (:func:`subproblems`), by (o, k)
    trees: dict | None = field(default=None, compare=False)


def max_windows(g: Network):
    """For a network whose every output is ``max`` of some inputs (or one input), the windows; else None."""
    wins = []
    for o in g.outputs:
        p = g.single_pred(o)
        while g.op(p) is Op.AFFINE and g.bias(p) == 0 and len(g.affine_terms(p)) == 1 and g.affine_terms(p)[0][1] == 1:
            p = g.affine_terms(p)[0][0]  # an identity node in front of the max
        if g.op(p) is Op.INPUT:
            wins.append([g.graph.nodes[p]["index"]])
            continue
        if g.op(p) is not Op.MAX:
            return None
        w = []
        for q in g.preds(p):
            while g.op(q) is Op.AFFINE and g.bias(q) == 0 and len(g.affine_terms(q)) == 1 and g.affine_terms(q)[0][1] == 1:
                q = g.affine_terms(q)[0][0]
            if g.op(q) is not Op.INPUT:
                return None
            w.append(g.graph.nodes[q]["index"])
        wins.append(w)
    return wins


def _lifted(f: Network, o: int, window, box: Box):
    """``f_o(x) - t`` on ``box x [min lo_W, max hi_W]`` cut by ``x_j <= t`` (j in W)."""
    import networkx as nx

    from ..constructions.emulate import max_free

    base = linear_objective(f, o, 1, {})
    if base.max_nodes:
        base = max_free(base)
    d = f.n_inputs
    g = nx.DiGraph(base.graph)
    t = ("engine", "t")
    g.add_node(t, op=Op.INPUT, index=d)
    top = base.single_pred(base.outputs[0])
    g.add_edge(t, top, weight=Fraction(-1))
    net = Network(g, list(base.inputs) + [t], list(base.outputs), name=f"lifted {f.name}")
    tlo = min(box.lo[j] for j in window)
    thi = max(box.hi[j] for j in window)
    lbox = Box(tuple(box.lo) + (tlo,), tuple(box.hi) + (thi,))
    cons = [({j: 1, d: -1}, 0) for j in window]
    return net, lbox, cons


@dataclass
class SubProblem:
    """One maximisation of a query: ``sup network(x)`` over ``box`` cut by ``constraints``; ``back`` maps its
    witness to a point of ``f``'s inputs. The network is built on first use (a window of 3000 inputs has
    3000 of them, each a copy of the network: built together they took 4 minutes). ``score(X, fX, gX)``
    gives the objective at sample points ``X`` of the query's box from ``f_o``/``g_o`` there (``-inf``
    outside the constraints): it orders the sub-problems without building them."""

    build: Callable[[], Network]
    box: Box
    constraints: list
    back: Callable
    score: Callable

    @cached_property
    def network(self) -> Network:
        return self.build()


def subproblems(f: Network, g: Network | None, o: int, box: Box, reference: str) -> list[SubProblem]:
    """The sub-problems whose largest supremum is ``sup (f_o - g_o)`` (a tree certificate names them by
    their index here: keep the order stable)."""
    d = f.n_inputs
    ident = lambda x: tuple(x)  # noqa: E731
    difference = lambda X, fX, gX: fX - gX  # noqa: E731
    wins = max_windows(g) if g is not None else None
    if wins is not None:
        W = wins[o]
        if reference == "lifted" and len(W) > 1:
            net, lbox, cons = _lifted(f, o, W, box)
            return [SubProblem(lambda: net, lbox, cons, lambda x: tuple(x[:d]), difference)]
        out = []
        for i in W:
            cons = [({j: 1, i: -1}, 0) for j in W if j != i]
            on_cone = lambda X, fX, gX, i=i: np.where(X[:, W].max(axis=1) <= X[:, i], fX - X[:, i], -np.inf)  # noqa: E731
            out.append(SubProblem(lambda i=i: linear_objective(f, o, 1, {i: -1}), box, cons, ident, on_cone))
        return out
    fw = max_windows(f)
    if fw is not None and g is not None:
        # sup (max_W - g_o) = max_i sup (x_i - g_o) over the whole box
        return [SubProblem(lambda i=i: linear_objective(g, o, -1, {i: 1}), box, [], ident,
                           lambda X, fX, gX, i=i: X[:, i] - gX) for i in fw[o]]
    from ..reductions.difference import difference_network

    return [SubProblem(lambda: difference_network(f, g, o, 1), box, [], ident, difference)]


def _order(subs: list[SubProblem], f, g, o, box: Box, rng) -> list[int]:
    """Indices of the sub-problems, most likely to hold the supremum first (largest sampled value), so the
    later ones meet a high floor and close early."""
    if len(subs) <= 1:
        return list(range(len(subs)))
    from ..backends.evaluator import evaluate_batch

    lo = np.array([float(v) for v in box.lo])
    hi = np.array([float(v) for v in box.hi])
    X = lo + (hi - lo) * rng.random((512, len(lo)))
    fX = evaluate_batch(f, X)[:, o] if f is not None else 0.0
    gX = evaluate_batch(g, X)[:, o] if g is not None else 0.0
    scores = [float(np.max(s.score(X, fX, gX))) for s in subs]
    return [int(k) for k in np.argsort(-np.array(scores), kind="stable")]


def _sampled_point(f: Network, g: Network | None, o: int, box: Box, rng, n: int = 64):
    """The best of ``n`` sampled points of ``box`` (and its centre) for ``f_o - g_o`` in floats, as an
    exact point of the box with its exact difference."""
    from ..backends.evaluator import evaluate_batch

    lo = np.array([float(v) for v in box.lo])
    hi = np.array([float(v) for v in box.hi])
    X = np.vstack([lo + (hi - lo) * rng.random((n, len(lo))), (lo + hi) / 2])
    v = evaluate_batch(f, X)[:, o] - (evaluate_batch(g, X)[:, o] if g is not None else 0.0)
    xf = X[int(np.argmax(np.nan_to_num(v, nan=-np.inf)))]
    x = tuple(min(max(Fraction(float(t)), a), b) for t, a, b in zip(xf, box.lo, box.hi))
    return x, evaluate(f, x)[o] - (evaluate(g, x)[o] if g is not None else 0)


def side_upper(f: Network, g: Network | None, o: int, box: Box) -> Fraction:
    """A sound upper bound of ``sup (f_o - g_o)`` over ``box`` from exact interval bounds (outward-rounded
    to multiples of 2^-32): the upper end of a bracket for the sub-problems the time did not reach."""
    from ..backends.bounds import propagate_intervals

    up = propagate_intervals(f, box)[f.outputs[o]][1]
    if g is None:
        return up
    return up - propagate_intervals(g, box)[g.outputs[o]][0]


def sup_difference(f: Network, g: Network | None, box: Box, *, deadline=None, floor=None, stop_above=None,
                   config: SearchConfig | None = None, reference: str = "lifted", node_limit: int | None = None,
                   workers: int | None = None, scheduler: str | None = None, seed: int = 0,
                   record_tree: bool | None = None) -> DifferenceResult:
    """Exact ``sup_{x in box} max_o (f_o(x) - g_o(x))`` (``g=None``: ``sup max_o f_o``), with an exact witness.

    ``reference``: "lifted" or "cones" for a max-pooling ``g`` (module docstring). ``record_tree`` (default:
    :data:`verify.engine.entry.OPTIONS`) keeps the closed tree of every sub-problem in ``trees``.
    """
    from .entry import OPTIONS

    record = OPTIONS["record_trees"] if record_tree is None else record_tree
    if g is not None and (g.n_inputs != f.n_inputs or g.n_outputs != f.n_outputs):
        raise VerifyError(f"networks have different shapes: {f.n_inputs}->{f.n_outputs} and {g.n_inputs}->{g.n_outputs}")
    if box.dim != f.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the network has {f.n_inputs} inputs")
    if reference not in ("lifted", "cones"):
        raise VerifyError(f"unknown reference handling {reference!r}: expected lifted or cones")
    if not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    rng = np.random.default_rng(seed)
    best = None if floor is None else Fraction(floor)
    best_x, best_o = None, None
    status = Status.PROVED
    upper = None
    stats = {"subproblems": []}
    trees = {} if record else None
    no_upper = False  # an unfinished part got no upper bound (no time for it on a very large network)
    for o in range(f.n_outputs):
        cut_short = deadline.expired()
        subs = [] if cut_short else subproblems(f, g, o, box, reference)
        for k in _order(subs, f, g, o, box, rng):
            if deadline.expired():
                cut_short = True
                break
            sub = subs[k]
            r = maximize(sub.network, sub.box, sub.constraints, deadline=deadline, floor=best,
                         stop_above=stop_above, config=config, node_limit=node_limit, workers=workers,
                         scheduler=scheduler, seed=seed, record_tree=record)
            stats["subproblems"].append(r.stats)
            if record:
                trees[(o, k)] = r.record
            if r.value is not None and (best is None or r.value > best):
                best, best_x, best_o = r.value, sub.back(r.witness), o
            if r.status is not Status.PROVED:
                status = Status.UNKNOWN
                if r.upper is not None:
                    upper = _at_least(upper, r.upper)
                elif _affordable(deadline, f, g):
                    upper = _at_least(upper, side_upper(f, g, o, box))
                else:
                    no_upper = True
            if r.stopped:
                return _finish(f, g, Status.PROVED, best, best_x, best_o, best, True, stats, trees)
        if cut_short:
            # No time for (the rest of) this output: its sound interval bound closes the bracket (each
            # sub-problem would cost a copy of the network first), and a sampled point, evaluated
            # exactly, gives the attained end when no search reached one.
            status = Status.UNKNOWN
            if not _affordable(deadline, f, g):
                no_upper = True
                continue
            upper = _at_least(upper, side_upper(f, g, o, box))
            if best_x is None:
                x, v = _sampled_point(f, g, o, box, rng)
                if best is None or v > best:
                    best, best_x, best_o = v, x, o
    if status is Status.PROVED:
        upper = best
    elif no_upper:
        upper = None
    elif upper is not None and best is not None:
        upper = max(upper, best)
    value = best if best_x is not None else None
    return _finish(f, g, status, value, best_x, best_o, upper, False, stats, trees)


# Past the deadline, the bracket's fallbacks (an interval bound, one exact evaluation) are computed only
# for networks of at most this many edges: on a 10^5-4-1 network they took 10.6 s and 7.8 s (Fractions,
# a walk per edge), against milliseconds for a 3000-8-1 one (24,000 edges).
FALLBACK_EDGES = 50_000


def _affordable(deadline: Deadline, *nets) -> bool:
    return not deadline.expired() or all(n is None or n.graph.number_of_edges() <= FALLBACK_EDGES for n in nets)


def _at_least(upper, bound):
    return bound if upper is None or bound > upper else upper


def _finish(f, g, status, value, x, o, upper, stopped, stats, trees=None):
    if x is not None:
        fv = evaluate(f, x)[o]
        gv = evaluate(g, x)[o] if g is not None else 0
        if fv - gv < value:  # pragma: no cover - the engine re-checks its witnesses already
            raise AssertionError(f"difference witness does not reproduce: {fv - gv} < {value}")
        if fv - gv > value:
            # A sub-problem's objective is a lower bound of the difference (x_i <= max_W x): at a point
            # where x_i is not the window's max the difference is larger. A proved supremum cannot be
            # exceeded; an unfinished search keeps the larger, exactly evaluated value.
            if status is Status.PROVED and not stopped:  # pragma: no cover - would be a bug
                raise AssertionError(f"the witness gives {fv - gv}, above the proved supremum {value}")
            value = fv - gv
    return DifferenceResult(status, value, x, o, upper, stopped, stats, trees)


def both_sides(f: Network, g: Network, box: Box, *, timeout=None, config=None, reference="lifted",
               node_limit=None, workers=None, scheduler=None) -> ErrorResult:
    """Exact ``sup (f - g)`` (``sup_over``) and ``sup (g - f)`` (``sup_under``) over ``box`` with witnesses,
    as :func:`verify.analysis.worst_case.both_sides` returns them (backend "engine")."""
    deadline = Deadline(timeout)
    kw = dict(deadline=deadline, config=config, reference=reference, node_limit=node_limit, workers=workers,
              scheduler=scheduler)
    over = sup_difference(f, g, box, **kw)
    under = sup_difference(g, f, box, **kw)
    ok = over.status is Status.PROVED and under.status is Status.PROVED
    return ErrorResult(proof=_proof("error", f, g, over, under, reference) if ok else None,
        status=Status.PROVED if ok else Status.UNKNOWN, domain=box, seconds=deadline.elapsed(),
        sup_over=over.value, sup_under=under.value, witness_over=over.witness, witness_under=under.witness,
        output_over=over.output or 0, output_under=under.output or 0, upper_over=over.upper,
        upper_under=under.upper,
        reason="" if ok else "timeout or node limit: values are attained at the witnesses, uppers are sound",
        backend="engine", stats={"over": over.stats, "under": under.stats})


def worst_case_error(net: Network, box: Box, **kw) -> ErrorResult:
    """Exact worst-case error of ``net`` against max over each output's window on ``box``."""
    from ..constructions.reference import reference_network

    if not isinstance(box, Box):
        raise VerifyError("worst-case error needs a box (the error on all of R^d is unbounded in general)")
    return both_sides(net, reference_network(net), box, **kw)


def check_equivalent(f: Network, g: Network, domain=None, *, timeout=None, config=None, query="equivalent",
                     node_limit=None, workers=None, scheduler=None) -> ExactnessResult:
    """Decide ``f == g`` on ``domain`` (a box, or all of R^d (default) for bias-free networks)."""
    from ..reductions.homogeneous import homogeneous_box as homogeneous_reduction

    if f.n_inputs != g.n_inputs or f.n_outputs != g.n_outputs:
        raise VerifyError(f"networks have different shapes: {f.n_inputs}->{f.n_outputs} and {g.n_inputs}->{g.n_outputs}")
    domain = RealSpace(f.n_inputs) if domain is None else domain
    deadline = Deadline(timeout)
    note = ""
    if isinstance(domain, RealSpace):
        box, note = homogeneous_reduction(f, g, domain)
        if box is None:
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), reason=f"engine needs a box: {note}",
                                   backend="engine", query=query)
    else:
        box = domain
    kw = dict(deadline=deadline, config=config, floor=Fraction(0), stop_above=Fraction(0), node_limit=node_limit,
              workers=workers, scheduler=scheduler)
    stats, sides, unfinished = {}, {}, []
    for a, b, side in ((f, g, "over"), (g, f, "under")):
        r = sup_difference(a, b, box, **kw)
        stats[side], sides[side] = r.stats, r
        if r.value is not None and r.value > 0:
            x = r.witness
            v1, v2 = evaluate(f, x)[r.output], evaluate(g, x)[r.output]
            if v1 == v2 or not domain.contains(x):  # pragma: no cover - checked twice already
                return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), reason="witness did not reproduce",
                                       backend="engine", query=query)
            res = ExactnessResult(Status.REFUTED, domain, deadline.elapsed(), counterexample=x, output_index=r.output,
                                  network_value=v1, reference_value=v2, reason=note, backend="engine", query=query)
            return res
        if r.status is not Status.PROVED:
            unfinished.append(side)  # the other side still runs: it may refute, and it bounds its difference
    if unfinished:
        # the bracket: sup (f - g) and sup (g - f) on the box searched (0 for a proved side)
        ups = [sides[side].upper if sides[side].status is not Status.PROVED else Fraction(0) for side in ("over", "under")]
        upper = None if None in ups else max(ups)
        on = box.describe() + ("" if isinstance(domain, Box) else
                               ", so |f - g|(x) <= that bound times max |x_i| on R^d (positive homogeneity)")
        told = "no bound" if upper is None else (f"f - g <= {_rounded_up(ups[0])} and g - f <= {_rounded_up(ups[1])} "
                                                 f"on {on} (sound, rounded up)")
        return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), backend="engine", query=query, upper=upper,
                               reason=f"engine did not finish ({', '.join(unfinished)}): {told}", stats=stats)
    proof = _proof("exact", f, g, sides["over"], sides["under"], "lifted") if query == "exact" else None
    return ExactnessResult(Status.PROVED, domain, deadline.elapsed(), reason=note, backend="engine", query=query,
                           proof=proof)


def _rounded_up(q: Fraction) -> str:
    """``q`` in 6 significant decimal digits, rounded towards +inf (a displayed upper bound stays one)."""
    from decimal import ROUND_CEILING, Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 6, ROUND_CEILING
        return format(Decimal(q.numerator) / Decimal(q.denominator), "g")


def _proof(query, f, g, over: DifferenceResult, under: DifferenceResult, reference: str):
    """The trees of both sides as a certificate's proof, when they were recorded and ``g`` is ``f``'s max
    reference (what the certificate's checker rebuilds)."""
    from .certificate import EngineProof, SideTrees

    if over.trees is None or under.trees is None or max_windows(g) is None:
        return None
    return EngineProof(query, SideTrees(over.trees, reference), SideTrees(under.trees, reference))


def check_exact(net: Network, domain=None, **kw) -> ExactnessResult:
    """Decide ``net == max`` over each output's window on ``domain`` (default R^d, bias-free nets)."""
    from ..constructions.reference import reference_network

    return check_equivalent(net, reference_network(net), domain, query="exact", **kw)
