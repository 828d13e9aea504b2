"""``f == g`` on a domain by z3: one query per output in linear real arithmetic (the z3 route).

For each output ``o`` one z3 query ``exists x in D: f_o(x) != g_o(x)``. ``unsat`` on every output is
PROVED; a model is a counterexample, REFUTED only after the exact evaluator re-runs both networks on it
and finds them different; ``unknown`` or a timeout is UNKNOWN (with the outputs proved before it stopped).
ReLUs proved stable by exact interval bounds on a box are fixed first.
"""

from __future__ import annotations

from ..backends.evaluator import evaluate
from ..backends.intervals import interval_bounds, relu_phases
from ..backends.z3_backend import Z3Lowering, domain_constraints
from ..backends.z3_session import Z3Session
from ..deadline import Deadline
from ..domain import Box
from ..errors import DeadlineExpired
from ..reductions.problems import Equivalence
from ..status import Status
from .results import ExactnessResult

__all__ = ["z3_equivalence"]


def _so_far(o: int) -> str:
    """What a stopped query still established: the outputs before ``o`` were proved equal."""
    if o == 0:
        return "; no output proved yet"
    return f"; outputs 0..{o - 1} proved equal" if o > 1 else "; output 0 proved equal"


def z3_equivalence(problem: Equivalence, deadline: Deadline, reason: str = "") -> ExactnessResult:
    """Decide ``problem.f == problem.g`` on ``problem.domain`` with one z3 query per output.

    ``reason`` is reported with a PROVED result (e.g. why z3 was used instead of another backend).
    """
    try:
        return _decide(problem, deadline, reason)
    except DeadlineExpired as exc:  # while building the query (checks in the walks) or between outputs
        return ExactnessResult(Status.UNKNOWN, problem.domain, deadline.elapsed(),
                               reason=f"timeout: {exc}; no output proved yet", query=problem.query)


def _decide(problem: Equivalence, deadline: Deadline, reason: str) -> ExactnessResult:
    net1, net2, domain, query = problem.f, problem.g, problem.domain, problem.query
    session = Z3Session(deadline)
    xs = session.reals(net1.n_inputs)
    low = []
    for k, net in enumerate((net1, net2)):
        phases = None
        if isinstance(domain, Box):
            phases = relu_phases(net, interval_bounds(net, domain, deadline))
        low.append(Z3Lowering(net, xs, prefix=f"n{k}", phases=phases, deadline=deadline))
    base = domain_constraints(xs, domain, deadline) + low[0].side + low[1].side
    for o in range(net1.n_outputs):
        if deadline.expired():
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                   reason=f"timeout before output {o} was decided{_so_far(o)}", query=query,
                                   proved_outputs=tuple(range(o)))
        solver = session.solver()
        try:
            solver.add(*base)
        except DeadlineExpired:
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                   reason=f"timeout before output {o} was decided{_so_far(o)}", query=query,
                                   proved_outputs=tuple(range(o)))
        solver.add(low[0].outputs[o] != low[1].outputs[o])
        answer = solver.check()
        if answer.unsat:
            continue
        if answer.unknown:
            why = "timeout" if answer.timed_out else answer.reason
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                   reason=f"solver returned unknown on output {o} ({why}){_so_far(o)}", query=query,
                                   proved_outputs=tuple(range(o)))
        point = answer.point
        v1, v2 = evaluate(net1, point)[o], evaluate(net2, point)[o]
        if v1 == v2 or not domain.contains(point):
            # The solver's model did not reproduce under exact evaluation: no verdict.
            return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), output_index=o,
                                   reason=f"solver model did not reproduce under exact evaluation{_so_far(o)}",
                                   query=query, proved_outputs=tuple(range(o)))
        return ExactnessResult(Status.REFUTED, domain, deadline.elapsed(), counterexample=point,
                               output_index=o, network_value=v1, reference_value=v2, query=query)
    return ExactnessResult(Status.PROVED, domain, deadline.elapsed(), query=query, reason=reason)
