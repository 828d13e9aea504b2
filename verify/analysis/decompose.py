"""Decomposition by output support: solve each output on its own sub-network, identical ones once.

When each output of a network reads only a few inputs (pooling windows, a replacement layer applied to
every window, grouped convolutions), the worst case of output ``o`` is a question about the
sub-network of its ancestors, over the coordinates it reads:

``sup_{x in box} (f_o - g_o)(x) = sup_{y in box_S} (f_o|S - g_o|S)(y)``, ``S`` = the inputs ``f_o`` or
``g_o`` reads (the union of both supports), because the other coordinates do not change either value.

Sub-problems are hashed canonically (:class:`verify.ir.canonical.Canon`, inputs relabelled onto their
position in ``S``, exact weights and the box restricted to ``S`` in the key): two windows whose
sub-networks are identical up to that relabelling, on the same sub-box, are solved once. The overall
answer is the largest over outputs. Every witness is lifted back to the full input space (the other
coordinates at the box centre) and re-evaluated exactly on the ORIGINAL networks before it is reported.

The per-piece solver is a parameter (default: :func:`verify.analysis.worst_case.both_sides`, backend
"milp"), so other exact engines plug in unchanged: any callable ``solver(f, g, box, timeout=...)``
returning an :class:`~verify.analysis.results.ErrorResult`.

References
----------
Structural decomposition of this kind is the input-split/"independent sub-network" argument used by
complete verifiers; the statement above is elementary (a function that does not read a coordinate is
constant along it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

import networkx as nx

from ..backends.evaluator import evaluate
from ..backends.intervals import interval_bounds
from ..domain import Box
from ..errors import DomainError, ToolkitBugError, VerifyError
from ..ir.canonical import Canon
from ..ir.graph import Network
from ..ir.ops import Op
from ..numbers import to_text
from ..constructions.reference import reference_network
from ..deadline import Deadline
from ..progress import report
from ..status import Status
from .results import ErrorResult

__all__ = ["output_supports", "restrict", "Piece", "OutputDifference", "DecomposedDifference",
           "decompose_pairs", "decomposed_difference", "decomposed_error", "chain_solver", "decomposed_equivalence",
           "has_smaller_supports"]

Solver = Callable[..., ErrorResult]


def output_supports(net: Network) -> tuple[tuple[int, ...], ...]:
    """For each output, the sorted indices of the inputs it depends on structurally (its input ancestors).

    Structural: an input with a path to the output is in the support even if its effect cancels, so the
    support is a superset of the true one (which is all the decomposition needs).
    """
    return tuple(_support(net, o) for o in range(net.n_outputs))


def _support(net: Network, o: int) -> tuple[int, ...]:
    anc = nx.ancestors(net.graph, net.outputs[o])
    return tuple(sorted(net.graph.nodes[n]["index"] for n in anc if net.op(n) is Op.INPUT))


def restrict(net: Network, output: int, support: Sequence[int], *, name: str = "") -> Network:
    """The sub-network computing output ``output`` of ``net`` from the inputs ``support`` (in that order).

    Input ``support[k]`` of ``net`` becomes input ``k``; ``support`` must contain every input the output
    depends on (extra inputs are allowed and unused). Node ids of ``net`` are kept.
    """
    out = net.outputs[output]
    keep = nx.ancestors(net.graph, out) | {out}
    pos = {i: k for k, i in enumerate(support)}
    g = nx.DiGraph()
    inputs = [None] * len(support)
    for i, k in pos.items():
        node = net.inputs[i]
        g.add_node(node, op=Op.INPUT, index=k)
        inputs[k] = node
    for n in net.order:
        if n not in keep:
            continue
        attrs = dict(net.graph.nodes[n])
        if attrs["op"] is Op.INPUT:
            if attrs["index"] not in pos:
                raise VerifyError(f"output {output} reads input {attrs['index']}, which is not in the support given")
            continue
        if attrs["op"] is Op.OUTPUT:
            attrs["index"] = 0
        g.add_node(n, **attrs)
        for p in net.graph.predecessors(n):
            g.add_edge(p, n, **net.graph.edges[p, n])
    return Network(g, inputs, [out], name=name or f"{net.name or 'network'} output {output}")


def has_smaller_supports(f: Network, g: Network) -> bool:
    """True when some output of ``f`` or ``g`` reads fewer than all inputs (the decomposition pays)."""
    n = f.n_inputs
    return any(len(set(_support(f, o)) | set(_support(g, o))) < n for o in range(f.n_outputs))


def chain_solver(*, backend: str = "auto", samples: int = 512, seed: int = 0) -> Solver:
    """The default per-piece solver: exact ``sup (f - g)`` and ``sup (g - f)`` by
    :func:`verify.analysis.worst_case.both_sides` with ``backend`` ("auto" chooses per piece)."""
    from .worst_case import both_sides

    def solve(f: Network, g: Network, box: Box, timeout: float | None = None) -> ErrorResult:
        return both_sides(f, g, box, timeout=timeout, samples=samples, seed=seed, backend=backend)

    return solve


@dataclass(frozen=True)
class Piece:
    """One distinct sub-problem: the outputs that share it, its sub-box and its answer (in its own
    coordinates: input ``k`` of the piece is coordinate ``support[k]`` of the first output's support)."""

    index: int
    outputs: tuple[int, ...]
    dim: int
    result: ErrorResult | None  # None: constant outputs (no input read), decided by one evaluation


@dataclass(frozen=True)
class OutputDifference:
    """Exact ``sup (f_o - g_o)`` and ``sup (g_o - f_o)`` of one output, witnesses in the full input space."""

    output: int
    support: tuple[int, ...]
    piece: int
    status: Status
    sup_over: Fraction
    sup_under: Fraction
    witness_over: tuple[Fraction, ...]
    witness_under: tuple[Fraction, ...]
    upper_over: Fraction
    upper_under: Fraction

    @property
    def sup_abs(self) -> Fraction:
        return max(self.sup_over, self.sup_under)

    def to_json(self) -> dict[str, Any]:
        return {"output": self.output, "support": list(self.support), "piece": self.piece, "status": self.status.value,
                "sup_over": to_text(self.sup_over), "sup_under": to_text(self.sup_under),
                "sup_abs": to_text(self.sup_abs), "witness_over": [to_text(v) for v in self.witness_over],
                "witness_under": [to_text(v) for v in self.witness_under],
                "upper_over": to_text(self.upper_over), "upper_under": to_text(self.upper_under)}


@dataclass(frozen=True)
class DecomposedDifference:
    """The combined answer (``overall``, the same fields as an undecomposed :class:`ErrorResult`), the answer
    of every output, and the bookkeeping: ``distinct`` pieces, ``solver_calls`` made."""

    overall: ErrorResult
    per_output: tuple[OutputDifference, ...]
    pieces: tuple[Piece, ...]
    solver_calls: int
    stats: dict = field(default_factory=dict)

    @property
    def distinct(self) -> int:
        return len(self.pieces)

    def to_json(self) -> dict[str, Any]:
        out = self.overall.to_json()
        out["per_output"] = [p.to_json() for p in self.per_output]
        out["decomposition"] = {"outputs": len(self.per_output), "distinct": self.distinct,
                                "solver_calls": self.solver_calls,
                                "pieces": [{"piece": p.index, "outputs": list(p.outputs), "inputs": p.dim,
                                            "seconds": None if p.result is None else round(p.result.seconds, 6),
                                            "status": "PROVED" if p.result is None else p.result.status.value}
                                           for p in self.pieces]}
        return out


def decompose_pairs(f: Network, g: Network, box, canon: Canon | None = None) -> list[tuple[tuple, tuple[int, ...]]]:
    """For each output: its canonical key and its support (the union of the supports in ``f`` and ``g``).

    Outputs with equal keys are the same sub-problem: the same function structure of ``f_o`` and of
    ``g_o`` up to the relabelling of their inputs onto positions in the support, on the same sub-box.
    """
    canon = canon or Canon()
    out = []
    for o in range(f.n_outputs):
        support = tuple(sorted(set(_support(f, o)) | set(_support(g, o))))
        pos = {i: k for k, i in enumerate(support)}
        fid = canon.ids(f, input_label=pos.__getitem__, nodes=[f.outputs[o]])[f.outputs[o]]
        gid = canon.ids(g, input_label=pos.__getitem__, nodes=[g.outputs[o]])[g.outputs[o]]
        sub_box = tuple((box.lo[i], box.hi[i]) for i in support) if isinstance(box, Box) else "R"
        out.append(((fid, gid, sub_box), support))
    return out


def decomposed_difference(f: Network, g: Network, box: Box, *, solver: Solver | None = None, backend: str = "auto",
                          timeout: float | None = None, samples: int = 512, seed: int = 0) -> DecomposedDifference:
    """Exact ``sup (f - g)`` and ``sup (g - f)`` over ``box``, output by output, identical pieces solved once.

    Parameters
    ----------
    f, g : Network
        The same numbers of inputs and outputs (e.g. a model and its replacement, or a network and its
        max reference).
    box : Box
    solver : callable, optional
        ``solver(f_sub, g_sub, sub_box, timeout=seconds) -> ErrorResult`` for one piece (both networks
        with one output). Default :func:`chain_solver` with ``backend``.
    timeout : float, optional
        For the whole query; pieces not solved in time are UNKNOWN with sound interval brackets.

    Returns
    -------
    DecomposedDifference
        ``overall`` has the same exact values as :func:`verify.analysis.worst_case.both_sides` on the
        whole networks; every witness was re-evaluated on ``f`` and ``g``.

    Examples
    --------
    Two windows of a 2 x 4 max pooling layer against the mean of each window: one piece, solved once,
    and the closed form ``(k - 1) / k`` of the mean's error on ``[0, 1]^k``:

    >>> from verify.constructions import pool2d
    >>> from verify.ir.builder import GraphBuilder
    >>> b = GraphBuilder(8); xs = b.input_exprs()
    >>> for w in pool2d(2, 4, 2, 2, "A").windows:
    ...     _ = b.output(sum((xs[i] for i in w[1:]), xs[w[0]]) * Fraction(1, len(w)))
    >>> mean = b.build(name="mean pooling")
    >>> r = decomposed_difference(pool2d(2, 4, 2, 2, "A"), mean, Box.cube(8))
    >>> r.overall.sup_over, r.overall.sup_under, r.distinct, r.solver_calls
    (Fraction(3, 4), Fraction(0, 1), 1, 1)
    """
    if not isinstance(box, Box):
        raise DomainError("a worst-case difference needs a box")
    if f.n_inputs != g.n_inputs or f.n_outputs != g.n_outputs:
        raise VerifyError(f"networks have different shapes: {f.n_inputs}->{f.n_outputs} and {g.n_inputs}->{g.n_outputs}")
    if box.dim != f.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the networks have {f.n_inputs} inputs")
    deadline = Deadline(timeout)
    label = backend if solver is None else getattr(solver, "__name__", "custom")
    solver = solver or chain_solver(backend=backend, samples=samples, seed=seed)
    keyed = decompose_pairs(f, g, box)
    groups: dict = {}
    for o, (key, _) in enumerate(keyed):
        groups.setdefault(key, []).append(o)
    pieces, piece_of = [], {}
    calls = 0
    centre = box.center()
    seen: list[ErrorResult] = []  # the pieces' answers so far (for the progress bar's bracket)
    for key, outs in groups.items():
        first = outs[0]
        support = keyed[first][1]
        if not support:  # constant outputs: one exact evaluation decides them
            result = None
        else:
            fs = restrict(f, first, support)
            gs = restrict(g, first, support)
            sub = Box(tuple(box.lo[i] for i in support), tuple(box.hi[i] for i in support))
            if deadline.expired():
                result = _unsolved(fs, gs, sub)
            else:
                # An equal share of the time left for each piece left (what one does not use rolls over),
                # so a hard first piece cannot leave the others without a bracket.
                report(piece=len(pieces) + 1, pieces=len(groups))
                left = deadline.remaining()
                share = None if left is None else left / (len(groups) - len(pieces))
                result = solver(fs, gs, sub, timeout=share)
                calls += 1
            seen.append(result)
            report(piece=len(pieces) + 1, pieces=len(groups), attained=max(r.sup_abs for r in seen),
                   upper=max(_upper_abs(r) for r in seen))
        piece = Piece(len(pieces), tuple(outs), len(support), result)
        pieces.append(piece)
        for o in outs:
            piece_of[o] = piece
    per_output = [_lift(f, g, o, keyed[o][1], piece_of[o], centre) for o in range(f.n_outputs)]
    overall = _combine(per_output, box, deadline, label)
    overall.stats.update({"decomposition": {"outputs": f.n_outputs, "distinct": len(pieces), "solver_calls": calls}})
    return DecomposedDifference(overall, tuple(per_output), tuple(pieces), calls,
                                {"seconds": deadline.elapsed()})


def _upper_abs(r: ErrorResult) -> Fraction:
    up = [u for u in (r.upper_over, r.upper_under) if u is not None]
    return max(up) if len(up) == 2 else r.sup_abs


def decomposed_error(net: Network, box: Box, **kw) -> DecomposedDifference:
    """:func:`decomposed_difference` of ``net`` against the max of each output's window
    (``sup_over`` = sup (N - max), ``sup_under`` = sup (max - N), as in
    :func:`verify.analysis.worst_case.worst_case_error`)."""
    if not isinstance(box, Box):
        raise DomainError("worst-case error needs a box (the error on all of R^d is unbounded in general)")
    return decomposed_difference(net, reference_network(net), box, **kw)


def _unsolved(fs: Network, gs: Network, sub: Box) -> ErrorResult:
    """No time left: the value at the box centre (attained) and interval upper bounds (sound)."""
    c = sub.center()
    v = evaluate(fs, c)[0] - evaluate(gs, c)[0]
    fb, gb = interval_bounds(fs, sub), interval_bounds(gs, sub)
    (flo, fhi), (glo, ghi) = fb[fs.outputs[0]], gb[gs.outputs[0]]
    return ErrorResult(status=Status.UNKNOWN, domain=sub, seconds=0.0, sup_over=v, sup_under=-v, witness_over=c,
                       witness_under=c, upper_over=max(fhi - glo, v), upper_under=max(ghi - flo, -v),
                       reason="timeout before this piece was solved", backend="none")


def _lift(f: Network, g: Network, o: int, support, piece: Piece, centre) -> OutputDifference:
    def full(w):
        x = list(centre)
        for k, i in enumerate(support):
            x[i] = w[k]
        return tuple(x)

    if piece.result is None:
        v = evaluate(f, centre)[o] - evaluate(g, centre)[o]
        return OutputDifference(o, (), piece.index, Status.PROVED, v, -v, centre, centre, v, -v)
    r = piece.result
    wo, wu = full(r.witness_over), full(r.witness_under)
    over = evaluate(f, wo)[o] - evaluate(g, wo)[o]
    under = evaluate(g, wu)[o] - evaluate(f, wu)[o]
    if over != r.sup_over or under != r.sup_under:
        raise ToolkitBugError(f"output {o}: the lifted witnesses give {over}, {under} on the original networks, "
                              f"the piece said {r.sup_over}, {r.sup_under}")
    up_o = r.upper_over if r.upper_over is not None else over
    up_u = r.upper_under if r.upper_under is not None else under
    return OutputDifference(o, tuple(support), piece.index, r.status, over, under, wo, wu, up_o, up_u)


def _combine(per_output: Sequence[OutputDifference], box: Box, deadline: Deadline, backend: str) -> ErrorResult:
    o_over = max(per_output, key=lambda p: p.sup_over)
    o_under = max(per_output, key=lambda p: p.sup_under)
    proved = all(p.status is Status.PROVED for p in per_output)
    return ErrorResult(
        status=Status.PROVED if proved else Status.UNKNOWN, domain=box, seconds=deadline.elapsed(),
        sup_over=o_over.sup_over, sup_under=o_under.sup_under, witness_over=o_over.witness_over,
        witness_under=o_under.witness_under, output_over=o_over.output, output_under=o_under.output,
        upper_over=max(p.upper_over for p in per_output), upper_under=max(p.upper_under for p in per_output),
        reason="" if proved else "some pieces are UNKNOWN (timeout or solver unknown): values are attained lower "
                                 "bounds, upper_* are sound upper bounds",
        backend=f"decomposed/{backend}", stats={})



def decomposed_equivalence(f: Network, g: Network, domain, *, backend: str = "auto", timeout: float | None = None):
    """Decide ``f == g`` on ``domain`` (a box or R^d) output by output on each output's sub-network,
    identical pieces once (:func:`decompose_pairs`), by :func:`verify.analysis.exactness.check_equivalent`.

    A counterexample of a piece is lifted to the full input space (the other coordinates at the box
    centre, or 0 on R^d) and re-evaluated on the ORIGINAL networks before it is reported. The first
    piece that is not PROVED decides: REFUTED with the lifted point, or UNKNOWN naming the outputs
    proved so far.
    """
    from .exactness import check_equivalent
    from .results import ExactnessResult
    from ..domain import RealSpace

    if f.n_inputs != g.n_inputs or f.n_outputs != g.n_outputs:
        raise VerifyError(f"networks have different shapes: {f.n_inputs}->{f.n_outputs} and {g.n_inputs}->{g.n_outputs}")
    deadline = Deadline(timeout)
    keyed = decompose_pairs(f, g, domain)
    groups: dict = {}
    for o, (key, _) in enumerate(keyed):
        groups.setdefault(key, []).append(o)
    base = domain.center() if isinstance(domain, Box) else tuple(Fraction(0) for _ in range(f.n_inputs))
    proved: list[int] = []
    used = backend
    for key, outs in groups.items():
        first, support = outs[0], keyed[outs[0]][1]
        if support:
            fs, gs = restrict(f, first, support), restrict(g, first, support)
            sub = Box(tuple(domain.lo[i] for i in support), tuple(domain.hi[i] for i in support)) \
                if isinstance(domain, Box) else RealSpace(len(support))
            r = check_equivalent(fs, gs, sub, timeout=deadline.remaining(), backend=backend)
            used = r.backend
            point = None
            if r.status is Status.REFUTED:
                point = list(base)
                for k, i in enumerate(support):
                    point[i] = r.counterexample[k]
                point = tuple(point)
        else:  # constant outputs: one exact evaluation decides them
            r, point = None, (base if evaluate(f, base)[first] != evaluate(g, base)[first] else None)
        if point is not None:
            v1, v2 = evaluate(f, point)[first], evaluate(g, point)[first]
            if v1 == v2:
                raise ToolkitBugError(f"output {first}: the lifted counterexample does not separate the networks")
            return ExactnessResult(Status.REFUTED, domain, deadline.elapsed(), counterexample=point, output_index=first,
                                   network_value=v1, reference_value=v2, backend=f"decomposed/{used}", query="equivalent",
                                   stats={"decomposition": {"outputs": f.n_outputs, "distinct": len(groups)}})
        if r is not None and r.status is not Status.PROVED:
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=first,
                                   reason=f"output {first}: {r.reason}", backend=f"decomposed/{used}",
                                   query="equivalent", proved_outputs=tuple(sorted(proved)))
        proved.extend(outs)
    return ExactnessResult(Status.PROVED, domain, deadline.elapsed(), backend=f"decomposed/{used}", query="equivalent",
                           stats={"decomposition": {"outputs": f.n_outputs, "distinct": len(groups)}})
