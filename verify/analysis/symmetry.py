"""Exactness by symmetry: prove a network invariant under permuting its inputs, then decide one cone.

If ``N(Px) = N(x)`` for every permutation ``P`` of the inputs, then ``N == max`` on all of R^d as soon as
``N == max`` on the closed sorted cone ``C = {x_1 >= ... >= x_d}``: every point is ``Py`` with ``y`` in
``C``, and ``N(Py) = N(y) = max(y) = max(Py)``. Nothing is assumed: the invariance is proved exactly, and
the cone is decided by z3 in linear real arithmetic. This module holds the proofs and the cone's
queries; the reduction itself is :class:`verify.reductions.symmetry.SymmetryToConeFaces`.

How invariance is proved (bias-free networks with at most two hidden layers). Every such network is
rewritten, by exact identities only, into a canonical form:

* a first-layer unit ``relu(g.x)`` is ``c relu(h.x)`` with ``h`` the direction of ``g`` scaled so that
  its first non-zero entry is +1 (``c > 0``), or, when that entry of ``g`` is negative,
  ``c (relu(h.x) - h.x)`` (since ``relu(-t) = relu(t) - t``); so a function computed after the first
  layer is ``sum_h a_h relu(h.x) + l.x``: a map ``h -> a_h`` and a vector ``l``;
* a second-layer unit ``relu(F)`` is treated the same way, with ``F`` in that form, scaled so that its
  leading coefficient is +1.

The output is then a map (canonical second-layer function -> coefficient) plus a first-layer function.
Two networks with equal canonical forms compute the same function, since every step is an identity.
Networks of the max-of-5 shape (second-layer units ``relu(h_A - h_B)`` of lattice zonotopes) are also
decomposed exactly into ``sum_u w_u h_{R_u}`` (support functions of polytopes), which permuting the
inputs maps to ``sum_u w_u h_{P R_u}``: equal multisets ``{(w_u, R_u)}`` prove invariance even where two
zonotope pairs represent the same polytope. Both tests are applied for the generators of the symmetric
group (a transposition and a d-cycle). "Not shown" is never read as "not invariant".

This proves the shipped max-of-5 network (two hidden layers, Bakaev et al., arXiv:2505.14338) equal to
max on all of R^5.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ..backends.evaluator import evaluate
from ..backends.z3_backend import Z3Lowering
from ..backends.z3_session import Z3Session
from ..domain import RealSpace
from ..errors import VerifyError
from ..ir.graph import Network
from ..ir.layers import Layer, from_layers, to_layers
from ..deadline import Deadline
from ..status import Status
from .results import ExactnessResult

__all__ = ["canonical_form", "permutation_invariant", "symmetric_group_invariant", "cone_pieces", "decide_cone"]

Vector = tuple  # of Fractions


def _direction(g: Sequence[Fraction]) -> tuple[Fraction, Vector] | None:
    """``g = s * h`` with ``h``'s first non-zero entry +1; returns ``(s, h)`` or None for ``g = 0``."""
    lead = next((v for v in g if v != 0), None)
    if lead is None:
        return None
    return lead, tuple(v / lead for v in g)


class _Layer1Function:
    """``sum_h a[h] relu(h.x) + l.x`` over canonical directions ``h``."""

    __slots__ = ("a", "l")

    def __init__(self, d: int):
        self.a: dict[Vector, Fraction] = {}
        self.l = [Fraction(0)] * d

    def add_relu(self, g: Sequence[Fraction], coef: Fraction) -> None:
        """Add ``coef * relu(g.x)``."""
        split = _direction(g)
        if split is None or coef == 0:
            return
        s, h = split
        c = abs(s)
        self.a[h] = self.a.get(h, Fraction(0)) + coef * c
        if s < 0:  # relu(-c h.x) = c relu(h.x) - c h.x
            for i, v in enumerate(h):
                self.l[i] -= coef * c * v

    def add_linear(self, other: "_Layer1Function", coef: Fraction) -> None:
        for h, v in other.a.items():
            self.a[h] = self.a.get(h, Fraction(0)) + coef * v
        for i, v in enumerate(other.l):
            self.l[i] += coef * v

    def key(self) -> tuple:
        items = tuple(sorted((h, v) for h, v in self.a.items() if v != 0))
        return items, tuple(self.l)

    def leading(self) -> Fraction | None:
        items, lin = self.key()
        if items:
            return items[0][1]
        return next((v for v in lin if v != 0), None)


def canonical_form(net: Network) -> tuple | None:
    """The canonical form of a bias-free network with one output and at most two hidden layers, or None."""
    layers = to_layers(net)
    if layers is None or net.n_outputs != 1 or len(layers) > 3:
        return None
    if any(b != 0 for layer in layers for b in layer.bias):
        return None
    d = net.n_inputs
    # Value of every first-layer unit as a layer-1 function (inputs for a network without hidden layers).
    if len(layers) == 1:
        out = _Layer1Function(d)
        out.l = list(layers[0].weights[0])
        return ((), out.key())
    units1 = []
    for row in layers[0].weights:
        f = _Layer1Function(d)
        f.add_relu(row, Fraction(1))
        units1.append(f)
    if len(layers) == 2:
        out = _Layer1Function(d)
        for f, w in zip(units1, layers[1].weights[0]):
            if w != 0:
                out.add_linear(f, w)
        return ((), out.key())
    second: dict[tuple, Fraction] = {}
    rest = _Layer1Function(d)
    for row, u in zip(layers[1].weights, layers[2].weights[0]):
        if u == 0:
            continue
        pre = _Layer1Function(d)
        for f, w in zip(units1, row):
            if w != 0:
                pre.add_linear(f, w)
        lead = pre.leading()
        if lead is None:
            continue  # relu(0) = 0
        scale = abs(lead)
        normal = _Layer1Function(d)
        normal.add_linear(pre, 1 / scale)
        if lead < 0:  # relu(-c G) = c relu(G) - c G
            normal = _scaled(normal, Fraction(-1))
            rest.add_linear(normal, -u * scale)
        key = normal.key()
        second[key] = second.get(key, Fraction(0)) + u * scale
    return tuple(sorted((k, v) for k, v in second.items() if v != 0)), rest.key()


def _scaled(f: _Layer1Function, c: Fraction) -> _Layer1Function:
    g = _Layer1Function(len(f.l))
    g.add_linear(f, c)
    return g


def _permuted(net: Network, perm: Sequence[int]) -> Network:
    """``x -> N(x_perm[0], ..., x_perm[d-1])`` as a layered network (first-layer columns moved)."""
    layers = to_layers(net)
    first = layers[0]
    weights = []
    for row in first.weights:
        new = [Fraction(0)] * len(row)
        for i, w in enumerate(row):
            new[perm[i]] += w
        weights.append(tuple(new))
    moved = [Layer(tuple(weights), first.bias, first.activation)] + list(layers[1:])
    return from_layers(net.n_inputs, moved)


def _support_terms_invariant(net: Network, perm: Sequence[int]) -> bool:
    """Invariance read off an exact decomposition ``N = sum_u w_u h_{R_u}`` into support functions.

    ``h_R(Px) = max_{v in R} <v, Px> = h_{R'}(x)`` with ``R'`` the polytope whose vertices have their
    coordinates moved by ``perm``; so equal multisets ``{(w_u, R_u)}`` and ``{(w_u, R'_u)}`` prove
    ``N(Px) = N(x)``. Only networks of the max-of-5 shape decompose
    (:func:`verify.analysis.max5.support_decomposition`).
    """
    from collections import Counter

    from .max5 import support_decomposition

    if net.n_inputs != 5 or to_layers(net) is None or len(to_layers(net)) != 3:
        return False
    terms = support_decomposition(net)
    if terms is None:
        return False

    def moved(vertices):
        out = []
        for v in vertices:
            w = [0] * len(v)
            for i, t in enumerate(v):
                w[perm[i]] = t
            out.append(tuple(w))
        return frozenset(out)

    before = Counter((t.weight, t.vertices) for t in terms)
    after = Counter((t.weight, moved(t.vertices)) for t in terms)
    return before == after


def permutation_invariant(net: Network, perm: Sequence[int]) -> bool:
    """True if ``N(x_perm[0], ..., x_perm[d-1]) = N(x)`` is shown exactly (canonical forms, or the
    support-function decomposition for max-of-5-shaped networks); False means "not shown"."""
    d = net.n_inputs
    if sorted(perm) != list(range(d)):
        raise VerifyError(f"{list(perm)} is not a permutation of 0..{d - 1}")
    mine = canonical_form(net)
    if mine is not None and mine == canonical_form(_permuted(net, perm)):
        return True
    return _support_terms_invariant(net, perm)


def symmetric_group_invariant(net: Network) -> bool:
    """Invariance under every permutation, shown for the generators (0 1) and (0 1 ... d-1)."""
    d = net.n_inputs
    if d == 1:
        return True
    swap = [1, 0] + list(range(2, d))
    cycle = list(range(1, d)) + [0]
    return permutation_invariant(net, swap) and permutation_invariant(net, cycle)


def cone_pieces(net: Network) -> list[tuple[str, str]]:
    """The z3 queries that together decide ``N == x_1`` on the sorted cone ``C``: ``(face, side)`` pairs.

    ``side`` is ">" or "<" (``N > x_1`` or ``N < x_1``; one unsat pair proves equality). For a bias-free
    network both sides are positively homogeneous (:attr:`verify.ir.graph.Network.is_bias_free`), so a
    point of ``C`` where they differ can be scaled onto the boundary of ``[-1, 1]^d``; on ``C`` that
    boundary is the two faces ``x_1 = 1`` and ``x_d = -1`` (``x_1`` is the largest coordinate and ``x_d``
    the smallest), and the origin, where both sides are 0. Four queries in dimension ``d - 1`` replace
    one in dimension ``d``, and they run in parallel. Other networks get the whole cone ("cone").
    """
    faces = ("top", "bottom") if net.is_bias_free and net.n_inputs > 1 else ("cone",)
    return [(face, side) for face in faces for side in (">", "<")]


def _decide_piece(net: Network, face: str, side: str, deadline_at: float | None):
    """One cone piece: ("unsat", None), ("sat", exact point) or ("unknown", reason). Runs in a worker.

    ``deadline_at`` is an absolute ``time.time()`` (workers are other processes), ``None`` for no limit.
    """
    import time

    d = net.n_inputs
    session = Z3Session(Deadline(None if deadline_at is None else max(0.0, deadline_at - time.time())))
    xs = session.reals(d)
    low = Z3Lowering(net, xs)
    solver = session.solver()
    solver.add(*low.side)
    solver.add(*[xs[i] >= xs[i + 1] for i in range(d - 1)])  # the sorted cone, where max = x_1
    if face != "cone":
        solver.add(*([x >= -1 for x in xs] + [x <= 1 for x in xs]))
        solver.add(xs[0] == 1 if face == "top" else xs[d - 1] == -1)
    solver.add(low.outputs[0] > xs[0] if side == ">" else low.outputs[0] < xs[0])
    answer = solver.check()
    if answer.unsat:
        return "unsat", None
    if answer.unknown:
        return "unknown", answer.reason
    return "sat", answer.point


def _decide_piece_star(args):
    return _decide_piece(*args)


def decide_cone(net: Network, deadline: Deadline, *, workers: int | None = None) -> ExactnessResult:
    """Decide ``N == x_1`` on the sorted cone by the z3 queries of :func:`cone_pieces` (``N`` is known to be
    invariant under permuting its inputs, so this decides ``N == max`` on R^d).

    The queries run on ``workers`` processes (default: one per core, at most one per query; 1 runs them
    in this process). UNKNOWN (with the reason) if z3 gives up; a counterexample counts only after exact
    evaluation. The result's ``backend`` is "z3+symmetry".
    """
    import os
    import time

    d = net.n_inputs
    domain = RealSpace(d)
    pieces = cone_pieces(net)
    reason = "reduction: N is invariant under permuting its inputs (proved exactly); decided on the sorted cone"
    if pieces[0][0] != "cone":
        reason += " through its faces x_1 = 1 and x_d = -1 (N is bias-free, hence positively homogeneous)"
    remaining = deadline.remaining()
    deadline_at = None if remaining is None else time.time() + remaining
    jobs = [(net, face, side, deadline_at) for face, side in pieces]
    import multiprocessing as mp

    # "fork": workers inherit the loaded network and modules (no re-import of the caller's main
    # module, which "spawn" needs guarded). Each piece builds its own z3 session in the worker.
    # A daemonic process (a multiprocessing.Pool or Dask worker) may not have children: run in-process.
    # Forking while other threads run (a Dask client's offload thread, a progress bar) can copy a lock
    # some thread holds into the child, which then waits forever: run in-process then too.
    import threading

    can_fork = "fork" in mp.get_all_start_methods() and not mp.current_process().daemon \
        and threading.active_count() == 1
    workers = min(len(jobs), workers or os.cpu_count() or 1) if can_fork else 1
    unknown = None
    if workers <= 1:
        outcomes = map(_decide_piece_star, jobs)
        pool = None
    else:
        pool = mp.get_context("fork").Pool(workers)
        outcomes = pool.imap_unordered(_decide_piece_star, jobs)
    try:
        for answer, data in outcomes:
            if answer == "unknown":
                unknown = unknown or data
                continue
            if answer == "sat":
                point = data
                value = evaluate(net, point)[0]
                if value == max(point):
                    unknown = unknown or "solver model did not reproduce under exact evaluation"
                    continue
                return ExactnessResult(Status.REFUTED, domain, deadline.elapsed(), counterexample=point,
                                       output_index=0, network_value=value, reference_value=max(point),
                                       backend="z3+symmetry")
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    if unknown is not None:
        return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), backend="z3+symmetry",
                               reason=f"{reason}; solver unknown ({unknown})")
    return ExactnessResult(Status.PROVED, domain, deadline.elapsed(), reason=reason, backend="z3+symmetry")
