"""Incremental Chebyshev-centre LPs (HiGHS through highspy): interior points of polyhedra.

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
HiGHS: Huangfu and Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10 (2018).
"""

from __future__ import annotations

import math
import os
import sys
from typing import Sequence

import numpy as np

from ..errors import MissingExtraError

__all__ = ["ChebyshevLP", "new_highs"]


def _highspy():
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - highspy is a core dependency
        raise MissingExtraError("the LP backend needs highspy: pip install highspy") from exc
    return highspy


_BANNER_SHOWN = False


def new_highs():
    """A quiet ``highspy.Highs``: the first one per process prints a banner on C-level stdout, which
    would corrupt ``--json`` output, so fd 1 is pointed at /dev/null while it is made."""
    global _BANNER_SHOWN
    hs = _highspy()
    if _BANNER_SHOWN:
        h = hs.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = hs.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    return h


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
        hs = _highspy()
        self._hs = hs
        self.dim = dim
        h = new_highs()
        h.setOptionValue("presolve", "off")  # tiny LPs, warm started: presolve only costs time
        inf = hs.kHighsInf
        for i in range(dim):
            h.addVar(-inf if lo is None else float(lo[i]), inf if hi is None else float(hi[i]))
        h.addVar(-inf, float(t_cap))  # t
        h.changeColCost(dim, 1.0)
        h.changeObjectiveSense(hs.ObjSense.kMaximize)
        self._t = dim
        self.base_rows = 0
        if lo is not None:
            for i in range(dim):
                # x_i - t >= lo_i and x_i + t <= hi_i
                h.addRow(float(lo[i]), inf, 2, np.array([i, dim], dtype=np.int32), np.array([1.0, -1.0]))
                h.addRow(-inf, float(hi[i]), 2, np.array([i, dim], dtype=np.int32), np.array([1.0, 1.0]))
                self.base_rows += 2
        self.h = h
        self.n_rows = 0  # pushed rows (above the box rows)
        self.solves = 0

    def push(self, a: np.ndarray, c: float) -> None:
        """Add the half-space ``a . x + c >= t ||a||``."""
        norm = float(np.linalg.norm(a))
        if not math.isfinite(norm) or norm == 0.0:
            norm = 1.0
        idx = np.arange(self.dim + 1, dtype=np.int32)
        vals = np.empty(self.dim + 1)
        vals[: self.dim] = a
        vals[self.dim] = -norm
        self.h.addRow(-float(c), self._hs.kHighsInf, self.dim + 1, idx, vals)
        self.n_rows += 1

    def truncate(self, n: int) -> None:
        """Pop pushed rows until ``n`` remain."""
        k = self.n_rows - n
        if k > 0:
            first = self.base_rows + n
            self.h.deleteRows(k, np.arange(first, first + k, dtype=np.int32))
            self.n_rows = n

    def solve(self) -> tuple[float, np.ndarray | None]:
        """Optimal margin and point; ``(-inf, None)`` when HiGHS reports anything but optimal."""
        self.solves += 1
        self.h.run()
        status = self.h.getModelStatus()
        if status != self._hs.HighsModelStatus.kOptimal:
            # A fresh start clears a basis that went bad after many row deletions.
            self.h.clearSolver()
            self.h.run()
            status = self.h.getModelStatus()
            if status != self._hs.HighsModelStatus.kOptimal:
                return -math.inf, None
        sol = np.array(self.h.getSolution().col_value)
        return float(sol[self._t]), sol[: self.dim]

    def duals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(row duals of the pushed rows, box-row duals, x-column duals, x)`` of the last solve.

        The box-row duals come in pairs ``(lower_i, upper_i)``. They only say which constraints to
        try in an exact infeasibility certificate; the certificate itself is checked in integers.
        """
        sol = self.h.getSolution()
        rd = np.array(sol.row_dual)
        cd = np.array(sol.col_dual)
        return rd[self.base_rows:], rd[: self.base_rows], cd[: self.dim], np.array(sol.col_value)[: self.dim]
