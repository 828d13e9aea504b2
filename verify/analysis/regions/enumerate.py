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
node (the :class:`~verify.backends.patterns.AffinePlan` of :mod:`verify.backends.patterns`, whose tie
rule applies: a pre-activation identically 0 on a region counts as inactive), so degenerate neurons
(the gadgets' cancellations) are recognised exactly. A region is reported only when a rational
interior point with every margin strictly positive has been checked in integer arithmetic; if the float
LP's point fails, the LP centre, rounded versions of it, and finally z3 (exact on linear real
arithmetic) are tried. A branch is dropped only with an exact Motzkin certificate of emptiness
(proposed by the LP's dual support, checked in integers) or a z3 ``unsat``; so the count is exact in both
directions (``certify=False`` trusts clearly negative LP margins instead; ``backend="z3"`` asks z3
everything).

References
----------
Serra, Tjandraatmadja, Ramalingam, "Bounding and counting linear regions of deep neural networks",
ICML 2018 (arXiv:1711.02114): linear regions as activation patterns, exact counting by MILP.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Iterator

import numpy as np

from ...backends.float_range import FLOAT_LIMIT, float_range_issue
from ...backends.patterns import Region, _zero_vec, affine_plan
from ...deadline import Deadline
from ...domain import Box, RealSpace
from ...errors import DomainError, FloatRangeError, ToolkitBugError, VerifyError
from ...ir.graph import Network
from ...ir.ops import Op
from ...ir.walk import Handlers
from .exact import motzkin_certificate, norm_key, z3_strict_point

__all__ = ["RegionEnumerator", "iter_regions", "Region", "GREY"]

# Relative size of the grey zone of LP margins decided exactly by z3.
GREY = 1e-9
_GREY = GREY


def _as_domain(domain, d: int):
    if domain is None:
        return RealSpace(d)
    if isinstance(domain, (Box, RealSpace)):
        if domain.dim != d:
            raise DomainError(f"domain has dimension {domain.dim}, the network has {d} inputs")
        return domain
    raise DomainError(f"unsupported domain {domain!r}")


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
        issue = float_range_issue(net, self.domain)
        if issue is not None:  # interior points are floats (checked exactly): they must be finite
            raise FloatRangeError(f"{issue.describe()}: beyond the float range region enumeration works in "
                                  f"(magnitudes up to 1e100)")
        self.backend = backend
        self.deadline = Deadline(timeout)
        self.keep_constraints = keep_constraints
        self.self_check = self_check
        self.certify = certify
        self.certificates = 0
        self.c = affine_plan(net)
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
        return z3_strict_point(self.c.d, rows, box, equal=equal, deadline=self.deadline)

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
            from ...backends.lp import ChebyshevLP

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
                if not BRANCH[c.ops[q]](self, q, V, point, rows, stack, grey):
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
                keys.extend(norm_key(r) for r in new_rows)
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
        key = norm_key(g)
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
                key = norm_key(diff)
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
            from ...backends.evaluator import evaluate

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
            k = norm_key(v)
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
        """Walk the plan with exact affine forms (integer vectors over x and 1).

        A ReLU whose form is constant or whose sign is fixed on the box is decided here; otherwise
        ``relu_rule(form, k)`` says whether the k-th choice is active. At a max node the distinct forms
        of its inputs (first occurrences, ``rep`` mapping every input to its representative) go to
        ``max_rule(forms, rep, k)``, which returns ``(choice, form)``. Either rule may return None to
        stop (the result is then None); otherwise the tuple of choices is returned.
        """
        return self.c.propagate(_BoxRules(self, relu_rule, max_rule))[0]


class _BoxRules:
    """Rules for :meth:`AffinePlan.propagate` that first decide ReLUs whose sign is fixed on the box."""

    def __init__(self, enum: "RegionEnumerator", relu_rule, max_rule):
        self.enum, self.relu_rule, self.max_rule = enum, relu_rule, max_rule

    def relu(self, k, g):
        st = self.enum._box_range_sign(g)
        if st != 0:
            return st == 1
        return self.relu_rule(g, k)

    def max(self, k, forms, rep):
        return self.max_rule(forms, rep, k)


# -- what the search does at each node: fill a form, or branch on a decision --------------------------
def _fill(enum, q, V, point, rows, stack, grey) -> bool:
    enum.c.fill(q, V)
    return True


def _relu(enum, q, V, point, rows, stack, grey) -> bool:
    c = enum.c
    p = c.rules[q]
    enum._branch_relu(q, V[p], c.den[p], point, rows, stack, grey)
    return False


def _max(enum, q, V, point, rows, stack, grey) -> bool:
    enum._branch_max(q, enum.c.rules[q], point, rows, stack, grey)
    return False


BRANCH = Handlers("regions.branch", {Op.INPUT: _fill, Op.AFFINE: _fill, Op.OUTPUT: _fill, Op.RELU: _relu,
                                     Op.MAX: _max})


def iter_regions(net: Network, domain=None, **kwargs) -> RegionEnumerator:
    """A streaming iterator over the full-dimensional activation regions (see :class:`RegionEnumerator`).

    >>> from verify.constructions import max_tree
    >>> from verify.domain import Box
    >>> sum(1 for _ in iter_regions(max_tree(2, "A"), Box.cube(2, -1, 1)))
    4
    """
    return RegionEnumerator(net, domain, **kwargs)
