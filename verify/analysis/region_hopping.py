"""Exact ``sup (f - g)`` over a box by region hopping with z3 (the z3 route of worst-case queries).

``sup_{x in box} max_o (f_o(x) - g_o(x))`` is attained (continuous functions on a compact box) and
rational. Method, exact throughout:

1. floats guide: sampled points and box vertices give a first witness, whose value is computed exactly;
2. improve: on the activation region of the current witness the networks are affine, so the best
   point of that region is an LP (the exact rows of :mod:`verify.backends.patterns`), solved exactly by
   z3 (``Optimize`` in linear real arithmetic);
3. prove: ask z3 for any point of the box whose difference exceeds the best value found. ``unsat``
   proves the value is the supremum; a model is a strictly better point, re-evaluated exactly, and the
   loop goes back to 2. Each round moves to a strictly better region, so the loop ends.

ReLUs that exact interval bounds prove stable on the box are fixed before encoding. A timeout returns
UNKNOWN with the best value found (attained at its witness) and a sound interval upper bound.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..backends.evaluator import evaluate, evaluate_batch
from ..backends.float_range import float_range_issue
from ..backends.intervals import interval_bounds, relu_phases
from ..backends.patterns import (activation_pattern, forms_fit, output_values, pattern_affine_map,
                                pattern_constraints)
from ..backends.z3_backend import Z3Lowering, domain_constraints
from ..backends.z3_session import Z3Session
from ..deadline import Deadline
from ..domain import Box
from ..errors import DeadlineExpired
from ..ir.graph import Network
from ..numbers import near_dyadic
from ..progress import report
from ..status import Status
from .results import SupResult

__all__ = ["sup_difference", "candidates", "MAX_SAMPLE_ENTRIES", "ALWAYS_BOUND_EDGES"]

# At most this many sampled coordinates (samples x inputs) are evaluated in floats: 512 samples of a
# network of 10^5 inputs would take gigabytes for guidance alone.
MAX_SAMPLE_ENTRIES = 1 << 22
# Networks with at most this many edges (both together) always get their interval bounds, timeout or not.
ALWAYS_BOUND_EDGES = 100_000


def candidates(f: Network, g: Network, box: Box, samples: int, seed: int, deadline: Deadline | None = None) -> list[tuple]:
    """Exact starting points: box vertices (small d), the centre and the best sampled points.

    Sampling is float guidance: it is skipped when numbers beyond float range make it meaningless
    (:func:`verify.backends.float_range.float_range_issue`), and stops with the deadline.
    """
    d = box.dim
    points = [box.center(), box.lo, box.hi]
    if d <= 10:
        for k in range(2 ** d):
            points.append(tuple(box.hi[i] if (k >> i) & 1 else box.lo[i] for i in range(d)))
    if samples <= 0 or float_range_issue(f, box) is not None or float_range_issue(g, box) is not None:
        return points
    if deadline is not None and deadline.expired():
        return points
    samples = min(samples, max(8, MAX_SAMPLE_ENTRIES // max(d, 1)))  # memory: samples x inputs floats
    rng = np.random.default_rng(seed)
    lo = np.array([float(v) for v in box.lo])
    hi = np.array([float(v) for v in box.hi])
    X = lo + (hi - lo) * rng.random((samples, d))
    diff = evaluate_batch(f, X) - evaluate_batch(g, X)
    best = np.argsort(-diff.max(axis=1))[: min(8, samples)]
    for row in X[best]:
        # Exact rationals inside the box (floats only chose where to look).
        pt = tuple(min(max(near_dyadic(v), a), b) for v, a, b in zip(row, box.lo, box.hi))
        points.append(pt)
    return points


def sup_difference(f: Network, g: Network, box: Box, *, deadline: Deadline | None = None,
                   samples: int = 512, seed: int = 0) -> SupResult:
    """Exact ``sup_{x in box} max_o (f_o(x) - g_o(x))`` by region hopping (module docstring).

    The value is attained at the witness (checked by exact evaluation); PROVED means no point of the
    box exceeds it; UNKNOWN (timeout, z3 unknown) keeps the best value found and a sound upper bound.
    """
    deadline = deadline or Deadline(None)
    stats = {"rounds": 0, "lp_solves": 0}
    points = candidates(f, g, box, samples, seed, deadline)
    # Exact values by the integer-scaled plans (the centre always, the others while time is left).
    best_val, best_x, best_o = None, None, 0
    for k, pt in enumerate(points):
        if k and deadline.expired():
            break
        fv, gv = output_values(f, pt), output_values(g, pt)
        for o in range(f.n_outputs):
            v = fv[o] - gv[o]
            if best_val is None or v > best_val:
                best_val, best_x, best_o = v, pt, o
    upper = None
    try:
        # Sound upper bounds are worth a bounded delay: below ALWAYS_BOUND_EDGES edges (about a second
        # of exact interval arithmetic) they are computed even when the time is already up.
        small = f.graph.number_of_edges() + g.graph.number_of_edges() <= ALWAYS_BOUND_EDGES
        fb = interval_bounds(f, box, None if small else deadline)
        gb = interval_bounds(g, box, None if small else deadline)
        upper = max(fb[f.outputs[o]][1] - gb[g.outputs[o]][0] for o in range(f.n_outputs))
        session = Z3Session(deadline)
        xs = session.reals(box.dim)
        lf = Z3Lowering(f, xs, prefix="f", phases=relu_phases(f, fb), bounds=fb, deadline=deadline)
        lg = Z3Lowering(g, xs, prefix="g", phases=relu_phases(g, gb), bounds=gb, deadline=deadline)
        base = domain_constraints(xs, box, deadline) + lf.side + lg.side
        return _hop(f, g, box, deadline, session, lf, lg, base, fb, gb, stats, best_val, best_x, best_o, upper)
    except DeadlineExpired as exc:
        return SupResult(Status.UNKNOWN, best_val, best_x, best_o, upper, stats, reason=f"timeout ({exc})")


def _hop(f, g, box, deadline, session, lf, lg, base, fb, gb, stats, best_val, best_x, best_o, upper) -> SupResult:
    """Steps 2 and 3 of the module docstring, from the best start point."""
    for o in range(f.n_outputs):
        if fb[f.outputs[o]][1] - gb[g.outputs[o]][0] <= best_val:
            continue  # interval bounds already show this output cannot beat the best value
        solver = session.solver()
        solver.add(*base)
        diff = lf.outputs[o] - lg.outputs[o]
        while True:
            if deadline.expired():
                return SupResult(Status.UNKNOWN, best_val, best_x, best_o, upper, stats, reason="timeout")
            solver.push()
            solver.add(diff > session.rational(best_val))
            answer = solver.check()
            stats["rounds"] += 1
            report(rounds=stats["rounds"], attained=best_val, upper=upper)
            solver.pop()
            if answer.unsat:
                break
            if answer.unknown:
                return SupResult(Status.UNKNOWN, best_val, best_x, best_o, upper, stats,
                                 reason="timeout" if answer.timed_out else f"z3 unknown ({answer.reason})")
            point = answer.point
            v = evaluate(f, point)[o] - evaluate(g, point)[o]
            if v <= best_val or not box.contains(point):
                return SupResult(Status.UNKNOWN, best_val, best_x, best_o, upper, stats,
                                 reason="a solver model did not reproduce under exact evaluation")
            best_val, best_x, best_o = v, point, o
            # Improve within the region of the new point: an exact LP.
            better = _region_lp(f, g, o, point, session, box)
            stats["lp_solves"] += 1
            if better is not None:
                pt2 = better
                v2 = evaluate(f, pt2)[o] - evaluate(g, pt2)[o]
                if v2 > best_val and box.contains(pt2):
                    best_val, best_x = v2, pt2
    return SupResult(Status.PROVED, best_val, best_x, best_o, best_val, stats)


def _region_lp(f: Network, g: Network, o: int, point, session: Z3Session, box: Box):
    """The best point of ``f_o - g_o`` on the closed activation region of ``point`` (an exact LP, z3);
    ``None`` when the region's dense forms would not fit in memory (the hop still moves to the model)."""
    if not (forms_fit(f) and forms_fit(g)):
        return None
    pf, pg = activation_pattern(f, point), activation_pattern(g, point)
    (af,), (cf,) = pattern_affine_map(f, pf, [f.outputs[o]])
    (ag,), (cg,) = pattern_affine_map(g, pg, [g.outputs[o]])
    rows = pattern_constraints(f, pf) + pattern_constraints(g, pg)
    answer = session.maximize_affine((tuple(a - b for a, b in zip(af, ag)), cf - cg), rows, box)
    return answer.point if answer.sat else None
