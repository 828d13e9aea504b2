"""Reductions and chains of reductions (the shape of cvxpy's ``reductions/reduction.py`` and ``chain.py``).

A :class:`Reduction` rewrites a problem into an easier one and keeps what is needed to map the answer
back: ``apply(problem) -> (new problem, inverse data)`` and ``invert(solution, inverse data) -> solution``.
Every ``invert`` re-evaluates the witnesses of the answer exactly on the ORIGINAL networks (the exact
evaluator is the judge; a reduction is trusted only as far as its witnesses reproduce), and an answer
that does not reproduce is never turned into a verdict.

A :class:`Chain` is reductions followed by a solver (a callable ``solver(problem, deadline) ->
solution``): ``solve`` applies the reductions in order, solves the last problem, and inverts the answer
through the reductions in reverse order. The solver at the end is pluggable; the chains of the
toolkit, and the rules that pick them for ``backend="auto"``, are in :mod:`verify.reductions.auto`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..deadline import Deadline
from ..errors import ToolkitBugError

__all__ = ["Reduction", "Chain", "NotApplicable"]


class NotApplicable(Exception):
    """Raised by :meth:`Reduction.apply` when the premise of the reduction could not be established
    (e.g. an invariance that was not shown); ``reason`` says which. Not a verdict on the problem."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Reduction:
    """One rewrite of a problem with its inverse map on solutions (subclasses override the three methods)."""

    name = "reduction"

    def accepts(self, problem) -> bool:
        """Whether ``problem`` has the shape :meth:`apply` rewrites (cheap; ``apply`` may still raise
        :class:`NotApplicable` when a premise it has to prove fails)."""
        return True

    def apply(self, problem) -> tuple[Any, Any]:
        """``(new problem, inverse data)``."""
        raise NotImplementedError

    def invert(self, solution, inverse):
        """The solution of the original problem, from the new problem's ``solution`` and ``inverse``."""
        raise NotImplementedError

    def apply_within(self, problem, deadline: Deadline) -> tuple[Any, Any]:
        """:meth:`apply` within the chain's ``deadline`` (a rewrite that can run long checks it: override
        this; the default checks once before applying)."""
        deadline.check(f"applying the reduction {self.name}")
        return self.apply(problem)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Chain:
    """Reductions then a solver; ``solve`` applies, solves and inverts.

    Parameters
    ----------
    reductions : sequence of Reduction
    solver : callable
        ``solver(problem, deadline) -> solution`` for the last problem of the chain.
    name : str
        Shown in results (e.g. the ``backend`` of an exactness result).
    """

    def __init__(self, reductions: Sequence[Reduction], solver: Callable, name: str = ""):
        self.reductions = tuple(reductions)
        self.solver = solver
        self.name = name or "+".join([r.name for r in self.reductions] + [getattr(solver, "__name__", "solver")])

    def accepts(self, problem) -> bool:
        """Whether the first reduction accepts ``problem`` (the shape check of a chain)."""
        return not self.reductions or self.reductions[0].accepts(problem)

    def solve(self, problem, deadline: Deadline | None = None):
        deadline = deadline if deadline is not None else Deadline(None)
        inverse = []
        for r in self.reductions:
            if not r.accepts(problem):
                raise ToolkitBugError(f"{r!r} does not accept {type(problem).__name__} in chain {self.name!r}")
            problem, data = r.apply_within(problem, deadline)
            inverse.append((r, data))
        solution = self.solver(problem, deadline)
        for r, data in reversed(inverse):
            solution = r.invert(solution, data)
        return solution

    def __repr__(self) -> str:
        return f"<Chain {self.name}>"
