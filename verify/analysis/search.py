"""Search for shallow constructions of max_n as support-function sums, or certify there is none in a family.

The system. A network with ``hidden`` hidden layers computes ``max_n`` iff ``max_n = sum_b c_b h_b + <l, x>``
over blocks ``b`` (Haase, Hertrich, Loho 2023; Bakaev et al. 2025): zonotopes for one hidden layer, joins
of two zonotopes for two. Over the finite family of :func:`verify.analysis.family.block_family` this is
a linear system in the ``c_b``, evaluated at finitely many points that suffice (the rays of the lattice
difference arrangement and the line through ``(1, ..., 1)``; :mod:`verify.analysis.family`). With
``symmetric`` the unknowns are one coefficient per orbit and the points are the rays in the sorted
chamber: averaging any solution over the symmetric group gives a symmetric one (msun170/relu-max6,
Lemma "Symmetrization"), so nothing is lost.

Solving. Exact ranks (python-flint) decide feasibility. If ``[H | b]`` has larger rank than ``H``, the
pivot rows ``J`` of ``[H | b]`` (``rank H + 1`` of them) carry a left null vector ``y`` of ``H_J`` with
``y . b_J != 0``: the Fredholm alternative, an exact certificate that no combination exists ("not in
this family"), re-checkable by :func:`verify.analysis.search_check.recheck_search`. Otherwise HiGHS
minimises the number of second-layer units (``sum |o| |c_o|``, floats for guidance), the coefficients
on that support are recomputed exactly (rational row reduction), the exact identity ``H c = b`` is
checked on every row, and the support-function sum is compiled to a network that is then proved equal
to ``max_n`` on all of R^n by :func:`verify.analysis.arrangement.prove_by_arrangement`.

For one hidden layer a stronger certificate is tried first: points ``r_i`` and weights ``y_i`` with
``sum y_i r_i = 0`` and ``sum y_i (max(r_i) + min(r_i)) != 0``. Every bias-free one-hidden-layer function
has ``f(x) - f(-x)`` linear (``relu(t) - relu(-t) = t``), so ``sum y_i (f(r_i) - f(-r_i)) = 0`` for all of
them, while for ``max_n`` the sum is ``sum y_i (max r_i + min r_i)``: no one-hidden-layer network of any
width computes ``max_n`` (with biases too, through the recession function ``lim f(tx)/t``). This is the
known fact that one hidden layer cannot compute max of 3 (Mukherjee and Basu, as cited by Hertrich et
al.; LITERATURE.md section 2), with a finite exact certificate.

References
----------
.. [1] M. Sun. Two hidden layers compute the maximum of six numbers. github.com/msun170/relu-max6 (2026,
   not peer reviewed): the weight-2 family, its max_6 solution and the claimed max_7 obstruction.
.. [2] C. Haase, C. Hertrich, G. Loho. ICLR 2023, arXiv:2302.12553; K. Bakaev et al. arXiv:2505.14338.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..errors import VerifyError
from ..io.support_sum import SupportSum, Term
from .family import all_rays, block_family, orbit_members, orbit_values, sorted_rays
from ..deadline import Deadline
from ..status import Status

__all__ = ["SearchResult", "search_max", "one_hidden_certificate", "SEARCH_FORMAT"]

SEARCH_FORMAT = "verify-search/1"


@dataclass
class SearchResult:
    """``status``: "found" (a network, PROVED on R^n unless ``prove=False``), "infeasible" (an exact
    certificate that the family cannot express max_n), or "unknown" (with ``reason``)."""

    status: str
    n: int
    hidden: int
    weight: int
    symmetric: bool
    support_sum: SupportSum | None = None
    network: object = None
    proof: object = None
    certificate: dict | None = None
    reason: str = ""
    stats: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {"query": "search", "status": self.status, "max": self.n, "hidden": self.hidden,
               "vertices_weight": self.weight, "symmetric": self.symmetric, "reason": self.reason,
               "stats": self.stats}
        if self.network is not None:
            out["network"] = {"widths": self.network.widths, "relus": self.network.n_relus}
        if self.proof is not None:
            out["proof"] = self.proof.to_json()
        return out


def _rank(M: np.ndarray) -> int:
    import flint

    if M.size == 0:
        return 0
    return flint.fmpz_mat([[int(v) for v in row] for row in M.tolist()]).rank()


def _pivot_rows(M: np.ndarray) -> list[int]:
    """Indices of a maximal independent set of rows (the pivot columns of the transpose's rref)."""
    import flint

    T = flint.fmpz_mat([[int(v) for v in col] for col in M.T.tolist()])
    R, _den, rank = T.rref()
    piv = []
    r = 0
    for c in range(T.ncols()):
        if r < rank and R[r, c] != 0:
            piv.append(c)
            r += 1
    return piv


def _left_null(M: np.ndarray) -> list[int]:
    """A primitive integer vector ``y`` with ``y M = 0`` when the left kernel of ``M`` is one-dimensional."""
    import flint

    X, nullity = flint.fmpz_mat([[int(v) for v in row] for row in M.T.tolist()]).nullspace()
    if nullity != 1:
        raise VerifyError(f"expected a one-dimensional left kernel, got dimension {nullity}")  # pragma: no cover
    y = [int(X[i, 0]) for i in range(M.shape[0])]
    g = math.gcd(*y)
    return [v // g for v in y]


def _exact_solution(H: np.ndarray, b: np.ndarray, support: list[int]) -> list[Fraction] | None:
    """Exact ``c`` with ``H[:, support] c = b`` (free variables zero), or None if inconsistent."""
    import flint

    cols = H[:, support]
    rows = _pivot_rows(np.concatenate([cols, b[:, None]], axis=1)) if len(support) else list(range(len(b)))
    sub = np.concatenate([cols[rows], b[rows][:, None]], axis=1)
    R, rank = flint.fmpq_mat([[int(v) for v in row] for row in sub.tolist()]).rref()
    sol = [Fraction(0)] * len(support)
    for r in range(rank):
        c = next(j for j in range(len(support) + 1) if R[r, j] != 0)
        if c == len(support):
            return None
        q = R[r, len(support)]
        sol[c] = Fraction(int(q.p), int(q.q))
    full = np.array([[Fraction(int(v)) for v in row] for row in cols.tolist()], dtype=object).reshape(len(b), -1)
    if len(support) and any(v != int(t) for v, t in zip(full @ np.array(sol, dtype=object), b.tolist())):
        return None
    if not len(support) and any(int(t) != 0 for t in b.tolist()):
        return None
    return sol


def _sparse_support(H: np.ndarray, b: np.ndarray, weights: list[float], free: list[int]) -> list[int] | None:
    """Columns used by a float L1-minimal solution (HiGHS): guidance only."""
    from ..backends.highs_session import LPStatus, solve_lp

    m, k = H.shape
    cost = np.concatenate([weights, weights])
    for j in free:
        cost[j] = cost[k + j] = 0.0
    A = np.concatenate([H, -H], axis=1).astype(np.float64)
    status, x = solve_lp(cost, A_eq=A, b_eq=b.astype(np.float64))
    if status is not LPStatus.OPTIMAL:
        return None
    c = x[:k] - x[k:]
    scale = max(1e-12, float(np.abs(c).max()))
    return [j for j in range(k) if abs(c[j]) > 1e-9 * scale]


def one_hidden_certificate(n: int) -> dict | None:
    """Points ``r_i`` and integer weights ``y_i`` with ``sum y_i r_i = 0`` and
    ``sum y_i (max r_i + min r_i) != 0`` (module docstring), or None if there is none on the 0/1 points."""
    import itertools

    pts = [tuple(1 if i in S else 0 for i in range(n)) for k in range(1, n + 1)
           for S in itertools.combinations(range(n), k)]
    M = np.array([list(p) + [max(p) + min(p)] for p in pts], dtype=np.int64)
    H, b = M[:, :n], M[:, n]
    if _rank(np.concatenate([H, b[:, None]], axis=1)) == _rank(H):
        return None
    J = _pivot_rows(np.concatenate([H, b[:, None]], axis=1))
    y = _left_null(H[J])
    value = sum(yi * int(b[j]) for yi, j in zip(y, J))
    if value < 0:
        y, value = [-v for v in y], -value
    return {"kind": "one-hidden-layer", "n": n, "points": [list(pts[j]) for j in J], "y": y, "value": value}


def _certificate(kind: str, n: int, weight: int, hidden: int, X: np.ndarray, H: np.ndarray,
                 b: np.ndarray) -> dict:
    J = _pivot_rows(np.concatenate([H, b[:, None]], axis=1))
    y = _left_null(H[J])
    value = sum(yi * int(b[j]) for yi, j in zip(y, J))
    if value == 0:  # pragma: no cover - the pivot rows make [H | b]_J invertible
        raise VerifyError("internal: the certificate vector does not separate max")
    if value < 0:
        y, value = [-v for v in y], -value
    return {"kind": kind, "n": n, "weight": weight, "hidden": hidden,
            "points": [[int(t) for t in X[j]] for j in J], "y": y, "value": value}


ROWS_AT_ONCE = 600
# The exact ranks (python-flint, fraction-free elimination over Python-int rows) take about 250 bytes
# per entry at their peak: `search --max 4 --vertices-weight 3` (600-1012 rows x 29285 blocks, without
# --symmetric) reached 7.5 GB, and under a 4 GB address-space cap FLINT aborted the process. Above this
# many entries the search stops with UNKNOWN and says why instead.
RANK_MAX_ENTRIES = 8_000_000


def _solve(H, b, labels, fam, symmetric: bool, k_lin: int) -> tuple[list[int], list[Fraction]]:
    """A sparse exact solution of ``H c = b``: HiGHS picks the support, rationals decide the values."""
    sizes = [fam.orbits[l].size if symmetric else 1 for l in labels]
    two = [fam.orbits[l if symmetric else l[0]].two_block for l in labels]
    weights = [float(s) if t else 0.01 * s for s, t in zip(sizes, two)] + [0.0] * k_lin
    free = list(range(H.shape[1] - k_lin, H.shape[1]))
    support = _sparse_support(H, b, weights, free)
    sol = _exact_solution(H, b, support) if support is not None else None
    if sol is None:
        support = list(range(H.shape[1]))
        sol = _exact_solution(H, b, support)
    if sol is None:  # pragma: no cover - ranks said the system is consistent
        raise VerifyError("internal: a consistent system had no exact solution")
    keep = [(j, c) for j, c in zip(support, sol) if c != 0]
    return [j for j, _ in keep], [c for _, c in keep]


def search_max(n: int, hidden: int = 2, weight: int = 2, *, symmetric: bool = True, timeout: float | None = None,
               prove: bool = True) -> SearchResult:
    """Search the weight-``weight`` family for ``max_n`` with ``hidden`` hidden layers (module docstring)."""
    if n < 2:
        raise VerifyError("max of n needs n >= 2")
    deadline = Deadline(timeout)
    out = SearchResult("unknown", n, hidden, weight, symmetric)
    t0 = time.monotonic()
    if hidden == 1:
        cert = one_hidden_certificate(n)
        if cert is not None:
            out.status, out.certificate = "infeasible", _wrap(cert)
            out.reason = (f"no network with one hidden layer (any width, any weights) computes max of {n}: "
                          f"a {len(cert['points'])}-point certificate")
            out.stats["seconds_total"] = round(time.monotonic() - t0, 3)
            return out
    fam = block_family(n, weight, hidden)
    out.stats.update({"zonotopes": fam.zonotopes, "orbits": len(fam.orbits), "blocks": fam.blocks,
                      "seconds_family": round(time.monotonic() - t0, 3)})
    t1 = time.monotonic()
    from .flats import FlatBudgetExceeded

    try:
        R = sorted_rays(n, weight, deadline=deadline) if symmetric else all_rays(n, weight, deadline=deadline)
    except FlatBudgetExceeded as exc:
        out.reason = f"the points that suffice were not enumerated: {exc}"
        out.stats["seconds_total"] = round(time.monotonic() - t0, 3)
        return out
    ones = np.ones((1, n), dtype=np.int64)
    X = np.concatenate([R, ones, -ones])
    out.stats.update({"points": len(X), "seconds_points": round(time.monotonic() - t1, 3)})
    if not symmetric and len(X) * fam.blocks > 60_000_000:
        raise VerifyError(f"the unsymmetric system would have {len(X)} x {fam.blocks} entries; use --symmetric")
    t2 = time.monotonic()
    b_all = X.max(axis=1)
    lin_all = X.sum(axis=1, keepdims=True) if symmetric else X.copy()
    k_lin = lin_all.shape[1]
    # Row generation: decide on a subset of the points, extend it with the rows a candidate solution
    # violates. An inconsistent subset already proves infeasibility; a solution is accepted only when
    # it holds exactly on every point.
    rng = np.random.default_rng(0)
    rows = list(range(len(X))) if len(X) <= ROWS_AT_ONCE else sorted(
        set(rng.choice(len(X) - 2, ROWS_AT_ONCE, replace=False).tolist()) | {len(X) - 2, len(X) - 1})
    rounds = 0
    while True:
        rounds += 1
        Hs, labels = orbit_values(fam, X[rows], symmetric=symmetric)
        H = np.concatenate([Hs, lin_all[rows]], axis=1)
        b = b_all[rows]
        if H.size > RANK_MAX_ENTRIES:
            out.reason = (f"the exact system has {H.shape[0]} x {H.shape[1]} entries, more than the "
                          f"{RANK_MAX_ENTRIES:,} this search decides in memory; "
                          + ("use a smaller --vertices-weight" if symmetric else "use --symmetric"))
            out.stats.update({"columns": H.shape[1], "rows_used": len(rows), "row_rounds": rounds,
                              "seconds_total": round(time.monotonic() - t0, 3)})
            return out
        rank_h = _rank(H)
        rank_aug = _rank(np.concatenate([H, b[:, None]], axis=1))
        if rank_aug > rank_h:
            break
        support, sol = _solve(H, b, labels, fam, symmetric, k_lin)
        cols = sorted({labels[j] if symmetric else labels[j][0] for j in support if j < len(labels)})
        Hc, lab_c = orbit_values(fam, X, symmetric=symmetric, only=set(cols))
        where = {lab: i for i, lab in enumerate(lab_c)}
        value = np.zeros(len(X), dtype=object)
        for j, c in zip(support, sol):
            col = lin_all[:, j - len(labels)] if j >= len(labels) else Hc[:, where[labels[j]]]
            value = value + col.astype(object) * c
        bad = [i for i in range(len(X)) if value[i] != int(b_all[i])]
        if not bad:
            break
        rows = sorted(set(rows) | set(bad[:ROWS_AT_ONCE]))
    out.stats.update({"columns": H.shape[1], "rank": rank_h, "rows_used": len(rows), "row_rounds": rounds,
                      "seconds_system": round(time.monotonic() - t2, 3)})
    if rank_aug > rank_h:
        kind = "symmetric-family" if symmetric else "family"
        out.status = "infeasible"
        out.certificate = _wrap(_certificate(kind, n, weight, hidden, X[rows], H, b))
        out.reason = (f"max of {n} is not a combination of the {fam.blocks} blocks of the weight-{weight} family "
                      f"with {hidden} hidden layer{'s' if hidden > 1 else ''} (exact certificate on "
                      f"{len(out.certificate['points'])} points)")
        out.stats["seconds_total"] = round(time.monotonic() - t0, 3)
        return out
    t3 = time.monotonic()
    coef = dict(zip(support, sol))
    terms = []
    for j, lab in enumerate(labels):
        c = coef.get(j, Fraction(0))
        if c == 0:
            continue
        if symmetric:
            terms.append(Term(c, fam.orbits[lab].term.blocks))
        else:
            oi, mi = lab
            terms.append(_member_term(fam, oi, mi, c))
    linear = [coef.get(H.shape[1] - k_lin + i, Fraction(0)) for i in range(k_lin)]
    linear = tuple(linear * n) if symmetric else tuple(linear)
    s = SupportSum(n, tuple(terms), symmetric, linear,
                   f"found by `verify search --max {n} --hidden {hidden} --vertices-weight {weight}"
                   f"{' --symmetric' if symmetric else ''}`")
    from ..constructions.support_sum import compile_support_sum, orbit_sizes

    net = compile_support_sum(s, name=f"max{n} found by search ({hidden} hidden layers)")
    used = sum(orbit_sizes(s)) if symmetric else len(terms)
    out.stats.update({"terms": len(terms), "blocks_used": used, "relus": net.n_relus, "widths": net.widths,
                      "seconds_solve": round(time.monotonic() - t3, 3)})
    out.support_sum, out.network = s, net
    if prove:
        from .arrangement import prove_by_arrangement

        t4 = time.monotonic()
        res, _ = prove_by_arrangement(net, timeout=deadline.remaining())
        out.proof = res
        out.stats["seconds_prove"] = round(time.monotonic() - t4, 3)
        if res.status is not Status.PROVED:
            out.status = "unknown"
            out.reason = f"a solution was found on the sufficient points but the network was not proved: {res.reason}"
            out.stats["seconds_total"] = round(time.monotonic() - t0, 3)
            return out
    out.status = "found"
    out.reason = (f"max of {n} = a combination of {used} blocks ({len(terms)} {'orbits' if symmetric else 'terms'})"
                  f"{', PROVED on R^' + str(n) if prove else ''}")
    out.stats["seconds_total"] = round(time.monotonic() - t0, 3)
    return out


def _member_term(fam, oi: int, mi: int, c: Fraction) -> Term:
    """The ``mi``-th member of orbit ``oi`` as a term: its representative moved by a permutation."""
    import itertools

    target = frozenset(map(tuple, orbit_members(fam.orbits[oi].vertices, fam.n)[mi].tolist()))
    rep = fam.orbits[oi]
    for perm in itertools.permutations(range(fam.n)):
        moved = frozenset(tuple(v[p] for p in perm) for v in rep.vertices)
        if moved == target:
            inv = [0] * fam.n
            for i, p in enumerate(perm):
                inv[p] = i
            return Term(c, tuple(b.permuted(inv) for b in rep.term.blocks))
    raise VerifyError("internal: orbit member not found")  # pragma: no cover


def _wrap(body: dict) -> dict:
    from .. import __version__

    return {"format": SEARCH_FORMAT, "query": "search", "status": "NOT_IN_FAMILY", "made_by": f"verify {__version__}",
            **body, "claim": _claim_text(body)}


def _claim_text(body: dict) -> str:
    n = body["n"]
    if body["kind"] == "one-hidden-layer":
        return f"no ReLU network with one hidden layer computes max of {n} on R^{n}"
    return (f"max of {n} is not a linear combination of support functions of the weight-{body['weight']} "
            f"family with {body['hidden']} hidden layer(s) plus a linear function")

