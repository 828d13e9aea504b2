"""Incremental Chebyshev-centre LPs (HiGHS): interior points of polyhedra.

The region enumerator keeps one LP whose rows follow its depth-first search: a row is pushed when the
search adds a constraint ``a . x + c > 0`` and popped when it backtracks, so HiGHS re-solves from the
previous basis. The LP maximises the normalised margin ``t``::

    maximise t  subject to  a_k . x + c_k >= t * ||a_k||   for every pushed row k,
                            lo_i + t <= x_i <= hi_i - t     (box domains only),
                            t <= t_cap.

The strict system ``a_k . x + c_k > 0`` (and ``lo < x < hi``) has a solution iff the optimum is
positive. This backend is float: its answers guide the search only, and every point it returns is
re-checked in rational arithmetic by the caller (``verify.analysis.regions``).

References
----------
HiGHS, driven through :mod:`verify.backends.highs_session`: Huangfu and Hall, "Parallelizing the dual
revised simplex method", Math. Prog. Comp. 10 (2018).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .highs_session import HighsModel, LPStatus

__all__ = ["ChebyshevLP"]


class ChebyshevLP:
    """A stack of half-spaces with a warm-started max-margin LP.

    Parameters
    ----------
    dim : int
        Number of variables ``x``.
    lo, hi : sequence of float or None
        Box ends (``None`` for all of R^d).
    t_cap : float
        Upper bound of the margin (keeps the LP bounded on unbounded domains).
    """

    def __init__(self, dim: int, lo: Sequence[float] | None, hi: Sequence[float] | None, t_cap: float = 1.0):
        self.dim = dim
        h = HighsModel(presolve=False)  # tiny LPs, warm started: presolve only costs time
        for i in range(dim):
            h.add_var(None if lo is None else float(lo[i]), None if hi is None else float(hi[i]))
        h.add_var(None, float(t_cap))  # t
        h.set_cost(dim, 1.0)
        h.maximize()
        self._t = dim
        self.base_rows = 0
        if lo is not None:
            for i in range(dim):
                # x_i - t >= lo_i and x_i + t <= hi_i
                h.add_row(float(lo[i]), None, [i, dim], [1.0, -1.0])
                h.add_row(None, float(hi[i]), [i, dim], [1.0, 1.0])
                self.base_rows += 2
        self.h = h
        self.n_rows = 0  # pushed rows (above the box rows)
        self.solves = 0

    def push(self, a: np.ndarray, c: float) -> None:
        """Add the half-space ``a . x + c >= t ||a||``."""
        norm = float(np.linalg.norm(a))
        if not math.isfinite(norm) or norm == 0.0:
            norm = 1.0
        vals = np.empty(self.dim + 1)
        vals[: self.dim] = a
        vals[self.dim] = -norm
        self.h.add_row(-float(c), None, np.arange(self.dim + 1), vals)
        self.n_rows += 1

    def truncate(self, n: int) -> None:
        """Pop pushed rows until ``n`` remain."""
        k = self.n_rows - n
        if k > 0:
            self.h.delete_rows(self.base_rows + n, k)
            self.n_rows = n

    def solve(self) -> tuple[float, np.ndarray | None]:
        """Optimal margin and point; ``(-inf, None)`` when HiGHS reports anything but optimal."""
        self.solves += 1
        if self.h.run() is not LPStatus.OPTIMAL:
            # A fresh start clears a basis that went bad after many row deletions.
            self.h.clear_solver()
            if self.h.run() is not LPStatus.OPTIMAL:
                return -math.inf, None
        sol = self.h.solution().x
        return float(sol[self._t]), sol[: self.dim]

    def duals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(row duals of the pushed rows, box-row duals, x-column duals, x)`` of the last solve.

        The box-row duals come in pairs ``(lower_i, upper_i)``. They only say which constraints to
        try in an exact infeasibility certificate; the certificate itself is checked in integers.
        """
        sol = self.h.solution()
        rd, cd = sol.row_dual, sol.col_dual
        return rd[self.base_rows:], rd[: self.base_rows], cd[: self.dim], sol.x[: self.dim]
