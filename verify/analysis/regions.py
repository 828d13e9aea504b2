"""Exact enumeration of the activation regions of a network in a box (or in R^d).

An *activation region* is a non-empty open set on which every ReLU has a fixed strict sign and every
``max`` node a fixed strict argmax; on it the network is one affine map. The enumerator walks the
decision nodes (ReLUs and ``max`` nodes) in topological order. Given the choices made for the earlier
decision nodes, every node's value is an affine function of ``x`` (this holds for any DAG, skip
connections included), so the next decision adds the half-spaces ``g > 0`` or ``g < 0`` (argmax: ``f_j >
f_i``). A branch is kept only if the open polyhedron stays non-empty, which a warm-started
Chebyshev-centre LP (HiGHS) decides; the branch containing the parent's interior point needs no LP. So
the work grows with the number of regions (times the depth), not with 2^neurons.

Exactness (DESIGN.md): node values are carried as exact integer vectors over a static denominator per
node, so degenerate neurons (a pre-activation constant on the current region, as in the gadgets'
cancellations) are recognised exactly. A region is reported only when a rational interior point with
every margin strictly positive has been checked in integer arithmetic; if the float LP's point fails,
the LP centre, rounded versions of it, and finally z3 (exact on linear real arithmetic) are tried. A
branch is dropped only with an exact Motzkin certificate of emptiness (proposed by the LP's dual
support, checked in integers) or a z3 ``unsat``; so the count is exact in both directions
(``certify=False`` trusts clearly negative LP margins instead; ``backend="z3"`` asks z3 everything).

Counts: ``activation_regions``; ``affine_maps`` (distinct exact affine maps of the outputs);
``linear_pieces`` (connected components of the union of regions sharing a map, adjacency across
common (d-1)-dimensional facets, decided from an exact point in the relative interior of the facet).

References
----------
Serra, Tjandraatmadja, Ramalingam, "Bounding and counting linear regions of deep neural networks",
ICML 2018 (arXiv:1711.02114): linear regions as activation patterns, exact counting by MILP.
Humayun et al., "SplineCam: exact visualization and characterization of deep network geometry and
decision boundaries", CVPR 2023: exact partition of a 2-D slice of input space.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd, lcm
from typing import Any, Iterator

import numpy as np

from ..domain import Box, RealSpace
from ..errors import DomainError, ToolkitBugError, VerifyError
from ..ir.graph import Network
from ..ir.ops import Op
from .results import Deadline, Status

__all__ = [
    "Region",
    "RegionEnumerator",
    "RegionsResult",
    "iter_regions",
    "count_regions",
    "slice_network",
    "linear_pieces",
    "z3_strict_point",
    "motzkin_certificate",
]

# Relative size of the grey zone of LP margins decided exactly by z3.
_GREY = 1e-9


@dataclass(frozen=True)
class Region:
    """One full-dimensional activation region.

    Attributes
    ----------
    pattern : tuple of int
        One entry per decision node (``RegionEnumerator.decision_nodes``): 1/0 for a ReLU active /
        inactive (a pre-activation identically 0 on the region counts as 0), the chosen predecessor's
        position for a ``max`` node.
    point : tuple of Fraction
        An interior point: every defining inequality holds strictly there (checked exactly).
    maps : tuple of (tuple of Fraction, Fraction)
        For each output, ``(coefficients, constant)`` of the network's affine map on the region.
    constraints : tuple of tuple of int
        The defining open half-spaces ``a . x + c > 0`` as integer vectors ``(a_1..a_d, c)`` (box faces
        not included).
    """

    pattern: tuple
    point: tuple
    maps: tuple
    constraints: tuple = field(repr=False, default=())

    def value_at(self, x) -> tuple:
        """The region's affine maps evaluated at ``x`` (exact)."""
        return tuple(sum((c * Fraction(v) for c, v in zip(coef, x)), Fraction(0)) + k for coef, k in self.maps)


def _lin(v, d: int) -> str:
    """SMT-LIB text of ``sum v_i x_i + v_d`` for integer ``v``."""
    terms = [f"(* {_smt_int(int(v[i]))} x{i})" for i in range(d) if int(v[i]) != 0]
    terms.append(_smt_int(int(v[d])))
    return terms[0] if len(terms) == 1 else "(+ " + " ".join(terms) + ")"


def _smt_int(k: int) -> str:
    return str(k) if k >= 0 else f"(- {-k})"


def z3_strict_point(d: int, rows, box=None, equal=None, timeout_ms=None):
    """Exact: a rational ``x`` with every ``row . (x, 1) > 0`` (and ``equal . (x, 1) = 0``, and inside
    the open box ``(lo/den, hi/den)``), None if there is none, 'unknown' if z3 gives up.

    The system is passed to z3 as SMT-LIB text (much faster than building terms through the Python
    API); linear real arithmetic is decided exactly by z3's simplex over the rationals.
    """
    from ..backends.z3_backend import from_z3, z3

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
    s = z3.Solver()
    if timeout_ms is not None:
        s.set("timeout", timeout_ms)
    s.from_string("\n".join(lines))
    res = s.check()
    if res == z3.sat:
        m = s.model()
        decls = {dcl.name(): dcl for dcl in m.decls()}
        out = []
        for i in range(d):
            dcl = decls.get(f"x{i}")
            out.append(Fraction(0) if dcl is None else from_z3(m[dcl]))
        return tuple(out)
    if res == z3.unsat:
        return None
    return "unknown"


def _row_gcd(row: list) -> list:
    g = 0
    for v in row:
        g = gcd(g, v)
    return [v // g for v in row] if g > 1 else row


def _nullspace(cols: list, d: int) -> list[list[int]]:
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
    basis = _nullspace(cols, d)
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


def _as_domain(domain, d: int):
    if domain is None:
        return RealSpace(d)
    if isinstance(domain, (Box, RealSpace)):
        if domain.dim != d:
            raise DomainError(f"domain has dimension {domain.dim}, the network has {d} inputs")
        return domain
    raise DomainError(f"unsupported domain {domain!r}")


class _Compiled:
    """Integer form of the network: per node a static denominator and integer combination rules."""

    def __init__(self, net: Network):
        self.net = net
        self.d = net.n_inputs
        self.order = list(net.order)
        self.pos = {n: i for i, n in enumerate(self.order)}
        self.den: list[int] = [1] * len(self.order)
        # rule per position: (kind, data)
        self.rules: list[tuple] = []
        for i, n in enumerate(self.order):
            op = net.op(n)
            if op is Op.INPUT:
                self.rules.append(("input", net.graph.nodes[n]["index"]))
            elif op is Op.AFFINE:
                terms = net.affine_terms(n)
                bias = net.bias(n)
                dn = lcm(bias.denominator, *(w.denominator for _, w in terms)) if terms else bias.denominator
                big_l = lcm(*(self.den[self.pos[p]] for p, _ in terms)) if terms else 1
                self.den[i] = dn * big_l
                preds = np.array([self.pos[p] for p, _ in terms], dtype=np.int64)
                coefs = np.array([int(w * dn) * (big_l // self.den[self.pos[p]]) for p, w in terms] or [0], dtype=object)
                if not terms:
                    coefs = np.zeros(0, dtype=object)
                const = int(bias * dn) * big_l
                self.rules.append(("affine", (preds, coefs, const)))
            elif op is Op.RELU:
                p = self.pos[net.single_pred(n)]
                self.den[i] = self.den[p]
                self.rules.append(("relu", p))
            elif op is Op.MAX:
                ps = [self.pos[p] for p in net.preds(n)]
                big_l = lcm(*(self.den[p] for p in ps))
                self.den[i] = big_l
                self.rules.append(("max", [(p, big_l // self.den[p]) for p in ps]))
            elif op is Op.OUTPUT:
                p = self.pos[net.single_pred(n)]
                self.den[i] = self.den[p]
                self.rules.append(("output", p))
            else:  # pragma: no cover - closed op set
                raise ToolkitBugError(f"region enumerator has no handler for op {op!r} at node {n!r}")
        self.decision_positions = [i for i, (k, _) in enumerate(self.rules) if k in ("relu", "max")]
        self.decision_index = {p: k for k, p in enumerate(self.decision_positions)}
        self.output_positions = [self.pos[o] for o in net.outputs]


def _zero_vec(d: int) -> np.ndarray:
    return np.array([0] * (d + 1), dtype=object)


def _norm_key(v) -> tuple:
    """Canonical form of a half-space ``v > 0`` up to a positive factor."""
    g = 0
    for a in v:
        g = gcd(g, int(a))
    if g == 0:
        return tuple(int(a) for a in v)
    return tuple(int(a) // g for a in v)


class RegionEnumerator:
    """Depth-first enumeration of the activation regions; iterate to get :class:`Region` objects.

    Parameters
    ----------
    net : Network
    domain : Box or RealSpace, optional
        Default: all of R^d.
    backend : {"highs", "z3"}
        ``"highs"``: float LPs guide pruning (grey zone decided by z3); ``"z3"``: every branch decided
        exactly by z3 (slow; a cross-check).
    timeout : float, optional
        Seconds; when exceeded, iteration stops and :attr:`complete` stays False.
    keep_constraints : bool
        Store each region's constraints (needed for linear pieces).
    self_check : bool
        Re-run every interior point through the exact evaluator and compare outputs with the region's
        maps (a guard against bugs in the enumerator; costs one exact evaluation per region).
    """

    def __init__(self, net: Network, domain=None, *, backend: str = "highs", timeout: float | None = None,
                 keep_constraints: bool = True, self_check: bool = True, certify: bool = True):
        if backend not in ("highs", "z3"):
            raise VerifyError(f"unknown region backend {backend!r} (choose highs or z3)")
        self.net = net
        self.domain = _as_domain(domain, net.n_inputs)
        self.backend = backend
        self.deadline = Deadline(timeout)
        self.keep_constraints = keep_constraints
        self.self_check = self_check
        self.certify = certify
        self.certificates = 0
        self.c = _Compiled(net)
        self.decision_nodes = tuple(self.c.order[p] for p in self.c.decision_positions)
        self.complete = False
        self.reason = ""
        self.lp_solves = 0
        self.z3_calls = 0
        self.exact_retries = 0
        self.rejected = 0
        d = self.c.d
        if isinstance(self.domain, Box):
            bden = lcm(*(v.denominator for v in self.domain.lo + self.domain.hi))
            self.box_den = bden
            self.box_lo = [int(v * bden) for v in self.domain.lo]
            self.box_hi = [int(v * bden) for v in self.domain.hi]
            width = max(float(b - a) for a, b in zip(self.domain.lo, self.domain.hi))
            if width == 0:
                raise DomainError("the box has empty interior: no full-dimensional region")
            if any(a == b for a, b in zip(self.domain.lo, self.domain.hi)):
                raise DomainError("the box is flat in some coordinate (LO = HI): no full-dimensional region")
            self.scale = width
            self.root = np.array([float(v) for v in self.domain.center()])
        else:
            self.box_den = None
            self.scale = 1.0
            self.root = np.zeros(d)

    # -- exact helpers ------------------------------------------------------------------------
    def _box_range_sign(self, v) -> int:
        """+1 if ``v >= 0`` on the whole box, -1 if ``v <= 0`` on it, else 0 (exact; R^d: 0)."""
        if self.box_den is None:
            return 0
        d = self.c.d
        lo_sum = hi_sum = int(v[d]) * self.box_den
        for i in range(d):
            a = int(v[i])
            if a == 0:
                continue
            p, q = a * self.box_lo[i], a * self.box_hi[i]
            lo_sum += min(p, q)
            hi_sum += max(p, q)
        if lo_sum >= 0:
            return 1
        if hi_sum <= 0:
            return -1
        return 0

    def _exact_ok(self, x: tuple, rows) -> bool:
        """All ``rows`` strictly positive at the rational point ``x``, and ``x`` in the open box."""
        d = self.c.d
        q = 1
        for v in x:
            q = lcm(q, v.denominator)
        p = [int(v * q) for v in x]
        if self.box_den is not None:
            for i in range(d):
                if not (self.box_lo[i] * q < p[i] * self.box_den < self.box_hi[i] * q):
                    return False
        for r in rows:
            s = int(r[d]) * q
            for i in range(d):
                s += int(r[i]) * p[i]
            if s <= 0:
                return False
        return True

    def _z3_point(self, rows, equal=None):
        """Exact decision of the strict system: a rational point, None (empty) or 'unknown'."""
        self.z3_calls += 1
        box = None
        if self.box_den is not None:
            box = (self.box_den, self.box_lo, self.box_hi)
        return z3_strict_point(self.c.d, rows, box, equal=equal, timeout_ms=self.deadline.z3_ms())

    def _float_row(self, v, den: int | None = None):
        """Float copy of ``v / den`` (``den=None``: scaled so the largest entry is 1; Python's int
        division rounds correctly even when numerator and denominator exceed the float range)."""
        d = self.c.d
        if den is None:
            den = max(abs(int(a)) for a in v) or 1
        return np.array([int(v[i]) / den for i in range(d)]), int(v[d]) / den

    def _confirm(self, point: np.ndarray, rows):
        """An exact interior point of the current region, None if it is empty, 'unknown' if undecided."""
        x = tuple(Fraction(float(v)) for v in point)
        if self._exact_ok(x, rows):
            return x
        self.exact_retries += 1
        candidates = []
        if self.backend == "highs":
            self.lp_solves += 1
            t, centre = self.lp.solve()
            if centre is not None and t > 0:
                candidates.append(centre)
        else:
            candidates.append(point)
        for c in candidates:
            x = tuple(Fraction(float(v)) for v in c)
            if self._exact_ok(x, rows):
                return x
            for k in (3, 6, 9, 12, 15):
                x = tuple(Fraction(float(v)).limit_denominator(10 ** k) for v in c)
                if self._exact_ok(x, rows):
                    return x
        res = self._z3_point(rows)
        if isinstance(res, tuple) and not self._exact_ok(res, rows):  # pragma: no cover - z3 bug guard
            raise ToolkitBugError("z3 returned a point that violates the strict region constraints")
        return res

    # -- the search ---------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Region]:
        c = self.c
        d = c.d
        n = len(c.order)
        if self.backend == "highs":
            from ..backends.lp import ChebyshevLP

            if self.box_den is not None:
                lo = [float(v) for v in self.domain.lo]
                hi = [float(v) for v in self.domain.hi]
                self.lp = ChebyshevLP(d, lo, hi, t_cap=self.scale)
            else:
                self.lp = ChebyshevLP(d, None, None, t_cap=1.0)
        V = np.empty((n, d + 1), dtype=object)
        pattern = [0] * len(c.decision_positions)
        rows: list = []  # exact constraint vectors on the current path
        self._keys = keys = []  # their canonical forms (for exact parallel-row checks)
        grey = _GREY * self.scale
        # Frame: (pos, n_rows_before, new_rows, point or None, value, pattern_entry)
        stack: list[tuple] = []

        def advance(q: int, point) -> bool:
            """Fill values from position q on until a decision (frames pushed) or the end (True)."""
            while q < n:
                kind, data = c.rules[q]
                if kind == "input":
                    vec = _zero_vec(d)
                    vec[data] = 1
                    V[q] = vec
                elif kind == "affine":
                    preds, coefs, const = data
                    if len(preds):
                        vec = coefs.dot(V[preds])
                    else:
                        vec = _zero_vec(d)
                    vec[d] = vec[d] + const
                    V[q] = vec
                elif kind == "output":
                    V[q] = V[data]
                elif kind == "relu":
                    g = V[data]
                    self._branch_relu(q, g, c.den[data], point, rows, stack, grey)
                    return False
                else:  # max
                    self._branch_max(q, data, point, rows, stack, grey)
                    return False
                q += 1
            return True

        self._V = V
        if advance(0, self.root):
            stack.append(None)  # leaf right away (no decision nodes)
        while stack:
            if self.deadline.expired():
                self.reason = f"timeout after {self.deadline.elapsed():.1f} s"
                return
            frame = stack.pop()
            if frame is None:
                leaf_point = self.root
            else:
                pos, nb, new_rows, point, value, entry = frame
                del rows[nb:]
                rows.extend(new_rows)
                del keys[nb:]
                keys.extend(_norm_key(r) for r in new_rows)
                if self.backend == "highs":
                    self.lp.truncate(nb)
                    for r in new_rows:
                        a, k = self._float_row(r)
                        self.lp.push(a, k)
                if point is None:
                    point = self._feasible(rows, grey)
                    if point is None:
                        continue
                    if isinstance(point, str):
                        self.reason = "a branch could not be decided (z3 unknown)"
                        return
                V[pos] = value
                pattern[c.decision_index[pos]] = entry
                if not advance(pos + 1, point):
                    continue
                leaf_point = point
            region = self._leaf(leaf_point, rows, pattern)
            if region is None:
                continue
            if isinstance(region, str):
                self.reason = "a region could not be confirmed (z3 unknown)"
                return
            yield region
        self.complete = True

    def _feasible(self, rows, grey):
        """A float interior point of the current rows, None if empty, 'unknown' if undecided.

        Emptiness is never taken on the float LP's word when ``certify`` is on: the LP's dual support
        proposes the rows of a Motzkin certificate, checked in exact arithmetic; z3 decides otherwise.
        """
        if self.backend == "z3":
            res = self._z3_point(rows)
            if isinstance(res, tuple):
                return np.array([float(v) for v in res])
            return res
        self.lp_solves += 1
        t, x = self.lp.solve()
        if t > grey:
            return x
        if t < -grey and not self.certify:
            return None
        if x is not None and self._certified_empty(rows):
            self.certificates += 1
            return None
        res = self._z3_point(rows)  # decide exactly
        if isinstance(res, tuple):
            return np.array([float(v) for v in res])
        return res

    def _box_rows(self) -> list:
        d = self.c.d
        out = []
        for i in range(d):
            lo = [0] * (d + 1)
            lo[i], lo[d] = self.box_den, -self.box_lo[i]
            hi = [0] * (d + 1)
            hi[i], hi[d] = -self.box_den, self.box_hi[i]
            out.extend([lo, hi])
        return out

    def _certified_empty(self, rows, equal=None, duals=None) -> bool:
        d = self.c.d
        row_dual, box_dual, col_dual, xval = duals if duals is not None else self.lp.duals()
        scale = max([abs(v) for v in row_dual] + [abs(v) for v in box_dual] + [abs(v) for v in col_dual] + [0.0])
        if scale == 0:
            return False
        tol = 1e-9 * scale
        support = [r for r, y in zip(rows, row_dual) if abs(y) > tol]
        if self.box_den is not None:
            box = self._box_rows()
            for i in range(d):
                at_lo = abs(xval[i] - float(self.domain.lo[i])) <= abs(xval[i] - float(self.domain.hi[i]))
                lo_used = abs(box_dual[2 * i]) > tol or (abs(col_dual[i]) > tol and at_lo)
                hi_used = abs(box_dual[2 * i + 1]) > tol or (abs(col_dual[i]) > tol and not at_lo)
                if lo_used:
                    support.append(box[2 * i])
                if hi_used:
                    support.append(box[2 * i + 1])
        if not support:
            return False
        return motzkin_certificate(support, d, equal=equal)

    def _branch_relu(self, q, g, den, point, rows, stack, grey):
        d = self.c.d
        nb = len(rows)
        if all(g[i] == 0 for i in range(d)):
            active = g[d] > 0
            stack.append((q, nb, [], point, g if active else _zero_vec(d), 1 if active else 0))
            return
        stable = self._box_range_sign(g)
        if stable == 1:
            stack.append((q, nb, [], point, g, 1))
            return
        if stable == -1:
            stack.append((q, nb, [], point, _zero_vec(d), 0))
            return
        neg = -g
        key = _norm_key(g)
        if key in self._keys:  # the same half-space is already on the path: only 'active' survives
            stack.append((q, nb, [], point, g, 1))
            return
        if tuple(-v for v in key) in self._keys:
            stack.append((q, nb, [], point, _zero_vec(d), 0))
            return
        a, k = self._float_row(g, den)
        val = float(a @ point + k)
        margin = grey * max(1.0, float(np.linalg.norm(a)))
        if val > margin:
            stack.append((q, nb, [neg], None, _zero_vec(d), 0))
            stack.append((q, nb, [g], point, g, 1))
        elif val < -margin:
            stack.append((q, nb, [g], None, g, 1))
            stack.append((q, nb, [neg], point, _zero_vec(d), 0))
        else:
            stack.append((q, nb, [neg], None, _zero_vec(d), 0))
            stack.append((q, nb, [g], None, g, 1))

    def _branch_max(self, q, data, point, rows, stack, grey):
        d = self.c.d
        nb = len(rows)
        V = self._V
        forms = []  # (position among preds, scaled exact form)
        seen = {}
        for j, (p, scale) in enumerate(data):
            f = V[p] * scale if scale != 1 else V[p]
            key = tuple(int(v) for v in f)
            if key in seen:  # identical forms: the first one stands for all (ties are never strict)
                continue
            seen[key] = j
            forms.append((j, f))
        branches = []
        for j, f in forms:
            new_rows = []
            ok = True
            for i, h in forms:
                if i == j:
                    continue
                diff = f - h
                if all(diff[k] == 0 for k in range(d)):
                    if diff[d] <= 0:
                        ok = False
                        break
                    continue
                s = self._box_range_sign(diff)
                if s == 1:
                    continue
                if s == -1:
                    ok = False
                    break
                key = _norm_key(diff)
                if key in self._keys:  # already implied by the path
                    continue
                if tuple(-v for v in key) in self._keys:
                    ok = False
                    break
                new_rows.append(diff)
            if ok:
                branches.append((j, f, new_rows))
        if not branches:  # pragma: no cover - some input is always a strict argmax on an open set
            raise ToolkitBugError(f"max node {self.c.order[q]!r}: every argmax branch was excluded")
        if len(branches) == 1 or any(not r for _, _, r in branches):
            # A branch with no new row is the whole current region: the others are empty.
            j, f, new_rows = next(b for b in branches if not b[2]) if any(not b[2] for b in branches) else branches[0]
            if not new_rows:
                stack.append((q, nb, [], point, f, j))
                return
        # The branch holding the parent's point (strict argmax there) needs no LP.
        den = self.c.den[self.c.pos[self.c.order[q]]]
        free = None
        vals = []
        for j, f, new_rows in branches:
            a, k = self._float_row(f, den)
            vals.append(float(a @ point + k))
        if vals:
            best = int(np.argmax(vals))
            others = [v for i, v in enumerate(vals) if i != best]
            if not others or vals[best] - max(others) > grey * 10:
                free = best
        for i, (j, f, new_rows) in enumerate(branches):
            if i != free:
                stack.append((q, nb, new_rows, None, f, j))
        if free is not None:
            j, f, new_rows = branches[free]
            stack.append((q, nb, new_rows, point, f, j))

    def _leaf(self, point, rows, pattern):
        res = self._confirm(point, rows)
        if res is None:
            self.rejected += 1
            return None
        if isinstance(res, str):
            return res
        c = self.c
        maps = []
        for p in c.output_positions:
            den = c.den[p]
            vec = self._V[p]
            maps.append((tuple(Fraction(int(vec[i]), den) for i in range(c.d)), Fraction(int(vec[c.d]), den)))
        region = Region(
            pattern=tuple(pattern),
            point=res,
            maps=tuple(maps),
            constraints=tuple(tuple(int(v) for v in r) for r in rows) if self.keep_constraints else (),
        )
        if self.self_check:
            from ..backends.evaluator import evaluate

            if tuple(evaluate(self.net, res)) != region.value_at(res):
                raise ToolkitBugError(
                    f"region {region.pattern}: affine map disagrees with the exact evaluator at {res}"
                )
        return region

    # -- the region across a facet, symbolically ----------------------------------------------
    def neighbour_pattern(self, pattern: tuple, hkey: tuple) -> tuple:
        """The pattern on the far side of the facet of region ``pattern`` on the hyperplane ``hkey``.

        ``hkey`` is the canonical integer form of a constraint ``h > 0`` of the region. Values are
        continuous, so across the relative interior of the facet only quantities vanishing on the
        whole facet (forms that are multiples of h, or identically 0) can change sign: a ReLU whose new
        pre-activation is ``beta * h`` is active across iff ``beta < 0``; a ``max`` node moves to the
        tied input with the largest growth along ``-grad h``; everything else keeps its choice. Exact;
        no LP. If h is not a facet the result need not be a region (callers check adjacency).
        """
        c = self.c
        d = c.d
        neg_key = tuple(-v for v in hkey)
        hvec = hkey

        def beta(v):
            """``v = beta * h``: beta as a Fraction, 0 for v == 0, None if v is not a multiple of h."""
            k = _norm_key(v)
            if not any(k):
                return Fraction(0)
            if k == hkey or k == neg_key:
                i = next(i for i in range(d + 1) if hvec[i] != 0)
                return Fraction(int(v[i]), hvec[i])
            return None

        def relu_rule(g, k):
            b = beta(g)
            return (b < 0) if b is not None else pattern[k] == 1

        def max_rule(forms, rep, k):
            chosen_rep = rep[pattern[k]]
            fj = next(f for j, f in forms if j == chosen_rep)
            best, best_b = chosen_rep, Fraction(0)
            for j, f in forms:
                if j == chosen_rep:
                    continue
                b = beta(f - fj)  # f - f_chosen = b h; across (h < 0) f wins iff b < 0
                if b is not None and b < best_b:
                    best, best_b = j, b
            return best, next(f for j, f in forms if j == best)

        return self._propagate(relu_rule, max_rule)

    # -- tracing a point ----------------------------------------------------------------------
    def pattern_at(self, x) -> tuple | None:
        """The pattern of the region whose interior holds the rational point ``x`` (None on a boundary).

        Follows the same exact rules as the search (degenerate and box-stable neurons included).
        """
        c = self.c
        d = c.d
        x = tuple(Fraction(v) for v in x)
        big_q = 1
        for v in x:
            big_q = lcm(big_q, v.denominator)
        xp = [int(v * big_q) for v in x]  # x = xp / big_q: signs are decided in integers

        def val(vec):
            return sum(int(vec[i]) * xp[i] for i in range(d)) + int(vec[d]) * big_q

        def relu_rule(g, k):
            v = val(g)
            return None if v == 0 else v > 0  # on a ReLU's hyperplane: a boundary point

        def max_rule(forms, rep, k):
            values = [(j, f, val(f)) for j, f in forms]
            top = max(v for _, _, v in values)
            best = [(j, f) for j, f, v in values if v == top]
            return None if len(best) > 1 else best[0]  # a tie between distinct forms: a boundary

        return self._propagate(relu_rule, max_rule)

    def _propagate(self, relu_rule, max_rule) -> tuple | None:
        """Walk the compiled graph with exact affine forms (integer vectors over x and 1).

        A ReLU whose form is constant or whose sign is fixed on the box is decided here; otherwise
        ``relu_rule(form, k)`` says whether the k-th choice is active. At a max node the distinct forms
        of its inputs (first occurrences, ``rep`` mapping every input to its representative) go to
        ``max_rule(forms, rep, k)``, which returns ``(choice, form)``. Either rule may return None to
        stop (the result is then None); otherwise the tuple of choices is returned.
        """
        c = self.c
        d = c.d
        V = np.empty((len(c.order), d + 1), dtype=object)
        out = []
        for q in range(len(c.order)):
            kind, data = c.rules[q]
            if kind == "input":
                vec = _zero_vec(d)
                vec[data] = 1
                V[q] = vec
            elif kind == "affine":
                preds, coefs, const = data
                vec = coefs.dot(V[preds]) if len(preds) else _zero_vec(d)
                vec[d] = vec[d] + const
                V[q] = vec
            elif kind == "output":
                V[q] = V[data]
            elif kind == "relu":
                g = V[data]
                if all(g[i] == 0 for i in range(d)):
                    active = g[d] > 0
                else:
                    st = self._box_range_sign(g)
                    if st != 0:
                        active = st == 1
                    else:
                        active = relu_rule(g, len(out))
                        if active is None:
                            return None
                V[q] = g if active else _zero_vec(d)
                out.append(1 if active else 0)
            else:
                forms, rep, first = [], {}, {}
                for j, (p, scale) in enumerate(data):
                    f = V[p] * scale if scale != 1 else V[p]
                    key = tuple(int(v) for v in f)
                    if key not in first:
                        first[key] = j
                        forms.append((j, f))
                    rep[j] = first[key]
                picked = max_rule(forms, rep, len(out))
                if picked is None:
                    return None
                out.append(picked[0])
                V[q] = picked[1]
        return tuple(out)


def iter_regions(net: Network, domain=None, **kwargs) -> RegionEnumerator:
    """A streaming iterator over the full-dimensional activation regions (see :class:`RegionEnumerator`).

    >>> from verify.constructions import max_tree
    >>> from verify.domain import Box
    >>> sum(1 for _ in iter_regions(max_tree(2, "A"), Box.cube(2, -1, 1)))
    4
    """
    return RegionEnumerator(net, domain, **kwargs)


# -- linear pieces ----------------------------------------------------------------------------

def _map_key(region: Region) -> tuple:
    return region.maps


def linear_pieces(regions: list[Region], enum: RegionEnumerator, deadline: Deadline | None = None) -> int | None:
    """Number of connected components of same-map regions, adjacency across common facets.

    For a region R1 and each hyperplane h among its constraints, the pattern across h is computed
    exactly (:meth:`RegionEnumerator.neighbour_pattern`). If h is a facet of R1, the region across has
    that pattern; so a pattern that is not a region, or a region with another map, needs no further
    work. For a candidate R2 with the same map, adjacency is confirmed exactly: a rational point ``p``
    with ``h(p) = 0`` and every other constraint of R1 strictly positive (LP, exact projection, z3;
    emptiness needs a Motzkin certificate or z3), with ``p`` in the closure of R2 and R2 on the side
    ``h < 0``. Then R2 is the unique region across the relative interior of the facet (no hyperplane
    can split it: pre-activations are continuous). Union-find gives the pieces. Returns None on timeout.
    """
    d = enum.c.d
    index = {r.pattern: k for k, r in enumerate(regions)}
    parent = list(range(len(regions)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    groups: dict = {}
    for k, r in enumerate(regions):
        groups.setdefault(_map_key(r), []).append(k)
    for members in groups.values():
        if len(members) < 2:
            continue
        components = len(members)
        for k in members:
            if components == 1:
                break  # the whole group is one piece already
            if deadline is not None and deadline.expired():
                return None
            r1 = regions[k]
            classes: dict = {}
            for row in r1.constraints:
                classes.setdefault(_norm_key(row), row)
            keys = list(classes)
            for hk in keys:
                other = index.get(enum.neighbour_pattern(r1.pattern, hk))
                if other is None or other == k or regions[other].maps != r1.maps or find(other) == find(k):
                    continue
                r2 = regions[other]
                neg = tuple(-v for v in hk)
                if not any(_norm_key(row) == neg for row in r2.constraints):
                    continue
                p = _facet_point(enum, classes[hk], [classes[o] for o in keys if o != hk])
                if p is None:
                    continue  # h meets the closure of R1 in less than a facet
                if isinstance(p, str):
                    return None
                if all(sum(int(r[i]) * p[i] for i in range(d)) + int(r[d]) >= 0 for r in r2.constraints):
                    parent[find(k)] = find(other)
                    components -= 1
                else:  # pragma: no cover - would contradict the uniqueness of the region across a facet
                    raise ToolkitBugError(f"region {r2.pattern} was computed across a facet of {r1.pattern} but does not touch it")
    return len({find(k) for k in range(len(regions))})


def _facet_point(enum: RegionEnumerator, h, others):
    """Exact point with ``h = 0``, all ``others > 0`` and inside the open box; None if none exists."""
    from ..backends.lp import new_highs

    d = enum.c.d
    hs_mod = __import__("highspy")
    hs = new_highs()
    inf = hs_mod.kHighsInf
    dom = enum.domain
    for i in range(d):
        if enum.box_den is not None:
            hs.addVar(float(dom.lo[i]), float(dom.hi[i]))
        else:
            hs.addVar(-inf, inf)
    cap = enum.scale
    hs.addVar(-inf, cap)
    hs.changeColCost(d, 1.0)
    hs.changeObjectiveSense(hs_mod.ObjSense.kMaximize)
    idx = np.arange(d + 1, dtype=np.int32)
    if enum.box_den is not None:
        for i in range(d):
            hs.addRow(float(dom.lo[i]), inf, 2, np.array([i, d], dtype=np.int32), np.array([1.0, -1.0]))
            hs.addRow(-inf, float(dom.hi[i]), 2, np.array([i, d], dtype=np.int32), np.array([1.0, 1.0]))
    a, k = enum._float_row(h)
    scale = float(np.linalg.norm(a)) or 1.0
    hs.addRow(-k / scale, -k / scale, d, idx[:d], a / scale)
    for r in others:
        a, k = enum._float_row(r)
        nrm = float(np.linalg.norm(a)) or 1.0
        vals = np.append(a / nrm, -1.0)
        hs.addRow(-k / nrm, inf, d + 1, idx, vals)
    enum.lp_solves += 1
    hs.run()
    candidates = []
    if hs.getModelStatus() == hs_mod.HighsModelStatus.kOptimal:
        solution = hs.getSolution()
        sol = np.array(solution.col_value)
        t = sol[d]
        if t > _GREY * cap:
            candidates.append(sol[:d])
        else:
            # Empty facet: accepted only with an exact Motzkin certificate (else z3 decides below).
            rd = np.array(solution.row_dual)
            nb = 2 * d if enum.box_den is not None else 0
            duals = (rd[nb + 1:], rd[:nb], np.array(solution.col_dual)[:d], sol[:d])
            if enum._certified_empty(list(others), equal=h, duals=duals):
                enum.certificates += 1
                return None
    hv = [int(v) for v in h]
    hn = sum(v * v for v in hv[:d])
    for c in candidates:
        for lim in (None, 10 ** 6, 10 ** 12):
            x = [Fraction(float(v)) if lim is None else Fraction(float(v)).limit_denominator(lim) for v in c]
            # exact projection onto h = 0
            s = sum(hv[i] * x[i] for i in range(d)) + hv[d]
            x = tuple(x[i] - s * hv[i] / hn for i in range(d))
            if enum._exact_ok(x, others):
                return x
    # exact fallback: z3 with the equality
    return enum._z3_point(others, equal=h)


# -- results ----------------------------------------------------------------------------------

@dataclass
class RegionsResult:
    """Counts of regions, maps and pieces, with the applicable published bounds.

    ``status`` is PROVED when the enumeration finished (the counts are exact), UNKNOWN when it was
    stopped (timeout, ``max_regions``): the counts are then lower bounds.
    """

    status: Status
    domain: Any
    activation_regions: int
    affine_maps: int
    linear_pieces: int | None
    bounds: list
    seconds: float
    lp_solves: int = 0
    z3_calls: int = 0
    exact_retries: int = 0
    reason: str = ""
    network: str = ""
    slice: dict | None = None
    regions: list | None = field(default=None, repr=False)  # kept regions (pieces=True), not in JSON

    def to_json(self) -> dict[str, Any]:
        return {
            "query": "regions",
            "status": self.status.value,
            "network": self.network,
            "domain": self.domain.to_json(),
            "slice": self.slice,
            "activation_regions": self.activation_regions,
            "affine_maps": self.affine_maps,
            "linear_pieces": self.linear_pieces,
            "bounds": self.bounds,
            "seconds": round(self.seconds, 6),
            "lp_solves": self.lp_solves,
            "z3_calls": self.z3_calls,
            "exact_retries": self.exact_retries,
            "reason": self.reason,
        }


def count_regions(net: Network, domain=None, *, pieces: bool = True, max_regions: int | None = None,
                  timeout: float | None = None, backend: str = "highs", progress: bool | None = None,
                  self_check: bool = True, check_bounds: bool = True) -> RegionsResult:
    """Count activation regions, distinct affine maps and linear pieces of ``net`` in ``domain``.

    Parameters
    ----------
    net : Network
    domain : Box or RealSpace, optional
    pieces : bool
        Also count linear pieces (keeps every region in memory; otherwise only the distinct maps).
    max_regions : int, optional
        Stop (status UNKNOWN, counts are lower bounds) once more regions than this are found.
    timeout : float, optional
    backend : {"highs", "z3"}
    progress : bool, optional
        Show a tqdm counter on stderr (``None``: only after 2 s on a terminal).
    check_bounds : bool
        Raise :class:`ToolkitBugError` if a complete count exceeds an applicable upper bound.

    References
    ----------
    Zaslavsky (1975); Cover (1965); Montufar et al. (NeurIPS 2014); Serra et al. (ICML 2018); Escobar
    et al. (arXiv:2209.14978) -- see :mod:`verify.bounds.regions`.

    >>> from verify.constructions import max_tree
    >>> from verify.domain import Box
    >>> r = count_regions(max_tree(3, "skip"), Box.cube(3, -1, 1))
    >>> (r.activation_regions, r.affine_maps, r.linear_pieces)
    (4, 3, 3)
    """
    from ..bounds.regions import applicable_bounds

    start = time.monotonic()
    enum = RegionEnumerator(net, domain, backend=backend, timeout=timeout, keep_constraints=pieces,
                            self_check=self_check)
    kept: list[Region] = []
    maps: set = set()
    count = 0
    bar = None
    show = progress
    stopped = ""
    try:
        for region in enum:
            count += 1
            maps.add(region.maps)
            if pieces:
                kept.append(region)
            if bar is None and (show or (show is None and sys.stderr.isatty() and time.monotonic() - start > 2.0)):
                from tqdm import tqdm

                bar = tqdm(desc="regions", unit=" regions", file=sys.stderr, initial=count)
            elif bar is not None:
                bar.update(1)
            if max_regions is not None and count > max_regions:
                stopped = f"stopped after more than --max-regions {max_regions} regions"
                break
    finally:
        if bar is not None:
            bar.close()
    complete = enum.complete and not stopped
    n_pieces = None
    reason = stopped or enum.reason
    if complete and pieces:
        n_pieces = linear_pieces(kept, enum, enum.deadline)
        if n_pieces is None:
            complete = False
            reason = f"timeout while counting linear pieces after {enum.deadline.elapsed():.1f} s"
    bounds = applicable_bounds(net, enum.domain, count if complete else None)
    if complete and check_bounds:
        for b in bounds:
            if b["kind"] == "upper" and b["applies"] and count > int(b["value"]):
                raise ToolkitBugError(
                    f"{count} activation regions exceed the {b['name']} upper bound {b['value']}: a bug in the toolkit"
                )
            if b["kind"] == "exact" and b["applies"] and count != int(b["value"]):
                raise ToolkitBugError(
                    f"{count} activation regions differ from the exact count {b['value']} ({b['name']}): a bug in the toolkit"
                )
    return RegionsResult(
        status=Status.PROVED if complete else Status.UNKNOWN,
        domain=enum.domain,
        activation_regions=count,
        affine_maps=len(maps),
        linear_pieces=n_pieces,
        bounds=bounds,
        seconds=time.monotonic() - start,
        lp_solves=enum.lp_solves,
        z3_calls=enum.z3_calls,
        exact_retries=enum.exact_retries,
        reason=reason,
        network=net.name,
        regions=kept if pieces and complete else None,
    )


# -- 2-D slices -------------------------------------------------------------------------------

def slice_network(net: Network, i: int, j: int, base) -> Network:
    """The network restricted to the plane through ``base`` spanned by inputs ``i`` and ``j``.

    The result has two inputs ``(s, t)`` = ``(x_i, x_j)``; every other input is fixed at ``base``.
    Its activation regions are the regions of ``net`` cut by the plane (SplineCam, Humayun et al.
    CVPR 2023), so they are counted by the same enumerator.
    """
    import networkx as nx

    d = net.n_inputs
    for k in (i, j):
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < d:
            raise DomainError(f"slice coordinate {k!r} is not an input index 0..{d - 1}")
    if i == j:
        raise DomainError("slice coordinates must be two different inputs")
    base = tuple(Fraction(v) for v in base)
    if len(base) != d:
        raise DomainError(f"base point has {len(base)} coordinates, the network has {d} inputs")
    g = nx.DiGraph()
    s_node, t_node = ("slice", 0), ("slice", 1)
    g.add_node(s_node, op=Op.INPUT, index=0)
    g.add_node(t_node, op=Op.INPUT, index=1)
    for n, attrs in net.graph.nodes(data=True):
        if attrs["op"] is Op.INPUT:
            k = attrs["index"]
            if k == i:
                g.add_node(n, op=Op.AFFINE, bias=Fraction(0))
                g.add_edge(s_node, n, weight=Fraction(1))
            elif k == j:
                g.add_node(n, op=Op.AFFINE, bias=Fraction(0))
                g.add_edge(t_node, n, weight=Fraction(1))
            else:
                g.add_node(n, op=Op.AFFINE, bias=base[k])
        else:
            g.add_node(n, **dict(attrs))
    for u, v, attrs in net.graph.edges(data=True):
        g.add_edge(u, v, **dict(attrs))
    return Network(g, [s_node, t_node], list(net.outputs), windows=None,
                   name=f"{net.name or 'network'} on the slice (x{i}, x{j})")
