"""The symmetry-to-cone-faces reduction: ``N == max`` on R^d for a permutation-invariant ``N``.

If ``N(Px) = N(x)`` for every permutation ``P`` of the inputs (proved exactly by
:func:`verify.analysis.symmetry.symmetric_group_invariant`: canonical forms, or the support-function
decomposition of max-of-5-shaped networks), then ``N == max`` on R^d iff ``N == x_1`` on the sorted cone
``x_1 >= ... >= x_d``; for a bias-free ``N`` (positively homogeneous) iff on the cone's two faces
``x_1 = 1`` and ``x_d = -1`` of [-1, 1]^d (:func:`verify.analysis.symmetry.cone_pieces`).

:class:`SymmetryToConeFaces` turns an exactness problem on R^d (one output, the max of all inputs) into a
:class:`ConeFaces` problem, solved by :func:`verify.analysis.symmetry.decide_cone` (z3 queries in
parallel); ``apply`` raises :class:`~verify.reductions.base.NotApplicable` when the invariance is not
shown ("not shown" is never read as "not invariant"). ``invert`` re-evaluates a counterexample on the
original network against max exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..analysis.symmetry import decide_cone, symmetric_group_invariant
from ..backends.evaluator import evaluate
from ..deadline import Deadline
from ..domain import RealSpace
from ..ir.graph import Network
from ..status import Status
from .base import NotApplicable, Reduction
from .problems import Equivalence

__all__ = ["ConeFaces", "SymmetryToConeFaces", "solve_cone_faces", "is_max_of_all_on_rd"]

NOT_SHOWN = "invariance under permuting the inputs was not shown; no reduction"


@dataclass(frozen=True)
class ConeFaces:
    """Decide ``net == x_1`` on the sorted cone (or its two faces): ``net`` is proved invariant."""

    net: Network
    workers: int | None = None


def is_max_of_all_on_rd(problem) -> bool:
    """An exactness problem on all of R^d for one output that is the max of all inputs."""
    return (isinstance(problem, Equivalence) and problem.query == "exact" and isinstance(problem.domain, RealSpace)
            and problem.f.n_outputs == 1 and problem.f.windows == (tuple(range(problem.f.n_inputs)),))


def solve_cone_faces(problem: ConeFaces, deadline: Deadline):
    return decide_cone(problem.net, deadline, workers=problem.workers)


class SymmetryToConeFaces(Reduction):
    """``Equivalence(N, max, R^d)`` with ``N`` proved invariant -> ``ConeFaces(N)``."""

    name = "symmetry-to-cone-faces"

    def __init__(self, workers: int | None = None):
        self.workers = workers

    def accepts(self, problem) -> bool:
        return is_max_of_all_on_rd(problem)

    def apply(self, problem: Equivalence):
        if not symmetric_group_invariant(problem.f):
            raise NotApplicable(NOT_SHOWN)
        return ConeFaces(problem.f, self.workers), problem

    def invert(self, result, problem: Equivalence):
        if result.status is Status.REFUTED:
            x = result.counterexample
            value, top = evaluate(problem.f, x)[0], max(x)
            if value == top:  # pragma: no cover - decide_cone checked it already
                return dataclasses.replace(result, status=Status.UNKNOWN, counterexample=None,
                                           reason="solver model did not reproduce under exact evaluation")
            return dataclasses.replace(result, network_value=value, reference_value=top, query=problem.query)
        return dataclasses.replace(result, query=problem.query)
