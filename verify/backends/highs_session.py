"""One HiGHS session: the only module that drives HiGHS (through ``highspy``).

HiGHS is a float LP/MILP solver: everything it returns guides a search and is checked exactly by the
caller (safe dual bounds, exact feasibility checks, exact re-evaluation). :class:`HighsModel` wraps one
``highspy.Highs`` instance, quiet (the banner HiGHS prints on C-level stdout would corrupt ``--json``
output), with the operations the toolkit uses: an LP given row-wise in one go (optionally with
integer columns), or built incrementally (columns, rows pushed and deleted, re-solved from the last
basis). Every solve answers one :class:`LPStatus` through a single status map; solutions, duals, dual
rays and bases are plain numpy arrays and strings.

:func:`solve_lp` is a dense one-shot LP in the shape of ``scipy.optimize.linprog`` (minimise, ``A_ub x <=
b_ub``, ``A_eq x = b_eq``, column bounds), for small guidance LPs.

References
----------
Q. Huangfu, J. A. J. Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10 (2018).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from enum import Enum
from typing import Sequence

import numpy as np

from ..errors import MissingExtraError

__all__ = ["LPStatus", "HighsModel", "HighsSolution", "solve_lp", "INF"]

INF = float("inf")


def _highspy():
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - highspy is a core dependency
        raise MissingExtraError("the LP backend needs highspy: pip install highspy") from exc
    return highspy


class LPStatus(str, Enum):
    """What a HiGHS run ended with (the one status map of the toolkit)."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time-limit"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


def _status_map(hs) -> dict:
    s = hs.HighsModelStatus
    table = {s.kOptimal: LPStatus.OPTIMAL, s.kInfeasible: LPStatus.INFEASIBLE, s.kUnbounded: LPStatus.UNBOUNDED,
             s.kTimeLimit: LPStatus.TIME_LIMIT}
    # kUnboundedOrInfeasible says neither for sure: it stays OTHER, which no caller reads as a verdict.
    return table


_BANNER_SHOWN = False


def _quiet_highs(hs):
    """A ``highspy.Highs``: the first one per process prints a banner on C-level stdout, so fd 1 is
    pointed at /dev/null while it is made."""
    global _BANNER_SHOWN
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


@dataclass(frozen=True)
class HighsSolution:
    """A float primal/dual solution (guidance only): column values, row duals, column duals."""

    x: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    valid: bool


class HighsModel:
    """One quiet HiGHS instance.

    Parameters
    ----------
    presolve : bool
        HiGHS's presolve (off for small LPs solved many times: it costs more than it saves).
    simplex : bool
        Force the simplex solver (a basic solution; what warm starts and bases need).
    options : dict, optional
        Any other HiGHS options (name -> value).
    """

    def __init__(self, *, presolve: bool = True, simplex: bool = False, options: dict | None = None):
        self._hs = _highspy()
        self.h = _quiet_highs(self._hs)
        if not presolve:
            self.h.setOptionValue("presolve", "off")
        if simplex:
            self.h.setOptionValue("solver", "simplex")
        for k, v in (options or {}).items():
            self.h.setOptionValue(k, v)
        self.n_cols = 0

    def _inf(self, v: float | None, sign: float) -> float:
        if v is None or v == INF or v == -INF:
            return sign * self._hs.kHighsInf
        return float(v)

    # -- building incrementally -------------------------------------------------------------------
    def add_var(self, lo: float | None, hi: float | None) -> int:
        """A column with bounds ``[lo, hi]`` (``None``: infinite); returns its index."""
        self.h.addVar(self._inf(lo, -1.0), self._inf(hi, 1.0))
        self.n_cols += 1
        return self.n_cols - 1

    def set_cost(self, j: int, c: float) -> None:
        self.h.changeColCost(j, float(c))

    def maximize(self) -> None:
        self.h.changeObjectiveSense(self._hs.ObjSense.kMaximize)

    def add_row(self, lo: float | None, hi: float | None, index: Sequence[int], values: Sequence[float]) -> None:
        """The row ``lo <= sum values[k] x[index[k]] <= hi`` (``None``: infinite)."""
        idx = np.asarray(index, dtype=np.int32)
        self.h.addRow(self._inf(lo, -1.0), self._inf(hi, 1.0), len(idx), idx, np.asarray(values, dtype=np.float64))

    def delete_rows(self, first: int, count: int) -> None:
        if count > 0:
            self.h.deleteRows(count, np.arange(first, first + count, dtype=np.int32))

    def clear_solver(self) -> None:
        """Forget the basis (a fresh start after a basis went bad)."""
        self.h.clearSolver()

    # -- an LP in one go --------------------------------------------------------------------------
    def pass_rowwise(self, cost, col_lo, col_hi, row_lo, row_hi, starts, index, values, *, maximize: bool = True,
                     integer: Sequence[bool] | None = None) -> None:
        """Load ``max/min cost . x`` s.t. ``row_lo <= A x <= row_hi``, ``col_lo <= x <= col_hi`` (A row-wise:
        CSR ``starts``/``index``/``values``; infinite sides as ``+-inf``); ``integer`` marks integer columns."""
        hs = self._hs
        big = hs.kHighsInf

        def arr(v):
            a = np.asarray(v, dtype=np.float64)
            return np.where(np.isposinf(a), big, np.where(np.isneginf(a), -big, a))

        lp = hs.HighsLp()
        n = len(cost)
        lp.num_col_ = n
        lp.num_row_ = len(row_lo)
        lp.col_cost_ = np.asarray(cost, dtype=np.float64)
        lp.col_lower_ = arr(col_lo)
        lp.col_upper_ = arr(col_hi)
        lp.row_lower_ = arr(row_lo)
        lp.row_upper_ = arr(row_hi)
        lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.asarray(values, dtype=np.float64)
        lp.sense_ = hs.ObjSense.kMaximize if maximize else hs.ObjSense.kMinimize
        if integer is not None:
            lp.integrality_ = [hs.HighsVarType.kInteger if t else hs.HighsVarType.kContinuous for t in integer]
        self.h.passModel(lp)
        self.n_cols = n

    # -- solving ----------------------------------------------------------------------------------
    def run(self, time_limit: float | None = None) -> LPStatus:
        """Solve; ``time_limit`` in seconds (at least 0.01). Returns the mapped status."""
        if time_limit is not None:
            self.h.setOptionValue("time_limit", max(0.01, float(time_limit)))
        self.h.run()
        return self.status()

    def status(self) -> LPStatus:
        return _status_map(self._hs).get(self.h.getModelStatus(), LPStatus.OTHER)

    def status_text(self) -> str:
        return self.h.modelStatusToString(self.h.getModelStatus())

    def solution(self) -> HighsSolution:
        sol = self.h.getSolution()
        return HighsSolution(np.asarray(sol.col_value), np.asarray(sol.row_dual), np.asarray(sol.col_dual),
                          bool(sol.value_valid))

    def objective_value(self) -> float:
        return float(self.h.getInfo().objective_function_value)

    def dual_ray(self) -> np.ndarray | None:
        """A dual ray of an infeasible LP (a Farkas certificate to check exactly), or None."""
        _, has, ray = self.h.getDualRay()
        return np.asarray(ray) if has else None

    def basis(self) -> tuple[list[str], list[str]]:
        """Row and column statuses of the final basis: "lower", "upper", "basic", "zero" or "other"."""
        hs = self._hs
        names = {hs.HighsBasisStatus.kLower: "lower", hs.HighsBasisStatus.kUpper: "upper",
                 hs.HighsBasisStatus.kBasic: "basic", hs.HighsBasisStatus.kZero: "zero"}
        b = self.h.getBasis()
        return ([names.get(s, "other") for s in b.row_status], [names.get(s, "other") for s in b.col_status])


def solve_lp(cost, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=None) -> tuple[LPStatus, np.ndarray | None]:
    """``min cost . x`` s.t. ``A_ub x <= b_ub``, ``A_eq x = b_eq``, ``bounds[j] = (lo, hi)`` (None: infinite).

    Dense numpy input, one HiGHS run; returns ``(status, x)`` with ``x`` None unless optimal. Guidance only.
    """
    cost = np.asarray(cost, dtype=np.float64)
    n = len(cost)
    rows_lo, rows_hi, starts, index, values = [], [], [0], [], []
    for A, b, eq in ((A_ub, b_ub, False), (A_eq, b_eq, True)):
        if A is None:
            continue
        A = np.asarray(A, dtype=np.float64)
        for r in range(A.shape[0]):
            nz = np.nonzero(A[r])[0]
            index.extend(int(j) for j in nz)
            values.extend(float(A[r, j]) for j in nz)
            starts.append(len(index))
            rows_hi.append(float(b[r]))
            rows_lo.append(float(b[r]) if eq else -INF)
    lo = [(-INF if b is None or b[0] is None else float(b[0])) for b in (bounds or [(0, None)] * n)]
    hi = [(INF if b is None or b[1] is None else float(b[1])) for b in (bounds or [(0, None)] * n)]
    m = HighsModel()
    m.pass_rowwise(cost, lo, hi, rows_lo, rows_hi, starts, index, values, maximize=False)
    status = m.run()
    return status, (m.solution().x if status is LPStatus.OPTIMAL else None)
