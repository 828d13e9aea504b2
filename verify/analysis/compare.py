"""Exact worst-case difference of two networks on a box (e.g. a model with max pooling and the
same model with the pooling replaced by a ReLU emulation).

``sup_over = sup_x max_o (f_o(x) - g_o(x))`` and ``sup_under = sup_x max_o (g_o(x) - f_o(x))``, each
attained at an exact witness, computed by :func:`verify.analysis.worst_case.both_sides` (by default
the chain of :mod:`verify.reductions.auto`, ending in the exact engine; every value confirmed by the
exact evaluator).
"""

from __future__ import annotations

from ..domain import Box
from ..errors import DomainError, VerifyError
from ..ir.graph import Network
from .results import ErrorResult
from .worst_case import both_sides

__all__ = ["worst_case_difference"]


def worst_case_difference(f: Network, g: Network, box: Box, *, timeout: float | None = None,
                          samples: int = 512, seed: int = 0, backend: str = "auto",
                          decompose: bool | None = None) -> ErrorResult:
    """Exact ``sup (f - g)`` (``sup_over``) and ``sup (g - f)`` (``sup_under``) over ``box``.

    The result has the fields of :class:`ErrorResult`, with ``g`` in the place of the max reference.
    ``backend`` is "auto" (default: the rule of :data:`verify.reductions.auto.STEPS`, the exact engine
    after a short z3 attempt on small networks), "engine", "z3" (region hopping) or "milp"
    (maximisation of the difference network). ``decompose=True`` solves each output on the sub-network
    of the inputs it reads, identical ones once (:func:`verify.analysis.decompose.decomposed_difference`,
    whose per-output answers it drops; call that function for them); the default ``None`` decomposes
    when some output reads fewer than all inputs (pooling windows, grouped layers). Both give the same
    exact values.

    Examples
    --------
    >>> from verify.constructions import max_tree, mean_network
    >>> r = worst_case_difference(max_tree(4, "A"), mean_network(4), Box.cube(4))
    >>> r.sup_over, r.sup_under
    (Fraction(3, 4), Fraction(0, 1))
    """
    if not isinstance(box, Box):
        raise DomainError("a worst-case difference needs a box")
    if f.n_inputs != g.n_inputs or f.n_outputs != g.n_outputs:
        raise VerifyError(
            f"networks have different shapes: {f.n_inputs}->{f.n_outputs} and {g.n_inputs}->{g.n_outputs}"
        )
    if box.dim != f.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the networks have {f.n_inputs} inputs")
    if decompose is None:
        from .decompose import has_smaller_supports

        decompose = has_smaller_supports(f, g)
    if decompose:
        from .decompose import decomposed_difference

        return decomposed_difference(f, g, box, backend=backend, timeout=timeout, samples=samples, seed=seed).overall
    return both_sides(f, g, box, timeout=timeout, samples=samples, seed=seed, backend=backend)
