"""The homogeneous-to-box reduction: equality on all of R^d of bias-free networks, decided on [-1, 1]^d.

A network whose affine nodes have no bias is positively homogeneous (:attr:`Network.is_bias_free`:
ReLU, max and linear maps commute with ``t > 0``), so for two such networks ``f == g`` on R^d iff on any
box containing a neighbourhood of 0: every ``x != 0`` is ``t y`` with ``t = max_i |x_i| > 0`` and ``y`` in
[-1, 1]^d, and ``f(x) - g(x) = t (f(y) - g(y))``; at 0 both are 0.

:class:`HomogeneousToBox` turns an :class:`~verify.reductions.problems.Equivalence` on R^d into the same
problem on [-1, 1]^d; ``invert`` states the domain R^d again, adds the reduction to the reason, and keeps
a counterexample only if the exact evaluator finds ``f != g`` there (a point of the box is a point of R^d).
"""

from __future__ import annotations

import dataclasses

from ..backends.evaluator import evaluate
from ..domain import Box, RealSpace
from ..status import Status
from .base import Reduction
from .problems import Equivalence

__all__ = ["HomogeneousToBox", "homogeneous_box"]


def homogeneous_box(f, g, domain) -> tuple[Box | None, str]:
    """``([-1,1]^d, note)`` when the query is on all of R^d and both networks are bias-free, else
    ``(None, why not)`` (an empty reason when the domain is a box already)."""
    if not isinstance(domain, RealSpace):
        return None, ""
    if not (f.is_bias_free and g.is_bias_free):
        return None, "the networks have non-zero biases (no homogeneous reduction to a box)"
    d = f.n_inputs
    return Box.cube(d, -1, 1), (f"reduction: both networks are bias-free, hence positively homogeneous; "
                                f"equality on R^{d} was decided on [-1,1]^{d}")


class HomogeneousToBox(Reduction):
    """``Equivalence(f, g, R^d)`` with bias-free ``f``, ``g`` -> ``Equivalence(f, g, [-1, 1]^d)``."""

    name = "homogeneous-to-box"

    def accepts(self, problem) -> bool:
        return isinstance(problem, Equivalence) and homogeneous_box(problem.f, problem.g, problem.domain)[0] is not None

    def apply(self, problem: Equivalence):
        box, note = homogeneous_box(problem.f, problem.g, problem.domain)
        return dataclasses.replace(problem, domain=box), (problem, note)

    def invert(self, result, inverse):
        problem, note = inverse
        if result.status is Status.REFUTED:
            x, o = result.counterexample, result.output_index
            v1, v2 = evaluate(problem.f, x)[o], evaluate(problem.g, x)[o]
            if v1 == v2 or not problem.domain.contains(x):  # pragma: no cover - guarded by the solver too
                return dataclasses.replace(result, status=Status.UNKNOWN, domain=problem.domain, counterexample=None,
                                           reason="witness did not reproduce under exact evaluation")
            return dataclasses.replace(result, domain=problem.domain, network_value=v1, reference_value=v2,
                                       reason=note)
        if result.status is Status.PROVED:
            return dataclasses.replace(result, domain=problem.domain, reason=note)
        return dataclasses.replace(result, domain=problem.domain)
