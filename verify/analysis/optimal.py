"""Minimax-optimal subpool approximations of max pooling, certified in exact arithmetic.

The class (Matoba, Dimitriadis, Fleuret, arXiv:2203.01016; TMLR 2023): on the box [0,1]^d and for an
index set ``R`` of sizes (``0`` is the intercept, sizes ``1 <= k <= d-1``)

    f_beta(x) = beta_0 + sum_{k in R, k >= 1} beta_k A_k(x),
    A_k(x)    = C(d,k)^-1 sum_{|S| = k} max_{i in S} x_i.

**Lemma (vertex reduction).** Let ``x_(1) <= ... <= x_(d)`` be the sorted coordinates. Then
``A_k(x) = sum_j C(j-1, k-1) / C(d,k) x_(j)`` (``max_S x = x_(j)`` for exactly ``C(j-1, k-1)`` of the
``k``-subsets ``S``, those containing the ``j``-th smallest coordinate and ``k-1`` smaller ones), so
``f_beta`` and ``max(x) = x_(d)`` are symmetric and *linear* on every ordering simplex
``{x : 0 <= x_pi(1) <= ... <= x_pi(d) <= 1}``. Their difference is affine there, so its supremum and
infimum over the simplex are attained at its d+1 vertices; by symmetry all simplices give the same
values at ``v_j = (0,...,0,1,...,1)`` (``j`` ones), ``j = 0..d``. Hence

    sup_{x in [0,1]^d} |max(x) - f_beta(x)| = max_j |e_j(beta)|,
    e_j(beta) = [j >= 1] - f_beta(v_j),   A_k(v_j) = 1 - C(d-j, k) / C(d, k).

The minimax problem is therefore the discrete Chebyshev problem ``min_beta max_j |e_j(beta)|``: a linear
program with ``|R| + 1`` variables and ``2(d+1)`` constraints.

**Exact certificate (duality).** For weights ``w_j >= 0`` on points ``J`` with signs ``s_j in {+1,-1}``,
``sum_j w_j = 1`` and ``sum_j w_j s_j A_k(v_j) = 0`` for every ``k in R`` (``A_0 = 1``), every ``beta``
satisfies ``max_j |e_j(beta)| >= sum_j w_j s_j e_j(beta) = sum_j w_j s_j [j >= 1]`` (the beta terms
cancel). If that lower bound equals ``max_j |e_j(beta*)|``, then ``beta*`` is optimal; the error
equioscillates on ``J`` (``e_j(beta*) = s_j * error`` wherever ``w_j > 0``). The check is a handful of
Fraction sums (:func:`check_certificate`).

The LP is solved in floating point by HiGHS (:mod:`verify.backends.highs_session`); its optimal basis names the tight
constraints, and the primal and dual basic solutions are then recomputed exactly by Gaussian
elimination over the rationals and checked as above. Floats only choose the basis.

References
----------
Matoba, Dimitriadis, Fleuret. The Theoretical Expressiveness of Maxpooling. arXiv:2203.01016 (2022);
TMLR 2023 as "Benefits of Max Pooling in Neural Networks: Theoretical and Experimental Evidence".
Closed forms: LITERATURE.md section 1 (recovered from the authors' public code, re-derived here).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from math import comb
from typing import Iterable, Sequence

from ..constructions.subpool import beta_tuple as _beta_tuple
from ..constructions.subpool import normalise_R
from ..errors import ResourceLimitError, ToolkitBugError, VerifyError
from ..numbers import to_text

__all__ = [
    "normalise_R",
    "vertex_features",
    "vertex_errors",
    "sup_error",
    "order_weights",
    "evaluate_subpool",
    "Certificate",
    "OptimalApproximation",
    "check_certificate",
    "optimal_approximation",
    "closed_form_error",
    "closed_forms",
    "explicit_optimum",
    "solve_exact",
]


# --------------------------------------------------------------------------------------------------
# The class and the vertex reduction
# --------------------------------------------------------------------------------------------------

def _A_vertex(d: int, k: int, j: int) -> Fraction:
    """``A_k(v_j) = 1 - C(d-j,k)/C(d,k)``; ``A_0 = 1`` (the intercept column)."""
    if k == 0:
        return Fraction(1)
    return 1 - Fraction(comb(d - j, k), comb(d, k))


def vertex_features(d: int, R: Sequence[int]) -> tuple[list[list[Fraction]], list[Fraction]]:
    """``(a, m)``: ``a[j][i] = A_{R[i]}(v_j)`` and ``m[j] = max(v_j) = [j >= 1]`` for ``j = 0..d``."""
    R = normalise_R(d, R)
    a = [[_A_vertex(d, k, j) for k in R] for j in range(d + 1)]
    m = [Fraction(int(j >= 1)) for j in range(d + 1)]
    return a, m


def vertex_errors(d: int, R: Sequence[int], beta) -> list[Fraction]:
    """Exact ``e_j = max(v_j) - f_beta(v_j)`` for ``j = 0..d`` (``beta``: dict ``k -> value`` or sequence)."""
    R = normalise_R(d, R)
    b = _beta_tuple(R, beta)
    a, m = vertex_features(d, R)
    return [m[j] - sum(bi * aij for bi, aij in zip(b, a[j])) for j in range(d + 1)]


def sup_error(d: int, R: Sequence[int], beta) -> Fraction:
    """Exact ``sup_{x in [0,1]^d} |max(x) - f_beta(x)|`` (the vertex reduction lemma)."""
    return max(abs(e) for e in vertex_errors(d, R, beta))


def order_weights(d: int, R: Sequence[int], beta) -> tuple[Fraction, list[Fraction]]:
    """``(c0, c)`` with ``f_beta(x) = c0 + sum_j c[j-1] x_(j)`` (sorted coordinates, ascending).

    ``c[j-1] = sum_{k in R, k >= 1} beta_k C(j-1, k-1) / C(d, k)``.
    """
    R = normalise_R(d, R)
    b = dict(zip(R, _beta_tuple(R, beta)))
    c0 = b.get(0, Fraction(0))
    c = [sum((b[k] * Fraction(comb(j - 1, k - 1), comb(d, k)) for k in R if k >= 1), Fraction(0))
         for j in range(1, d + 1)]
    return c0, c


def evaluate_subpool(d: int, R: Sequence[int], beta, x: Sequence) -> Fraction:
    """Exact ``f_beta(x)`` at a point of R^d through order statistics (no network needed)."""
    if len(x) != d:
        raise VerifyError(f"point has {len(x)} coordinates, expected {d}")
    c0, c = order_weights(d, R, beta)
    xs = sorted(Fraction(v) for v in x)
    return c0 + sum(ci * xi for ci, xi in zip(c, xs))


# --------------------------------------------------------------------------------------------------
# Exact linear algebra
# --------------------------------------------------------------------------------------------------

def solve_exact(A: Sequence[Sequence[Fraction]], b: Sequence[Fraction]) -> list[Fraction] | None:
    """The unique solution of ``A z = b`` over the rationals, or ``None``.

    ``A`` may have more rows than columns; ``None`` if the system is inconsistent or its solution is not
    unique (rank below the number of columns).
    """
    rows = [list(map(Fraction, r)) + [Fraction(v)] for r, v in zip(A, b)]
    n = len(A[0]) if A else 0
    r = 0
    pivots = []
    for c in range(n):
        p = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            return None  # a free column: not unique
        rows[r], rows[p] = rows[p], rows[r]
        piv = rows[r][c]
        rows[r] = [v / piv for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [vi - f * vr for vi, vr in zip(rows[i], rows[r])]
        pivots.append(c)
        r += 1
    if any(row[n] != 0 for row in rows[r:]):
        return None  # inconsistent
    return [rows[i][n] for i in range(n)]


# --------------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Certificate:
    """An exact optimality certificate: points ``v_j`` (``j`` in ``points``), signs and weights.

    Valid when weights are >= 0 and sum to 1 and ``sum_j w_j s_j A_k(v_j) = 0`` for all ``k in R``; then
    ``lower_bound = sum_j w_j s_j max(v_j)`` is a lower bound on the error of every ``beta``.
    """

    points: tuple[int, ...]
    signs: tuple[int, ...]
    weights: tuple[Fraction, ...]

    def lower_bound(self, d: int) -> Fraction:
        return sum((w * s * int(j >= 1) for j, s, w in zip(self.points, self.signs, self.weights)), Fraction(0))

    def to_json(self) -> dict:
        return {"points": [f"v{j}" for j in self.points], "ones": list(self.points), "signs": list(self.signs),
                "weights": [to_text(w) for w in self.weights]}


def check_certificate(d: int, R: Sequence[int], beta, error, cert: Certificate) -> tuple[bool, str]:
    """Check, in rational arithmetic, that ``beta`` is minimax-optimal with sup error ``error``.

    Returns ``(True, "")`` or ``(False, reason)``. Checks: (1) the sup error of ``beta`` over [0,1]^d (by
    the vertex lemma) equals ``error``; (2) the weights are >= 0, sum to 1, and the signed weighted
    combination of the columns ``A_k(v_j)``, ``k in R``, vanishes; (3) the resulting lower bound on the
    error of *every* beta equals ``error``.
    """
    R = normalise_R(d, R)
    error = Fraction(error)
    try:
        actual = sup_error(d, R, beta)
    except VerifyError as exc:
        return False, str(exc)
    if actual != error:
        return False, f"the sup error of beta is {to_text(actual)}, not the claimed {to_text(error)}"
    if not (len(cert.points) == len(cert.signs) == len(cert.weights)) or not cert.points:
        return False, "certificate lists of different lengths or empty"
    if any(not 0 <= j <= d for j in cert.points) or len(set(cert.points)) != len(cert.points):
        return False, "certificate points must be distinct vertices v_0..v_d"
    if any(s not in (1, -1) for s in cert.signs):
        return False, "certificate signs must be +1 or -1"
    if any(w < 0 for w in cert.weights):
        return False, "certificate weights must be >= 0"
    if sum(cert.weights) != 1:
        return False, f"certificate weights sum to {to_text(sum(cert.weights))}, not 1"
    for k in R:
        col = sum((w * s * _A_vertex(d, k, j) for j, s, w in zip(cert.points, cert.signs, cert.weights)), Fraction(0))
        if col != 0:
            return False, f"certificate does not annihilate the column of k = {k} (residual {to_text(col)})"
    lb = cert.lower_bound(d)
    if lb != error:
        return False, f"certificate lower bound {to_text(lb)} differs from the error {to_text(error)}"
    return True, ""


# --------------------------------------------------------------------------------------------------
# The optimum: HiGHS candidate, exact basic solutions, certificate
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OptimalApproximation:
    """The certified minimax-optimal ``beta`` for ``(d, R)`` on [0,1]^d.

    ``error`` is exact; ``certificate`` has been checked by :func:`check_certificate`; ``closed_form`` is
    the paper's value when one applies (it must equal ``error``; this is checked).
    """

    d: int
    R: tuple[int, ...]
    beta: dict[int, Fraction]
    error: Fraction
    certificate: Certificate
    vertex_errors: list[Fraction]
    closed_form: Fraction | None = None
    seconds: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "d": self.d,
            "R": list(self.R),
            "error": to_text(self.error),
            "beta": {str(k): to_text(v) for k, v in self.beta.items()},
            "certificate": self.certificate.to_json(),
            "vertex_errors": [to_text(e) for e in self.vertex_errors],
            "closed_form": None if self.closed_form is None else to_text(self.closed_form),
            "seconds": {k: round(v, 6) for k, v in self.seconds.items()},
        }


def _highs_basis(a, m, n):
    """Solve the LP with HiGHS; ``(row statuses, column statuses, float primal, row duals)``, or None
    when the float LP fails (large d: coefficients ~C(d,k)/2^(d-k) against errors ~2^-d)."""
    from ..backends.highs_session import INF, HighsModel, LPStatus

    npts = len(m)
    h = HighsModel(simplex=True,  # a basic solution is what the exact step needs
                   options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    # Columns: beta (free), then t >= 0. Minimise t.
    # Row 2j:   a_j.beta + t >= m_j     (e_j <= t)
    # Row 2j+1: a_j.beta - t <= m_j     (e_j >= -t)
    lower, upper, starts, index, value = [], [], [], [], []
    for j in range(npts):
        for sign in (1, -1):
            starts.append(len(index))
            for i in range(n):
                if a[j][i] != 0:
                    index.append(i)
                    value.append(float(a[j][i]))
            index.append(n)
            value.append(float(sign))
            if sign == 1:
                lower.append(float(m[j])); upper.append(INF)
            else:
                lower.append(-INF); upper.append(float(m[j]))
    h.pass_rowwise([0.0] * n + [1.0], [-INF] * n + [0.0], [INF] * (n + 1), lower, upper,
                   starts + [len(index)], index, value, maximize=False)
    if h.run() is not LPStatus.OPTIMAL:
        return None
    rows, cols = h.basis()
    sol = h.solution()
    return rows, cols, list(sol.x), list(sol.row_dual)


def _exact_from_active(a, m, n, active):
    """Exact primal ``(beta, t)`` and dual certificate from an active set ``[(j, s_j), ...]``.

    Primal: ``m_j - a_j.beta = s_j t`` on the active set (unique solution required).
    Dual: ``w_j >= 0``, ``sum w_j = 1``, ``sum_j w_j s_j a_j = 0`` (unique solution required).
    """
    A = [list(a[j]) + [Fraction(s)] for j, s in active]
    b = [m[j] for j, _ in active]
    z = solve_exact(A, b)
    if z is None:
        return None
    beta, t = z[:n], z[n]
    # Dual: unknowns w over the active set.
    Ad = [[s * a[j][i] for j, s in active] for i in range(n)] + [[Fraction(1)] * len(active)]
    bd = [Fraction(0)] * n + [Fraction(1)]
    w = solve_exact(Ad, bd)
    if w is None:
        return None
    return beta, t, w


def optimal_approximation(d: int, R: Iterable[int]) -> OptimalApproximation:
    """The minimax-optimal ``beta`` for ``(d, R)`` on [0,1]^d, with exact error and certificate.

    Parameters
    ----------
    d : int
        Window size (number of inputs), ``d >= 2``.
    R : iterable of int
        Subpool sizes; ``0`` is the intercept, ``1..d-1`` the averages ``A_k``.

    Returns
    -------
    OptimalApproximation
        ``beta`` exact (dict ``k -> Fraction``), ``error`` exact, a checked :class:`Certificate`.

    Raises
    ------
    ToolkitBugError
        If no exact certificate can be recovered from the LP (never observed; it would be a bug).

    Examples
    --------
    >>> opt = optimal_approximation(9, [0, 1, 7, 8])
    >>> opt.error
    Fraction(1, 81)
    >>> optimal_approximation(4, [0, 1, 2, 3]).error == Fraction(1, 2 ** 4)
    True

    References
    ----------
    Matoba, Dimitriadis, Fleuret, arXiv:2203.01016 (TMLR 2023); LITERATURE.md section 1.
    """
    R = normalise_R(d, R)
    t0 = time.perf_counter()
    a, m = vertex_features(d, R)
    n = len(R)
    cands = []
    basis = _highs_basis(a, m, n)
    rows = None
    if basis is not None:
        rows, cols, x, duals = basis
    t1 = time.perf_counter()
    if rows is not None:
        # Candidate active sets, most specific first: nonbasic rows of HiGHS's optimal basis; rows with a
        # nonzero dual; rows tight in the float primal; every vertex with the sign of its float error.
        # Each is recomputed exactly and checked; floats only propose.
        nonbasic = {"lower", "upper"}
        cands.append([(r // 2, 1 if r % 2 == 0 else -1) for r in range(2 * (d + 1)) if rows[r] in nonbasic])
        cands.append([(r // 2, 1 if r % 2 == 0 else -1) for r in range(2 * (d + 1)) if abs(duals[r]) > 1e-12])
        tf = x[n]
        errs = [float(m[j]) - sum(float(a[j][i]) * x[i] for i in range(n)) for j in range(d + 1)]
        scale = 1e-7 * max(1.0, max(abs(v) for v in x[:n]))
        cands.append([(j, 1 if e > 0 else -1) for j, e in enumerate(errs) if abs(abs(e) - tf) <= scale])
        cands.append([(j, 1 if e > 0 else -1) for j, e in enumerate(errs)])
    if n == d:
        # d unknowns beta plus the error against d+1 points: the optimum equioscillates on every vertex
        # with alternating signs (e_0 = -beta_0 < 0 first). A guess that needs no floats, checked exactly.
        cands.append([(j, -1 if j % 2 == 0 else 1) for j in range(d + 1)])
    reasons = []
    for active in cands:
        if not active:
            continue
        got = _exact_from_active(a, m, n, active)
        if got is None:
            reasons.append("singular or inconsistent active set")
            continue
        beta_t, t, w = got
        cert = Certificate(tuple(j for j, _ in active), tuple(s for _, s in active), tuple(w))
        beta = dict(zip(R, beta_t))
        ok, why = check_certificate(d, R, beta, t, cert)
        if ok:
            # Drop zero weights from the certificate (they carry no information).
            keep = [i for i, wi in enumerate(cert.weights) if wi != 0]
            cert = Certificate(tuple(cert.points[i] for i in keep), tuple(cert.signs[i] for i in keep),
                               tuple(cert.weights[i] for i in keep))
            ok2, why2 = check_certificate(d, R, beta, t, cert)
            if not ok2:  # pragma: no cover - removing zero terms cannot break the identities
                raise ToolkitBugError(why2)
            cf = closed_form_error(d, R)
            if cf is not None and cf != t:
                raise ToolkitBugError(f"certified optimum {to_text(t)} for d={d}, R={list(R)} disagrees with "
                                      f"the paper's closed form {to_text(cf)}")
            t2 = time.perf_counter()
            return OptimalApproximation(d, R, beta, t, cert, vertex_errors(d, R, beta), cf,
                                        {"lp": t1 - t0, "exact": t2 - t1})
        reasons.append(why)
    if rows is None:
        raise ResourceLimitError(f"the float LP (HiGHS) failed for d={d}, R={list(R)} (numerical range too wide) "
                                 "and no exact certificate could be built without it")
    raise ToolkitBugError(f"no exact certificate recovered for d={d}, R={list(R)}: {'; '.join(reasons)}")


# --------------------------------------------------------------------------------------------------
# The paper's closed forms
# --------------------------------------------------------------------------------------------------

def closed_forms(d: int) -> list[tuple[str, tuple[int, ...], Fraction]]:
    """The paper's closed-form optimal errors that are defined at ``d``: ``(name, R, error)``.

    Families (Matoba, Dimitriadis, Fleuret, arXiv:2203.01016, TMLR 2023; LITERATURE.md section 1) and
    where each is defined as written (its sizes must be distinct and lie in ``1..d-1``):

    ========================  ==========================================  ============
    R                         optimal sup error on [0,1]^d                defined for
    ========================  ==========================================  ============
    {0}                       1/2                                         d >= 2
    {0,1}                     (d-1)/(2d)                                  d >= 2
    {0,1,2}                   t1 t2 / (2 (t1 t2 + d)), t1 = floor((d-1)/2),  d >= 3
                              t2 = floor(d/2)
    {0,1,d-1}                 1/(2(d+1))                                  d >= 3
    {0,1,d-2,d-1}             1/d^2                                       d >= 4
    {0,1,...,d-1}             2^-d                                        d >= 2
    ========================  ==========================================  ============

    Degenerate cases: at d = 2, ``{0,1,d-1}`` collapses to ``{0,1}`` and the formula 1/(2(d+1)) = 1/6
    does *not* hold there (the optimum is 1/4), so the family starts at d = 3. ``{0,1,2}`` needs
    ``2 <= d-1``. ``{0,1,d-2,d-1}`` at d = 3 collapses to ``{0,1,2}`` with 1/9 != 1/8, so it starts at
    d = 4 (where it is all of ``{0..3}`` and 1/16 = 2^-4). Where two families name the same ``R``
    (e.g. d = 3: ``{0,1,2}`` is also ``{0,1,d-1}`` and ``{0..d-1}``) their values agree.
    """
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise VerifyError(f"d must be an integer >= 2, got {d!r}")
    out = [("{0}", (0,), Fraction(1, 2)),
           ("{0,1}", (0, 1), Fraction(d - 1, 2 * d))]
    if d >= 3:
        t1, t2 = (d - 1) // 2, d // 2
        out.append(("{0,1,2}", (0, 1, 2), Fraction(t1 * t2, 2 * (t1 * t2 + d))))
        out.append(("{0,1,d-1}", (0, 1, d - 1), Fraction(1, 2 * (d + 1))))
    if d >= 4:
        out.append(("{0,1,d-2,d-1}", tuple(sorted({0, 1, d - 2, d - 1})), Fraction(1, d * d)))
    out.append(("{0,...,d-1}", tuple(range(d)), Fraction(1, 2 ** d)))
    return out


def closed_form_error(d: int, R: Iterable[int]) -> Fraction | None:
    """The paper's optimal error for ``(d, R)`` if a closed form applies, else ``None``.

    See :func:`closed_forms` for the families and their ranges of ``d``.

    >>> closed_form_error(9, [0, 1, 2]), closed_form_error(9, [0, 1, 8]), closed_form_error(9, [0, 3])
    (Fraction(8, 25), Fraction(1, 20), None)

    References
    ----------
    Matoba, Dimitriadis, Fleuret, arXiv:2203.01016 (2022); TMLR 2023.
    """
    R = normalise_R(d, R)
    values = {v for _, r, v in closed_forms(d) if r == R}
    if len(values) > 1:  # pragma: no cover - coinciding families agree (tested)
        raise ToolkitBugError(f"closed forms disagree for d={d}, R={list(R)}: {sorted(values)}")
    return values.pop() if values else None


def explicit_optimum(d: int) -> dict[int, Fraction]:
    """The paper's explicit optimum for ``R = {0..d-1}``, as ``beta`` on the averages ``A_k``.

    ``f*(x) = 2^-d - sum_{k=1}^{d-1} (-1/2)^(d-k) sum_{|S|=k} max_S x``, i.e. ``beta_0 = 2^-d`` and
    ``beta_k = -(-1/2)^(d-k) C(d,k)``; its sup error on [0,1]^d is ``2^-d`` (LITERATURE.md section 1).
    """
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise VerifyError(f"d must be an integer >= 2, got {d!r}")
    beta = {0: Fraction(1, 2 ** d)}
    for k in range(1, d):
        beta[k] = -Fraction(-1, 2) ** (d - k) * comb(d, k)
    return beta
