"""Exact linear programming: a float solve by HiGHS for guidance, the answer decided in rationals.

:func:`solve_exact_lp` maximises (or minimises) ``c . x`` subject to ``A x <= b``, ``A_eq x = b_eq`` and
``lo <= x <= hi`` with rational data, and returns the exact optimum with an exact certificate:

1. HiGHS solves the LP in floating point and reports an optimal *basis* (which constraints are tight).
2. The vertex of that basis is computed exactly: the ``n`` tight constraints ``g_k . x = h_k`` form a
   square system, solved in rationals (python-flint ``fmpq_mat``). Every constraint is then checked
   exactly at that vertex (primal feasibility).
3. The multipliers ``lambda`` with ``sum_k lambda_k g_k = c`` are computed exactly from the transposed
   system. ``lambda_k >= 0`` for every tight inequality (equalities may have any sign) is the KKT
   condition: for every feasible ``y``, ``c . y = sum_k lambda_k g_k . y <= sum_k lambda_k h_k = c . x``.
   So ``x`` is optimal, and the certificate ``(tight set, lambda)`` can be re-checked by anyone
   (:func:`check_certificate`).
4. If a multiplier is negative (a degenerate or slightly wrong float basis), exact active-set pivots with
   Bland's smallest-index rule move from vertex to vertex (the simplex method on the dual description,
   Bland, "New finite pivoting rules for the simplex method", Math. Oper. Res. 2 (1977)) until the
   certificate holds. If no exact start vertex is available (HiGHS reported infeasible, unbounded, or
   gave a basis whose vertex is not feasible in exact arithmetic), z3's exact simplex (linear real
   arithmetic, ``Optimize``) decides.

Floats never decide: an optimum is reported only with a certificate that holds in exact arithmetic; an
infeasibility or unboundedness only as z3 proves it in exact arithmetic. Meant for the small dense LPs
of this toolkit (a region's LP in the input space: tens of variables, hundreds of constraints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from typing import Sequence

__all__ = ["LPStatus", "ExactLPResult", "solve_exact_lp", "check_certificate"]


class LPStatus(str, Enum):
    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    UNKNOWN = "unknown"  # deadline or solver unknown: no claim is made

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ExactLPResult:
    """Outcome of :func:`solve_exact_lp`.

    ``value`` and ``x`` are exact (``x`` attains ``value``). For OPTIMAL obtained from a basis,
    ``certificate`` is ``(tight, multipliers)``: indices into the constraint list of
    :func:`constraint_list` and their exact multipliers for MAXIMISING ``c`` (``-c`` when minimising),
    checkable by :func:`check_certificate`;
    ``method`` says how the answer was reached ("basis", "pivots" or "z3").
    """

    status: LPStatus
    value: Fraction | None = None
    x: tuple[Fraction, ...] | None = None
    certificate: tuple | None = None
    method: str = ""
    reason: str = ""
    stats: dict = field(default_factory=dict)


def _frac_rows(rows) -> list[list[Fraction]]:
    # rows that already hold Fractions (the engine's region rows) are not converted again
    return [[v if type(v) is Fraction else Fraction(v) for v in row] for row in rows]


def constraint_list(n: int, A=(), b=(), A_eq=(), b_eq=(), lo=None, hi=None):
    """All constraints as ``(g, h, is_equality)`` meaning ``g . x <= h`` (or ``== h``), in a fixed order:
    the rows of ``A``, the rows of ``A_eq``, then ``x_j >= lo_j`` as ``-x_j <= -lo_j``, then ``x_j <= hi_j``."""
    cons = []
    for row, rhs in zip(_frac_rows(A), b):
        cons.append((row, Fraction(rhs), False))
    for row, rhs in zip(_frac_rows(A_eq), b_eq):
        cons.append((row, Fraction(rhs), True))
    for j in range(n):
        if lo is not None and lo[j] is not None:
            g = [Fraction(0)] * n
            g[j] = Fraction(-1)
            cons.append((g, -Fraction(lo[j]), False))
    for j in range(n):
        if hi is not None and hi[j] is not None:
            g = [Fraction(0)] * n
            g[j] = Fraction(1)
            cons.append((g, Fraction(hi[j]), False))
    return cons


def _dot(g, x) -> Fraction:
    return sum((a * v for a, v in zip(g, x) if a), Fraction(0))


def check_certificate(c: Sequence, cons, x: Sequence[Fraction], certificate) -> bool:
    """Exact check that ``x`` maximises ``c . x`` over ``cons`` (from :func:`constraint_list`).

    Checks: ``x`` satisfies every constraint; the multipliers are non-negative on inequalities; they
    combine the tight constraints' rows into ``c``; the tight constraints are tight at ``x``. Then by weak
    duality no feasible point has a larger objective.
    """
    c = [Fraction(v) for v in c]
    tight, lam = certificate
    for g, h, eq in cons:
        v = _dot(g, x)
        if (v != h) if eq else (v > h):
            return False
    combo = [Fraction(0)] * len(c)
    for k, m in zip(tight, lam):
        g, h, eq = cons[k]
        if not eq and m < 0:
            return False
        if m != 0 and _dot(g, x) != h:
            return False
        for j, a in enumerate(g):
            if a:
                combo[j] += m * a
    return combo == c


# -- exact linear algebra -----------------------------------------------------------------------------
def _solve_square(rows: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """Exact solution of a square system, ``None`` if singular (python-flint when available)."""
    n = len(rows)
    try:
        import flint
    except ImportError:  # pragma: no cover - python-flint is a core dependency
        return _solve_square_fractions(rows, rhs)
    M = flint.fmpq_mat(n, n, [flint.fmpq(v.numerator, v.denominator) for row in rows for v in row])
    B = flint.fmpq_mat(n, 1, [flint.fmpq(v.numerator, v.denominator) for v in rhs])
    try:
        X = M.solve(B)
    except ZeroDivisionError:
        return None
    return [Fraction(int(q.p), int(q.q)) for q in X.entries()]


def _solve_square_fractions(rows, rhs):  # pragma: no cover - used only without python-flint
    n = len(rows)
    M = [list(r) + [v] for r, v in zip(rows, rhs)]
    for col in range(n):
        piv = next((r for r in range(col, n) if M[r][col] != 0), None)
        if piv is None:
            return None
        M[col], M[piv] = M[piv], M[col]
        p = M[col][col]
        M[col] = [v / p for v in M[col]]
        for r in range(n):
            if r != col and M[r][col] != 0:
                f = M[r][col]
                M[r] = [a - f * b for a, b in zip(M[r], M[col])]
    return [M[r][n] for r in range(n)]


# -- the float guide ----------------------------------------------------------------------------------
def _highs_basis(n, c, A, b, A_eq, b_eq, lo, hi, maximize, time_limit):
    """HiGHS's optimal basis as a list of tight constraint indices of :func:`constraint_list` order,
    or ``(status string, None)``."""
    from .highs_session import INF, HighsModel

    h = HighsModel(simplex=True)
    rows = [(r, None, bb) for r, bb in zip(A, b)] + [(r, bb, bb) for r, bb in zip(A_eq, b_eq)]
    starts, index, value, rl, ru = [0], [], [], [], []
    for row, L, U in rows:
        # Row scaling keeps HiGHS's tolerances meaningful for rows with large or tiny coefficients.
        big = max((abs(float(v)) for v in row), default=1.0) or 1.0
        for j, v in enumerate(row):
            if v:
                index.append(j)
                value.append(float(v) / big)
        starts.append(len(index))
        rl.append(-INF if L is None else float(L) / big)
        ru.append(float(U) / big)
    h.pass_rowwise([float(v) for v in c],
                   [-INF if lo is None or lo[j] is None else float(lo[j]) for j in range(n)],
                   [INF if hi is None or hi[j] is None else float(hi[j]) for j in range(n)],
                   rl, ru, starts, index, value, maximize=maximize)
    status = h.run(time_limit)
    if status.value != "optimal":
        return status.value, None
    row_status, col_status = h.basis()
    tight = []
    m_ub, m_eq = len(A), len(A_eq)
    for i, st in enumerate(row_status):
        if st == "basic":
            continue
        if i < m_ub:
            if st == "upper":
                tight.append(i)
            else:
                return "odd row status", None
        else:
            tight.append(i)  # equality rows are always tight
    # Column bounds in constraint_list order: lower bounds first, then upper bounds.
    lo_index, hi_index = {}, {}
    k = m_ub + m_eq
    for j in range(n):
        if lo is not None and lo[j] is not None:
            lo_index[j] = k
            k += 1
    for j in range(n):
        if hi is not None and hi[j] is not None:
            hi_index[j] = k
            k += 1
    for j, st in enumerate(col_status):
        if st == "basic":
            continue
        if st == "lower" and j in lo_index:
            tight.append(lo_index[j])
        elif st == "upper" and j in hi_index:
            tight.append(hi_index[j])
        elif j in lo_index and j in hi_index and lo[j] == hi[j]:
            tight.append(lo_index[j])
        else:
            return "nonbasic free column", None
    return "optimal", tight


# -- exact active-set method --------------------------------------------------------------------------
def _vertex(cons, tight):
    rows = [cons[k][0] for k in tight]
    return _solve_square(rows, [cons[k][1] for k in tight])


def _multipliers(cons, tight, c):
    n = len(c)
    cols = [[cons[k][0][j] for k in tight] for j in range(n)]  # transpose: sum_k lam_k g_k = c
    return _solve_square(cols, list(c))


def _active_set(c, cons, tight, x, deadline, stats, max_pivots):
    """Exact vertex-to-vertex ascent from the feasible vertex ``x`` with tight set ``tight``.

    Returns ``("optimal", x, tight, lam)``, ``("unbounded", ...)`` or ``("unknown", ...)``.
    """
    n = len(c)
    tight = list(tight)
    while True:
        lam = _multipliers(cons, tight, c)
        if lam is None:
            return "unknown", x, tight, None
        leave = None
        for pos in sorted(range(n), key=lambda p: tight[p]):  # Bland: smallest constraint index
            k = tight[pos]
            if not cons[k][2] and lam[pos] < 0:
                leave = pos
                break
        if leave is None:
            return "optimal", x, tight, lam
        if stats["pivots"] >= max_pivots or (deadline is not None and deadline.expired()):
            return "unknown", x, tight, None
        stats["pivots"] += 1
        # Direction d: g_leave . d = -1, g_k . d = 0 for the other tight constraints; c . d = -lam > 0.
        rows = [cons[k][0] for k in tight]
        rhs = [Fraction(-1) if p == leave else Fraction(0) for p in range(n)]
        d = _solve_square(rows, rhs)
        if d is None:
            return "unknown", x, tight, None
        step, enter = None, None
        tight_set = set(tight)
        for k, (g, h, eq) in enumerate(cons):
            if k in tight_set or eq:
                continue
            gd = _dot(g, d)
            if gd > 0:
                t = (h - _dot(g, x)) / gd
                if step is None or t < step:  # ties keep the smallest index (Bland)
                    step, enter = t, k
        if step is None:
            return "unbounded", x, tight, None
        x = [xi + step * di for xi, di in zip(x, d)]
        tight[leave] = enter


# -- z3 fallback --------------------------------------------------------------------------------------
def _z3_lp(c, cons, maximize, deadline):
    from .z3_backend import from_z3, z3
    from .z3_session import Z3Session

    session = Z3Session(deadline)
    n = len(c)
    xs = session.reals(n)
    opt = session.optimizer()

    def lin(g):
        return session.linear(g, xs)

    for g, h, eq in cons:
        opt.add(lin(g) == session.rational(h) if eq else lin(g) <= session.rational(h))
    obj = lin([Fraction(v) for v in c])
    handle = opt.maximize(obj) if maximize else opt.minimize(obj)
    answer = opt.check()
    if answer.unsat:
        return LPStatus.INFEASIBLE, None, None
    if not answer.sat:
        return LPStatus.UNKNOWN, None, None
    bound = opt.bound(handle, upper=maximize)
    if not (z3.is_rational_value(bound) or z3.is_int_value(bound)):
        return LPStatus.UNBOUNDED, None, None  # an infinite (or infinitesimal-shifted) optimum
    return LPStatus.OPTIMAL, from_z3(bound), answer.point


def solve_exact_lp(c: Sequence, A: Sequence = (), b: Sequence = (), A_eq: Sequence = (), b_eq: Sequence = (),
                   lo: Sequence | None = None, hi: Sequence | None = None, *, maximize: bool = True,
                   deadline=None, max_pivots: int = 10_000) -> ExactLPResult:
    """Exact optimum of ``c . x`` subject to ``A x <= b``, ``A_eq x = b_eq``, ``lo <= x <= hi``.

    Parameters
    ----------
    c : sequence of rationals (length n)
    A, b, A_eq, b_eq : dense rows of rationals (ints, Fractions, decimal strings are not accepted)
    lo, hi : sequences of rationals or ``None`` entries (unbounded), or ``None`` (all unbounded)
    maximize : bool
        Maximise (default) or minimise.
    deadline : verify Deadline, optional
        On expiry the result is UNKNOWN (no claim).

    Returns
    -------
    ExactLPResult
        OPTIMAL with exact ``value`` and ``x`` (and a certificate when reached from a basis),
        INFEASIBLE or UNBOUNDED (decided exactly), or UNKNOWN.

    Examples
    --------
    >>> r = solve_exact_lp([1, 1], A=[[1, 2], [3, 1]], b=[4, 6], lo=[0, 0])
    >>> r.status, r.value, r.x
    (<LPStatus.OPTIMAL: 'optimal'>, Fraction(14, 5), (Fraction(8, 5), Fraction(6, 5)))
    """
    c = [Fraction(v) for v in c]
    n = len(c)
    A, A_eq = _frac_rows(A), _frac_rows(A_eq)
    b, b_eq = [Fraction(v) for v in b], [Fraction(v) for v in b_eq]
    if len(A) != len(b) or len(A_eq) != len(b_eq) or any(len(r) != n for r in A + A_eq):
        raise ValueError("solve_exact_lp: inconsistent dimensions")
    sign = 1 if maximize else -1
    cmax = [sign * v for v in c]
    cons = constraint_list(n, A, b, A_eq, b_eq, lo, hi)
    stats = {"pivots": 0}
    if n == 0:
        feasible = all((h == 0) if eq else (h >= 0) for _, h, eq in cons)
        if not feasible:
            return ExactLPResult(LPStatus.INFEASIBLE, method="trivial", stats=stats)
        return ExactLPResult(LPStatus.OPTIMAL, Fraction(0), (), ((), ()), method="trivial", stats=stats)
    rem = None if deadline is None else deadline.remaining()
    status, tight = _highs_basis(n, c, A, b, A_eq, b_eq, lo, hi, maximize, rem)
    if tight is not None and len(tight) == n:
        x = _vertex(cons, tight)
        if x is not None and all((_dot(g, x) == h) if eq else (_dot(g, x) <= h) for g, h, eq in cons):
            outcome, x, tight, lam = _active_set(cmax, cons, tight, x, deadline, stats, max_pivots)
            if outcome == "optimal":
                value = _dot(c, x)
                cert = (tuple(tight), tuple(lam))
                return ExactLPResult(LPStatus.OPTIMAL, value, tuple(x), cert,
                                     method="basis" if stats["pivots"] == 0 else "pivots", stats=stats)
            if outcome == "unbounded":
                return ExactLPResult(LPStatus.UNBOUNDED, method="pivots", stats=stats,
                                     reason="an exact improving ray from a feasible vertex")
            if deadline is not None and deadline.expired():
                return ExactLPResult(LPStatus.UNKNOWN, method="pivots", stats=stats, reason="deadline")
    if deadline is not None and deadline.expired():
        return ExactLPResult(LPStatus.UNKNOWN, stats=stats, reason="deadline")
    st, value, x = _z3_lp(c, cons, maximize, deadline)
    stats["z3"] = 1
    return ExactLPResult(st, value, x, None, method="z3", stats=stats,
                         reason="" if st is not LPStatus.UNKNOWN else "z3 returned unknown or timed out")
