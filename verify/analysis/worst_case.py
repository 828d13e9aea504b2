"""Exact worst-case error of a network against max pooling on a box.

``sup_over = sup_x (N(x) - max(x))`` and ``sup_under = sup_x (max(x) - N(x))`` over a box, per output
window, maximised over outputs. Both are attained (continuous functions on a compact box) and rational.

Method ("region hopping", exact throughout):

1. floats guide: sampled points and box vertices give a first witness, whose value is computed exactly;
2. improve: on the activation region of the current witness the network is affine, so the best point
   of that region is an LP, solved exactly by z3 (``Optimize`` in linear real arithmetic);
3. prove: ask z3 for any point of the box whose error exceeds the best value found. ``unsat`` proves the
   value is the supremum; a model is a strictly better point, re-evaluated exactly, and the loop goes
   back to 2. Each round moves to a strictly better region, so the loop ends.

ReLUs that exact interval bounds prove stable on the box are fixed before encoding. A timeout returns
UNKNOWN with the best values found (attained at their witnesses) and sound interval upper bounds.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..backends.evaluator import evaluate, evaluate_batch, evaluate_nodes
from ..backends.intervals import interval_bounds, relu_phases
from ..backends.z3_backend import Z3Lowering, domain_constraints, fresh_reals, from_z3, rational, z3
from ..domain import Box
from ..errors import DomainError, VerifyError
from ..ir.graph import Network
from .reference import reference_network
from .results import Deadline, ErrorResult, Status

__all__ = ["worst_case_error", "sup_difference", "sup_difference_milp"]


def activation_pattern(net: Network, x) -> dict:
    """The region of ``x``: ``relu -> pre-activation >= 0`` and ``max node -> first maximising input``."""
    values = evaluate_nodes(net, x)
    pattern = {}
    for n in net.relu_nodes:
        pattern[n] = values[net.single_pred(n)] >= 0
    for n in net.max_nodes:
        vals = [values[p] for p in net.preds(n)]
        pattern[n] = vals.index(max(vals))
    return pattern


def _candidates(f: Network, g: Network, box: Box, samples: int, seed: int) -> list[tuple]:
    """Exact starting points: box vertices (small d), the centre and the best sampled points."""
    d = box.dim
    points = [box.center(), box.lo, box.hi]
    if d <= 10:
        for k in range(2 ** d):
            points.append(tuple(box.hi[i] if (k >> i) & 1 else box.lo[i] for i in range(d)))
    rng = np.random.default_rng(seed)
    lo = np.array([float(v) for v in box.lo])
    hi = np.array([float(v) for v in box.hi])
    if samples > 0:
        X = lo + (hi - lo) * rng.random((samples, d))
        diff = evaluate_batch(f, X) - evaluate_batch(g, X)
        best = np.argsort(-diff.max(axis=1))[: min(8, samples)]
        for row in X[best]:
            # Exact rationals inside the box (floats only chose where to look).
            pt = tuple(min(max(Fraction(float(v)).limit_denominator(1 << 20), a), b) for v, a, b in zip(row, box.lo, box.hi))
            points.append(pt)
    return points


def sup_difference(f: Network, g: Network, box: Box, *, deadline: Deadline | None = None,
                   samples: int = 512, seed: int = 0):
    """Exact ``sup_{x in box} max_o (f_o(x) - g_o(x))``.

    Returns ``(status, value, witness, output, upper, stats)``; ``value`` is attained at ``witness``
    (checked by exact evaluation); PROVED means no point of the box exceeds it.
    """
    deadline = deadline or Deadline(None)
    stats = {"rounds": 0, "lp_solves": 0}
    best_val, best_x, best_o = None, None, 0
    for pt in _candidates(f, g, box, samples, seed):
        fv, gv = evaluate(f, pt), evaluate(g, pt)
        for o in range(f.n_outputs):
            v = fv[o] - gv[o]
            if best_val is None or v > best_val:
                best_val, best_x, best_o = v, pt, o

    fb, gb = interval_bounds(f, box), interval_bounds(g, box)
    upper = max(fb[f.outputs[o]][1] - gb[g.outputs[o]][0] for o in range(f.n_outputs))
    xs = fresh_reals(box.dim)
    lf = Z3Lowering(f, xs, prefix="f", phases=relu_phases(f, fb), bounds=fb)
    lg = Z3Lowering(g, xs, prefix="g", phases=relu_phases(g, gb), bounds=gb)
    base = domain_constraints(xs, box) + lf.side + lg.side

    for o in range(f.n_outputs):
        if fb[f.outputs[o]][1] - gb[g.outputs[o]][0] <= best_val:
            continue  # interval bounds already show this output cannot beat the best value
        solver = z3.Solver(ctx=xs[0].ctx)
        solver.add(base)
        diff = lf.outputs[o] - lg.outputs[o]
        while True:
            if deadline.expired():
                return Status.UNKNOWN, best_val, best_x, best_o, upper, stats
            ms = deadline.z3_ms()
            if ms is not None:
                solver.set("timeout", ms)
            solver.push()
            solver.add(diff > rational(best_val, xs[0].ctx))
            answer = solver.check()
            stats["rounds"] += 1
            if answer == z3.unsat:
                solver.pop()
                break
            if answer == z3.unknown:
                return Status.UNKNOWN, best_val, best_x, best_o, upper, stats
            model = solver.model()
            solver.pop()
            point = tuple(from_z3(model.eval(x, model_completion=True)) for x in xs)
            v = evaluate(f, point)[o] - evaluate(g, point)[o]
            if v <= best_val or not box.contains(point):
                return Status.UNKNOWN, best_val, best_x, best_o, upper, stats
            best_val, best_x, best_o = v, point, o
            # Improve within the region of the new point: an exact LP.
            better = _region_lp(f, g, o, point, xs, box, deadline)
            stats["lp_solves"] += 1
            if better is not None:
                pt2 = better
                v2 = evaluate(f, pt2)[o] - evaluate(g, pt2)[o]
                if v2 > best_val and box.contains(pt2):
                    best_val, best_x = v2, pt2
    return Status.PROVED, best_val, best_x, best_o, upper, stats


def _region_lp(f: Network, g: Network, o: int, point, xs, box: Box, deadline: Deadline):
    """The best point of ``f_o - g_o`` on the closed activation region of ``point`` (z3 exact LP)."""
    lf = Z3Lowering(f, xs, prefix="fp", pattern=activation_pattern(f, point))
    lg = Z3Lowering(g, xs, prefix="gp", pattern=activation_pattern(g, point))
    opt = z3.Optimize(ctx=xs[0].ctx)
    ms = deadline.z3_ms()
    if ms is not None:
        opt.set("timeout", ms)
    opt.add(domain_constraints(xs, box) + lf.side + lg.side)
    opt.maximize(lf.outputs[o] - lg.outputs[o])
    if opt.check() != z3.sat:
        return None
    model = opt.model()
    return tuple(from_z3(model.eval(x, model_completion=True)) for x in xs)


def sup_difference_milp(f: Network, g: Network, box: Box, *, deadline: Deadline | None = None,
                        samples: int = 512, seed: int = 0):
    """:func:`sup_difference` by the MILP backend (:func:`verify.backends.milp.maximize`), same return.

    One exact branch and bound per output on the difference network ``f_o - g_o``; the best value of
    earlier outputs is the floor of later ones. Every value is attained at its witness (re-checked here
    on ``f`` and ``g`` themselves, not only on the rewritten network).
    """
    from ..backends.milp import maximize
    from ..errors import ToolkitBugError
    from ..ir.rewrites import difference_network, merge_parallel_relus

    deadline = deadline or Deadline(None)
    status, best, best_x, best_o, upper = Status.PROVED, None, None, 0, None
    stats: dict = {}
    for o in range(f.n_outputs):
        r = maximize(merge_parallel_relus(difference_network(f, g, o)), box, deadline=deadline, floor=best, samples=samples, seed=seed)
        stats[f"output{o}"] = r.stats
        if r.value is not None and (best is None or r.value > best):
            v = evaluate(f, r.witness)[o] - evaluate(g, r.witness)[o]
            if v != r.value:  # pragma: no cover - the rewrite is exact; this guards it
                raise ToolkitBugError(f"difference network disagrees with its networks at {r.witness}")
            best, best_x, best_o = r.value, r.witness, o
        if r.status != "PROVED":
            status = Status.UNKNOWN
        if r.upper is not None:
            upper = r.upper if upper is None else max(upper, r.upper)
    if best is None:  # pragma: no cover - maximize always evaluates the box centre
        raise ToolkitBugError("no witness found")
    if upper is None or upper < best:
        upper = best
    return status, best, best_x, best_o, upper, stats


def _pick_backend(backend: str, net: Network) -> str:
    if backend not in ("z3", "milp", "auto"):
        raise VerifyError(f"unknown backend {backend!r}: expected z3, milp or auto")
    if backend == "auto":
        # z3 is instant on small structured constructions; HiGHS-guided search scales to generic nets.
        return "milp" if net.n_relus > 16 else "z3"
    return backend


def worst_case_error(net: Network, box: Box, *, timeout: float | None = None, samples: int = 512,
                     seed: int = 0, backend: str = "z3") -> ErrorResult:
    """Exact ``sup (N - max)`` and ``sup (max - N)`` over ``box``, each with an exact witness.

    Parameters
    ----------
    net : Network
        Each output is compared with the max over its window (``net.windows``).
    box : Box
        The domain; errors are suprema over it.
    timeout : float, optional
        Seconds for the whole query; on expiry the result is UNKNOWN with the bounds known so far.
    backend : {"z3", "milp", "auto"}
        "z3": region hopping with z3 proofs; "milp": HiGHS-guided exact branch and bound
        (:mod:`verify.backends.milp`); "auto": MILP above 16 ReLUs. Both give the same exact values.

    Examples
    --------
    The mean of d inputs on [0,1]^d misses the max by (d-1)/d (at a vertex with one coordinate 1):

    >>> from verify.constructions import mean_network
    >>> r = worst_case_error(mean_network(4), Box.cube(4))
    >>> r.sup_under, r.sup_over
    (Fraction(3, 4), Fraction(0, 1))
    """
    if not isinstance(box, Box):
        raise DomainError("worst-case error needs a box (the error on all of R^d is unbounded in general)")
    if box.dim != net.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the network has {net.n_inputs} inputs")
    return both_sides(net, reference_network(net), box, timeout=timeout, samples=samples, seed=seed,
                      backend=_pick_backend(backend, net))


def both_sides(f: Network, g: Network, box: Box, *, timeout: float | None = None, samples: int = 512,
               seed: int = 0, backend: str = "z3") -> ErrorResult:
    """Exact ``sup (f - g)`` (``sup_over``) and ``sup (g - f)`` (``sup_under``) over ``box``, with witnesses.

    The shared engine of :func:`worst_case_error` (``g`` the max reference) and
    :func:`verify.analysis.compare.worst_case_difference`; ``backend`` is "z3" or "milp".
    """
    deadline = Deadline(timeout)
    sup = sup_difference_milp if backend == "milp" else sup_difference
    s1, over, w_over, o_over, up_over, st1 = sup(f, g, box, deadline=deadline, samples=samples, seed=seed)
    s2, under, w_under, o_under, up_under, st2 = sup(g, f, box, deadline=deadline, samples=samples, seed=seed + 1)
    status = Status.PROVED if s1 is Status.PROVED and s2 is Status.PROVED else Status.UNKNOWN
    reason = "" if status is Status.PROVED else "timeout or solver unknown: values are lower bounds attained at the witnesses"
    return ErrorResult(
        status=status, domain=box, seconds=deadline.elapsed(),
        sup_over=over, sup_under=under, witness_over=w_over, witness_under=w_under,
        output_over=o_over, output_under=o_under,
        upper_over=over if s1 is Status.PROVED else up_over,
        upper_under=under if s2 is Status.PROVED else up_under,
        reason=reason, backend=backend, stats={"over": st1, "under": st2},
    )
