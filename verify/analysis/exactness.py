"""Exactness queries: is N equal to max (or to another network) on a box or on all of R^d?

Every query is an :class:`~verify.reductions.problems.Equivalence` solved by one chain of
:mod:`verify.reductions.auto`: ``backend="auto"`` (the default) runs the steps of
:data:`verify.reductions.auto.STEPS` (the arrangement and symmetry routes on R^d, z3 with a short budget,
then the exact engine :mod:`verify.engine`); ``"engine"`` runs the engine alone; ``"z3"`` asks z3 one query per output
(:mod:`verify.analysis.equivalence`); ``"milp"`` maximises the difference network of every output and
side (:mod:`verify.reductions.difference`; on R^d through the homogeneous reduction to [-1, 1]^d for
bias-free networks, otherwise z3 decides and says so in ``reason``; the engine does the same).

Verdicts: ``unsat`` on every output (or every maximum <= 0) is PROVED; a counterexample is REFUTED only
after the exact evaluator re-runs both networks on it and finds them different; ``unknown`` or a timeout
is UNKNOWN.
"""

from __future__ import annotations

from ..bounds.depth import check_proved_exactness
from ..constructions.reference import reference_network
from ..deadline import Deadline
from ..domain import Box, RealSpace
from ..errors import VerifyError
from ..ir.graph import Network
from ..reductions import auto
from ..reductions.base import Chain, NotApplicable
from ..reductions.problems import Equivalence
from ..reductions.symmetry import NOT_SHOWN, SymmetryToConeFaces, solve_cone_faces
from ..status import Status
from .results import ExactnessResult

__all__ = ["check_exact", "check_equivalent", "check_exact_by_symmetry"]


def _check_domain(net: Network, domain) -> Box | RealSpace:
    if domain is None:
        return RealSpace(net.n_inputs)
    if domain.dim != net.n_inputs:
        raise VerifyError(f"domain has dimension {domain.dim}, the network has {net.n_inputs} inputs")
    return domain


def _check_backend(backend: str) -> None:
    if backend not in auto.BACKENDS:
        raise VerifyError(f"unknown backend {backend!r}: expected one of {', '.join(auto.BACKENDS)}")


def _solve(problem: Equivalence, timeout: float | None, backend: str) -> ExactnessResult:
    deadline = Deadline(timeout)
    if backend == "auto":
        return auto.solve(problem, deadline)[0]
    return auto.solve_with(backend, problem, deadline)


def check_equivalent(net1: Network, net2: Network, domain: Box | RealSpace | None = None, *,
                     timeout: float | None = None, query: str = "equivalent", backend: str = "auto") -> ExactnessResult:
    """Decide ``net1(x) == net2(x)`` for every ``x`` in ``domain`` (default: all of R^d), exactly.

    ``backend``: "auto" (default: z3 with a short budget, at most 10 s, then the exact engine with the
    rest of the time; the rules are :data:`verify.reductions.auto.STEPS`), "engine" (:mod:`verify.engine`),
    "z3" (one SMT query per output) or "milp" (exact branch and bound guided by HiGHS,
    :mod:`verify.backends.milp`). On all of R^d the engine and milp need bias-free networks, which they
    reduce to [-1, 1]^d; otherwise z3 decides and ``reason`` says so.
    """
    if net1.n_inputs != net2.n_inputs or net1.n_outputs != net2.n_outputs:
        raise VerifyError(
            f"networks have different shapes: {net1.n_inputs}->{net1.n_outputs} and {net2.n_inputs}->{net2.n_outputs}"
        )
    _check_backend(backend)
    if backend == "arrangement":
        raise VerifyError("the arrangement backend decides N == max on all of R^d only (check_exact, verify exact)")
    domain = _check_domain(net1, domain)
    return _solve(Equivalence(net1, net2, domain, query), timeout, backend)


def check_exact(net: Network, domain: Box | RealSpace | None = None, *, timeout: float | None = None,
                backend: str = "auto") -> ExactnessResult:
    """Decide ``N(x) == max_{i in window} x_i`` for every output and every ``x`` in ``domain``.

    ``domain`` defaults to all of R^d. See :func:`check_equivalent` for the verdict rules. With
    ``backend="auto"`` on R^d and one output that is the max of all inputs, the symmetry reduction
    (:func:`check_exact_by_symmetry`) is tried first. A PROVED result on R^d is checked against the
    depth lower bounds of the catalogue (:func:`verify.bounds.depth.check_proved_exactness`): a proof
    below one is a toolkit bug.

    >>> from verify.constructions import max_tree
    >>> check_exact(max_tree(5, gadget="B")).status
    <Status.PROVED: 'PROVED'>
    """
    _check_backend(backend)
    domain = _check_domain(net, domain)
    if backend == "arrangement" and isinstance(domain, Box):
        raise VerifyError("the arrangement backend decides exactness on all of R^d only (no --box)")
    result = _solve(Equivalence(net, reference_network(net), domain, "exact"), timeout, backend)
    check_proved_exactness(net, result)
    return result


def check_exact_by_symmetry(net: Network, *, timeout: float | None = None, workers: int | None = None) -> ExactnessResult:
    """Decide ``N == max`` on R^d by proved symmetry plus z3 on the sorted cone (the chain
    :class:`~verify.reductions.symmetry.SymmetryToConeFaces` -> :func:`verify.analysis.symmetry.decide_cone`).

    The cone's queries run on ``workers`` processes (default: one per core, at most one per query; 1
    runs them in this process). UNKNOWN (with the reason) if the invariance is not shown or z3 gives up;
    a counterexample counts only after exact evaluation.
    """
    d = net.n_inputs
    if net.n_outputs != 1 or net.windows != (tuple(range(d)),):
        raise VerifyError("the symmetry reduction needs one output that is the max of all inputs")
    deadline = Deadline(timeout)
    problem = Equivalence(net, reference_network(net), RealSpace(d), "exact")
    chain = Chain([SymmetryToConeFaces(workers)], solve_cone_faces, name="z3+symmetry")
    try:
        return chain.solve(problem, deadline)
    except NotApplicable:
        return ExactnessResult(Status.UNKNOWN, RealSpace(d), deadline.elapsed(), backend="z3+symmetry", reason=NOT_SHOWN)
