"""Exactness queries: is N equal to max (or to another network) on a box or on all of R^d?

Each output is decided by one z3 query in linear real arithmetic: ``exists x in D: N_o(x) != R_o(x)``.
``unsat`` on every output is PROVED; a model is a counterexample, REFUTED only after the exact evaluator
re-runs both networks on it and finds them different; ``unknown`` or a timeout is UNKNOWN.
"""

from __future__ import annotations

from fractions import Fraction

from ..backends.evaluator import evaluate
from ..backends.intervals import interval_bounds, relu_phases
from ..backends.z3_backend import Z3Lowering, domain_constraints, fresh_reals, from_z3, z3
from ..domain import Box, RealSpace
from ..errors import VerifyError
from ..ir.graph import Network
from ..ir.ops import Op
import networkx as nx

from ..bounds.depth import check_depth_consistency
from .reference import reference_network
from .results import Deadline, ExactnessResult, Status

__all__ = ["check_exact", "check_equivalent", "is_bias_free", "homogeneous_reduction"]


def _check_domain(net: Network, domain) -> Box | RealSpace:
    if domain is None:
        return RealSpace(net.n_inputs)
    if domain.dim != net.n_inputs:
        raise VerifyError(f"domain has dimension {domain.dim}, the network has {net.n_inputs} inputs")
    return domain


def is_bias_free(net: Network) -> bool:
    """True when every affine node has bias exactly 0: the network is then positively homogeneous.

    ReLU and max commute with multiplication by ``t > 0``, and so do affine maps without bias, hence
    ``N(t x) = t N(x)`` for every ``t > 0`` and ``N(0) = 0``.
    """
    return all(net.bias(n) == 0 for n in net.order if net.op(n) is Op.AFFINE)


def homogeneous_reduction(net1: Network, net2: Network, domain) -> tuple[Box | None, str]:
    """Reduce a query on all of R^d to the box [-1, 1]^d when both networks are bias-free.

    Both sides are positively homogeneous (:func:`is_bias_free`), so ``net1 == net2`` on R^d iff on
    any box containing a neighbourhood of 0: every ``x != 0`` is ``t y`` with ``t = max_i |x_i| > 0``
    and ``y`` in [-1, 1]^d, and ``net1(x) - net2(x) = t (net1(y) - net2(y))``; at 0 both are 0.
    Returns ``(box, note)``, or ``(None, why not)``.
    """
    if not isinstance(domain, RealSpace):
        return None, ""
    if not (is_bias_free(net1) and is_bias_free(net2)):
        return None, "the networks have non-zero biases (no homogeneous reduction to a box)"
    d = net1.n_inputs
    return Box.cube(d, -1, 1), (f"reduction: both networks are bias-free, hence positively homogeneous; "
                                f"equality on R^{d} was decided on [-1,1]^{d}")


def _check_equivalent_milp(net1, net2, domain, deadline, query, box, note) -> ExactnessResult:
    """Exactness by two exact maximisations per output (``net1 - net2`` and ``net2 - net1`` <= 0)."""
    from ..backends.milp import maximize
    from ..ir.rewrites import difference_network, merge_parallel_relus

    stats = {}
    for o in range(net1.n_outputs):
        for sign in (1, -1):
            r = maximize(merge_parallel_relus(difference_network(net1, net2, o, sign)), box, deadline=deadline,
                         floor=Fraction(0), stop_above=Fraction(0))
            stats[f"output{o}_{'over' if sign == 1 else 'under'}"] = r.stats
            if r.value is not None and r.value > 0:
                point = r.witness
                v1, v2 = evaluate(net1, point)[o], evaluate(net2, point)[o]
                if v1 == v2 or not domain.contains(point):  # pragma: no cover - guarded twice
                    return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                           reason="witness did not reproduce under exact evaluation",
                                           backend="milp", query=query)
                return ExactnessResult(Status.REFUTED, domain, deadline.elapsed(), counterexample=point,
                                       output_index=o, network_value=v1, reference_value=v2,
                                       reason=note, backend="milp", query=query)
            if r.status != "PROVED":
                return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                       reason=f"MILP search did not finish on output {o} ({r.stats.get('reason', 'timeout')})",
                                       backend="milp", query=query)
    res = ExactnessResult(Status.PROVED, domain, deadline.elapsed(), reason=note, backend="milp", query=query)
    res.stats = stats
    return res


def check_equivalent(net1: Network, net2: Network, domain: Box | RealSpace | None = None, *,
                     timeout: float | None = None, query: str = "equivalent", backend: str = "z3") -> ExactnessResult:
    """Decide ``net1(x) == net2(x)`` for every ``x`` in ``domain`` (default: all of R^d), exactly.

    ``backend``: "z3" (one SMT query per output), "milp" (exact branch and bound guided by HiGHS,
    :mod:`verify.backends.milp`; on all of R^d it needs bias-free networks, which it reduces to
    [-1, 1]^d, otherwise it falls back to z3 and says so in ``reason``), or "auto" (z3 with a
    short budget, at most 10 s, then the MILP search with the rest of the time).
    """
    if net1.n_inputs != net2.n_inputs or net1.n_outputs != net2.n_outputs:
        raise VerifyError(
            f"networks have different shapes: {net1.n_inputs}->{net1.n_outputs} and {net2.n_inputs}->{net2.n_outputs}"
        )
    if backend not in ("z3", "milp", "auto"):
        raise VerifyError(f"unknown backend {backend!r}: expected z3, milp or auto")
    domain = _check_domain(net1, domain)
    deadline = Deadline(timeout)
    fallback = ""
    if backend == "auto":
        # z3 is fast on structured constructions (trees, pooling); give it a short budget first and
        # hand what is left to the MILP search when it does not decide.
        budget = 10.0 if timeout is None else min(10.0, timeout / 4)
        first = check_equivalent(net1, net2, domain, timeout=budget, query=query, backend="z3")
        if first.status is not Status.UNKNOWN or (timeout is not None and deadline.expired()):
            return first
        rest = None if timeout is None else max(0.1, timeout - deadline.elapsed())
        second = check_equivalent(net1, net2, domain, timeout=rest, query=query, backend="milp")
        second.seconds = deadline.elapsed()
        return second
    if backend == "milp":
        box, note = (domain, "") if isinstance(domain, Box) else homogeneous_reduction(net1, net2, domain)
        if box is not None:
            return _check_equivalent_milp(net1, net2, domain, deadline, query, box, note)
        fallback = f"z3 used: the MILP backend needs a box and {note}"
    xs = fresh_reals(net1.n_inputs)
    low = []
    for k, net in enumerate((net1, net2)):
        phases = bounds = None
        if isinstance(domain, Box):
            bounds = interval_bounds(net, domain)
            phases = relu_phases(net, bounds)
        low.append(Z3Lowering(net, xs, prefix=f"n{k}", phases=phases))
    base = domain_constraints(xs, domain) + low[0].side + low[1].side
    for o in range(net1.n_outputs):
        if deadline.expired():
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                   reason=f"timeout before output {o} was decided{_so_far(o)}", query=query,
                                   proved_outputs=tuple(range(o)))
        solver = z3.Solver(ctx=xs[0].ctx)
        ms = deadline.z3_ms()
        if ms is not None:
            solver.set("timeout", ms)
        solver.add(base)
        solver.add(low[0].outputs[o] != low[1].outputs[o])
        answer = solver.check()
        if answer == z3.unsat:
            continue
        if answer == z3.unknown:
            reason = solver.reason_unknown()
            why = "timeout" if deadline.expired() or "timeout" in reason or "canceled" in reason else reason
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                   reason=f"solver returned unknown on output {o} ({why}){_so_far(o)}", query=query,
                                   proved_outputs=tuple(range(o)))
        model = solver.model()
        point = tuple(from_z3(model.eval(x, model_completion=True)) for x in xs)
        v1, v2 = evaluate(net1, point)[o], evaluate(net2, point)[o]
        if v1 == v2 or not domain.contains(point):
            # The solver's model did not reproduce under exact evaluation: no verdict.
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                   reason=f"solver model did not reproduce under exact evaluation{_so_far(o)}", query=query,
                                   proved_outputs=tuple(range(o)))
        return ExactnessResult(Status.REFUTED, domain, deadline.elapsed(), counterexample=point,
                               output_index=o, network_value=v1, reference_value=v2, query=query)
    return ExactnessResult(Status.PROVED, domain, deadline.elapsed(), query=query, reason=fallback)


def _so_far(o: int) -> str:
    """What a stopped query still established: the outputs before ``o`` were proved equal."""
    if o == 0:
        return "; no output proved yet"
    return f"; outputs 0..{o - 1} proved equal" if o > 1 else "; output 0 proved equal"


def check_exact(net: Network, domain: Box | RealSpace | None = None, *, timeout: float | None = None,
                backend: str = "z3") -> ExactnessResult:
    """Decide ``N(x) == max_{i in window} x_i`` for every output and every ``x`` in ``domain``.

    ``domain`` defaults to all of R^d. See :func:`check_equivalent` for the verdict rules. With
    ``backend="auto"`` on R^d and one output that is the max of all inputs, the symmetry reduction
    (:func:`verify.analysis.symmetry.check_exact_by_symmetry`) is tried first.

    >>> from verify.constructions import max_tree
    >>> check_exact(max_tree(5, gadget="B")).status
    <Status.PROVED: 'PROVED'>
    """
    result = None
    if backend == "arrangement":
        # Exactness on R^d by the hyperplane arrangement of a bias-free network (verify.analysis.arrangement).
        if domain is not None and not isinstance(domain, RealSpace):
            raise VerifyError("the arrangement backend decides exactness on all of R^d only (no --box)")
        from .arrangement import check_exact_arrangement

        return check_exact_arrangement(net, timeout=timeout)
    if backend == "auto" and (domain is None or isinstance(domain, RealSpace)) and net.n_outputs == 1 \
            and net.windows == (tuple(range(net.n_inputs)),):
        # One output that is the max of all inputs, on R^d: try the symmetry reduction first (proved
        # invariance, then the sorted cone; Bakaev et al.'s max-of-5 network is decided this way).
        from .symmetry import check_exact_by_symmetry

        deadline = Deadline(timeout)
        first = check_exact_by_symmetry(net, timeout=timeout)
        if first.status is not Status.UNKNOWN or deadline.expired():
            result = first
        else:
            rest = deadline.remaining()
            result = check_equivalent(net, reference_network(net), domain, timeout=rest, query="exact", backend=backend)
            result.seconds = deadline.elapsed()
    if result is None:
        result = check_equivalent(net, reference_network(net), domain, timeout=timeout, query="exact", backend=backend)
    if result.status is Status.PROVED and isinstance(result.domain, RealSpace):
        # A proof below a published depth lower bound would be a toolkit bug: fail loudly.
        for output, window in zip(net.outputs, net.windows):
            ancestors = nx.ancestors(net.graph, output)
            if any(net.op(n) is Op.MAX for n in ancestors):
                continue  # the bounds speak of ReLU networks; a max node computes max in depth 0
            weights = [w for n in ancestors if net.op(n) is Op.AFFINE for w in [net.bias(n)] + [w for _, w in net.affine_terms(n)]]
            check_depth_consistency(net.relu_level[output], weights, len(window))
    return result
