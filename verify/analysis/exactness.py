"""Exactness queries: is N equal to max (or to another network) on a box or on all of R^d?

Each output is decided by one z3 query in linear real arithmetic: ``exists x in D: N_o(x) != R_o(x)``.
``unsat`` on every output is PROVED; a model is a counterexample, REFUTED only after the exact evaluator
re-runs both networks on it and finds them different; ``unknown`` or a timeout is UNKNOWN.
"""

from __future__ import annotations

import time

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

__all__ = ["check_exact", "check_equivalent"]


def _check_domain(net: Network, domain) -> Box | RealSpace:
    if domain is None:
        return RealSpace(net.n_inputs)
    if domain.dim != net.n_inputs:
        raise VerifyError(f"domain has dimension {domain.dim}, the network has {net.n_inputs} inputs")
    return domain


def check_equivalent(net1: Network, net2: Network, domain: Box | RealSpace | None = None, *,
                     timeout: float | None = None, query: str = "equivalent") -> ExactnessResult:
    """Decide ``net1(x) == net2(x)`` for every ``x`` in ``domain`` (default: all of R^d), exactly."""
    if net1.n_inputs != net2.n_inputs or net1.n_outputs != net2.n_outputs:
        raise VerifyError(
            f"networks have different shapes: {net1.n_inputs}->{net1.n_outputs} and {net2.n_inputs}->{net2.n_outputs}"
        )
    domain = _check_domain(net1, domain)
    deadline = Deadline(timeout)
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
    return ExactnessResult(Status.PROVED, domain, deadline.elapsed(), query=query)


def _so_far(o: int) -> str:
    """What a stopped query still established: the outputs before ``o`` were proved equal."""
    if o == 0:
        return "; no output proved yet"
    return f"; outputs 0..{o - 1} proved equal" if o > 1 else "; output 0 proved equal"


def check_exact(net: Network, domain: Box | RealSpace | None = None, *, timeout: float | None = None) -> ExactnessResult:
    """Decide ``N(x) == max_{i in window} x_i`` for every output and every ``x`` in ``domain``.

    ``domain`` defaults to all of R^d. See :func:`check_equivalent` for the verdict rules.

    >>> from verify.constructions import max_tree
    >>> check_exact(max_tree(5, gadget="B")).status
    <Status.PROVED: 'PROVED'>
    """
    result = check_equivalent(net, reference_network(net), domain, timeout=timeout, query="exact")
    if result.status is Status.PROVED and isinstance(result.domain, RealSpace):
        # A proof below a published depth lower bound would be a toolkit bug: fail loudly.
        for output, window in zip(net.outputs, net.windows):
            ancestors = nx.ancestors(net.graph, output)
            if any(net.op(n) is Op.MAX for n in ancestors):
                continue  # the bounds speak of ReLU networks; a max node computes max in depth 0
            weights = [w for n in ancestors if net.op(n) is Op.AFFINE for w in [net.bias(n)] + [w for _, w in net.affine_terms(n)]]
            check_depth_consistency(net.relu_level[output], weights, len(window))
    return result
