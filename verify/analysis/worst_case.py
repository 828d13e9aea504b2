"""Exact worst-case error of a network against max pooling on a box.

``sup_over = sup_x (N(x) - max(x))`` and ``sup_under = sup_x (max(x) - N(x))`` over a box, per output
window, maximised over outputs. Both are attained (continuous functions on a compact box) and rational.
Each side is one difference supremum (:class:`verify.reductions.auto.Difference`) solved by a chain of
:mod:`verify.reductions.auto`: by default (``"auto"``) region hopping with z3 for a short while on small
networks, then the exact engine (:mod:`verify.engine`); ``"engine"``, ``"z3"`` (region hopping,
:mod:`verify.analysis.region_hopping`) and ``"milp"`` (the exact maximisation of the difference network,
:mod:`verify.reductions.difference`, :mod:`verify.backends.milp`) run one chain.
A timeout returns UNKNOWN with the best values found (attained at their witnesses) and sound upper bounds.
"""

from __future__ import annotations

from ..constructions.reference import reference_network
from ..deadline import Deadline
from ..domain import Box
from ..errors import DomainError, VerifyError
from ..ir.graph import Network
from ..reductions import auto
from ..status import Status
from .results import ErrorResult

__all__ = ["worst_case_error", "both_sides"]


def worst_case_error(net: Network, box: Box, *, timeout: float | None = None, samples: int = 512,
                     seed: int = 0, backend: str = "auto") -> ErrorResult:
    """Exact ``sup (N - max)`` and ``sup (max - N)`` over ``box``, each with an exact witness.

    Parameters
    ----------
    net : Network
        Each output is compared with the max over its window (``net.windows``).
    box : Box
        The domain; errors are suprema over it.
    timeout : float, optional
        Seconds for the whole query; on expiry the result is UNKNOWN with the bounds known so far.
    backend : {"auto", "engine", "z3", "milp"}
        "auto" (default): the steps of :data:`verify.reductions.auto.STEPS` (z3 region hopping for at most
        10 s on networks of at most 16 ReLUs, then the exact engine); "engine": the exact branch and bound
        of :mod:`verify.engine`; "z3": region hopping with z3 proofs (:mod:`verify.analysis.region_hopping`);
        "milp": HiGHS-guided exact branch and bound on the difference network (:mod:`verify.backends.milp`).
        All give the same exact values.

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
                      backend=backend, against_max=True)


def both_sides(f: Network, g: Network, box: Box, *, timeout: float | None = None, samples: int = 512,
               seed: int = 0, backend: str = "auto", against_max: bool = False) -> ErrorResult:
    """Exact ``sup (f - g)`` (``sup_over``) and ``sup (g - f)`` (``sup_under``) over ``box``, with witnesses.

    The shared engine of :func:`worst_case_error` (``g`` the max reference) and
    :func:`verify.analysis.compare.worst_case_difference`: each side is a
    :class:`~verify.reductions.auto.Difference` solved by the ``backend``'s chain ("auto", "engine", "z3"
    or "milp", :mod:`verify.reductions.auto`), both within one deadline. For "auto" both sides are sized
    by the ReLUs of ``f`` (the network under test; the max reference has none). ``against_max``: ``g`` is
    ``f``'s max reference, so the engine's closed trees (when recorded) make a certificate of the result
    (:mod:`verify.engine.certificate`).
    """
    if backend not in auto.BACKENDS or backend == "arrangement":
        raise VerifyError(f"unknown backend {backend!r}: expected auto, engine, z3 or milp")
    deadline = Deadline(timeout)
    sides, used = [], backend
    size = f.n_relus
    problems = (auto.Difference(f, g, box, samples, seed, size), auto.Difference(g, f, box, samples, seed + 1, size))
    for k, problem in enumerate(problems):
        # With a timeout, the first side gets half of it: the second side always has time for its own
        # lower bound (what is left of the first half goes to it).
        budget = deadline.sub(deadline.remaining() / 2) if k == 0 and deadline.seconds is not None else deadline
        if backend == "auto":
            r, step = auto.solve(problem, budget)
            used = step.backend
        else:
            r = auto.solve_with(backend, problem, budget)
        sides.append(r)
    s1, s2 = sides
    status = Status.PROVED if s1.status is Status.PROVED and s2.status is Status.PROVED else Status.UNKNOWN
    reason = "" if status is Status.PROVED else "timeout or solver unknown: values are lower bounds attained at the witnesses"
    return ErrorResult(
        status=status, domain=box, seconds=deadline.elapsed(),
        sup_over=s1.value, sup_under=s2.value, witness_over=s1.witness, witness_under=s2.witness,
        output_over=s1.output, output_under=s2.output,
        upper_over=s1.value if s1.status is Status.PROVED else s1.upper,
        upper_under=s2.value if s2.status is Status.PROVED else s2.upper,
        reason=reason, backend=used, stats={"over": s1.stats, "under": s2.stats},
        proof=_engine_proof(s1, s2) if against_max and status is Status.PROVED else None,
    )


def _engine_proof(over, under):
    """Both sides' closed trees, when the engine decided both and recorded them."""
    from ..engine.certificate import EngineProof, SideTrees

    if isinstance(over.proof, SideTrees) and isinstance(under.proof, SideTrees):
        return EngineProof("error", over.proof, under.proof)
    return None
