"""Exact tools for open polyhedra ``{x : a_k . x + c_k > 0}`` given as integer vectors ``(a, c)``.

:func:`z3_strict_point` decides such a system exactly (a rational interior point, or none);
:func:`motzkin_certificate` proves a system empty in integer arithmetic alone; :func:`norm_key` is the
canonical form of a half-space up to a positive factor. Used by the region enumerator and the count of
linear pieces.

References
----------
T. S. Motzkin, "Beitrage zur Theorie der linearen Ungleichungen", 1936 (transposition theorem).
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, lcm

from ...backends.z3_backend import from_z3
from ...backends.z3_session import Z3Session
from ...deadline import Deadline

__all__ = ["z3_strict_point", "motzkin_certificate", "norm_key", "nullspace"]


def norm_key(v) -> tuple:
    """Canonical form of a half-space ``v > 0`` up to a positive factor."""
    g = 0
    for a in v:
        g = gcd(g, int(a))
    if g == 0:
        return tuple(int(a) for a in v)
    return tuple(int(a) // g for a in v)


def _lin(v, d: int) -> str:
    """SMT-LIB text of ``sum v_i x_i + v_d`` for integer ``v``."""
    terms = [f"(* {_smt_int(int(v[i]))} x{i})" for i in range(d) if int(v[i]) != 0]
    terms.append(_smt_int(int(v[d])))
    return terms[0] if len(terms) == 1 else "(+ " + " ".join(terms) + ")"


def _smt_int(k: int) -> str:
    return str(k) if k >= 0 else f"(- {-k})"


def z3_strict_point(d: int, rows, box=None, equal=None, deadline: Deadline | None = None):
    """Exact: a rational ``x`` with every ``row . (x, 1) > 0`` (and ``equal . (x, 1) = 0``, and inside
    the open box ``(lo/den, hi/den)``), None if there is none, 'unknown' if z3 gives up.

    The system is passed to z3 as SMT-LIB text (much faster than building terms through the Python
    API); linear real arithmetic is decided exactly by z3's simplex over the rationals.
    """
    lines = [f"(declare-const x{i} Real)" for i in range(d)]
    if box is not None:
        den, lo, hi = box
        for i in range(d):
            lines.append(f"(assert (< {_smt_int(lo[i])} (* {den} x{i})))")
            lines.append(f"(assert (< (* {den} x{i}) {_smt_int(hi[i])}))")
    for r in rows:
        lines.append(f"(assert (> {_lin(r, d)} 0))")
    if equal is not None:
        lines.append(f"(assert (= {_lin(equal, d)} 0))")
    session = Z3Session(deadline)
    s = session.solver()
    s.from_string("\n".join(lines))
    # The variables are the ones the text declares: read them back by name (absent ones are free: 0).
    res = s.check(point_of=())
    if res.sat:
        m = s.model()
        decls = {dcl.name(): dcl for dcl in m.decls()}
        out = []
        for i in range(d):
            dcl = decls.get(f"x{i}")
            out.append(Fraction(0) if dcl is None else from_z3(m[dcl]))
        return tuple(out)
    if res.unsat:
        return None
    return "unknown"


def _row_gcd(row: list) -> list:
    g = 0
    for v in row:
        g = gcd(g, v)
    return [v // g for v in row] if g > 1 else row


def nullspace(cols: list, d: int) -> list[list[int]]:
    """Exact integer basis of ``{y : sum_k y_k cols[k][:d] = 0}``.

    Fraction-free Gauss-Jordan elimination (rows kept integral and divided by their gcd), so only
    Python integers are involved.
    """
    s = len(cols)
    m = [[int(cols[k][i]) for k in range(s)] for i in range(d)]
    m = [row for row in m if any(row)]
    pivots = []
    r = 0
    for c in range(s):
        p = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if p is None:
            continue
        m[r], m[p] = m[p], m[r]
        pr = m[r]
        a = pr[c]
        for i in range(len(m)):
            if i != r and m[i][c] != 0:
                f = m[i][c]
                m[i] = _row_gcd([a * x - f * y for x, y in zip(m[i], pr)])
        pivots.append(c)
        r += 1
        if r == len(m):
            break
    basis = []
    for fcol in (c for c in range(s) if c not in pivots):
        big_l = 1
        for i, pc in enumerate(pivots):
            big_l = lcm(big_l, abs(m[i][pc]))
        y = [0] * s
        y[fcol] = big_l
        for i, pc in enumerate(pivots):
            y[pc] = -big_l * m[i][fcol] // m[i][pc]
        basis.append(y)
    return basis


def motzkin_certificate(rows: list, d: int, equal=None) -> bool:
    """True if ``y >= 0, y != 0`` on ``rows`` (and a free multiplier on ``equal``) exists with
    ``sum y a = 0`` and ``sum y c <= 0``: then ``rows . (x, 1) > 0`` (with ``equal . (x, 1) = 0``) has no
    solution, since the combination would be positive and ``<= 0`` at once (Motzkin's transposition
    theorem, the easy direction). Only a one-dimensional null space is tried; False means "no
    certificate found", not "feasible".
    """
    cols = list(rows) + ([equal] if equal is not None else [])
    basis = nullspace(cols, d)
    if len(basis) != 1:
        return False
    y = basis[0]
    n = len(rows)
    for sign in (1, -1):
        v = [sign * a for a in y]
        if all(a >= 0 for a in v[:n]) and any(a > 0 for a in v[:n]):
            total = sum(v[k] * int(cols[k][d]) for k in range(len(cols)))
            if total <= 0:
                return True
    return False
