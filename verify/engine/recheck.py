"""Independent exact re-check of a closed branch-and-bound tree, in plain Fractions (slow is fine).

The engine (:mod:`verify.engine.search`) can record every node it bounded: its region (a dyadic box, the
ReLU splits, the query's input constraints), the pre-activation bounds it used, the relaxation parameters
that produced them, and how it was closed. :func:`recheck_tree` re-derives all of it from the network's IR
with its own exact code (nothing of :mod:`verify.backends.linear_bounds` is used):

1. the recorded nodes form a binary tree whose root is the query's box and whose children split their
   parent into two halves covering it (an input coordinate at a point, or a ReLU at 0);
2. at every node each recorded bound ``l <= z_j <= u`` is justified: it is implied by the parent's
   (checked) bounds, by the node's own split, or by the exact CROWN value of that objective recomputed
   here from the recorded parameters and the node's lower-level bounds (:func:`exact_bound`);
3. every leaf is closed exactly: its exact CROWN bound of the output is ``<= target``, or it is empty (a
   bound ``l > u``, or an empty cone), or it is fully stable and its exact LP certificate (a vertex and
   non-negative multipliers of its tight constraints) is re-checked here in Fractions, with value
   ``<= target``.

Then every point of the box satisfies ``network(x) <= target``.

:func:`exact_bound` is also the independent reference the tests compare the rigorous float bounds with.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..ir.graph import Network
from ..errors import ToolkitBugError
from ..ir.ops import Op
from ..ir.walk import Handlers, walk

__all__ = ["ExactLevels", "exact_bound", "recheck_tree", "RecheckError"]


class RecheckError(Exception):
    """The recorded tree does not prove the claim (the message says which node and why)."""


def _F(v) -> Fraction:
    return v if isinstance(v, Fraction) else Fraction(v)


# Exact affine forms over the inputs ``('x', i)`` and the ReLU outputs ``('h', g)`` (``ctx``: ReLU node ->
# global index g). Written here, not borrowed, so that the re-check shares no code with the engine.
def _form_input(index, net, n, vals):
    return {("x", net.graph.nodes[n]["index"]): Fraction(1)}, Fraction(0)


def _form_relu(index, net, n, vals):
    return {("h", index[n]): Fraction(1)}, Fraction(0)


def _form_affine(index, net, n, vals):
    coef: dict = {}
    const = net.bias(n)
    for p, w in net.affine_terms(n):
        pc, pk = vals[p]
        const += w * pk
        for s, c in pc.items():
            coef[s] = coef.get(s, Fraction(0)) + w * c
    return {s: c for s, c in coef.items() if c != 0}, const


def _form_output(index, net, n, vals):
    return vals[net.single_pred(n)]


def _form_max(index, net, n, vals):
    raise ToolkitBugError("recheck: max nodes must be lowered before the tree is re-checked")


EXACT_FORMS = Handlers("recheck.exact_forms", {Op.INPUT: _form_input, Op.RELU: _form_relu, Op.AFFINE: _form_affine,
                                               Op.MAX: _form_max, Op.OUTPUT: _form_output})


class ExactLevels:
    """The network's ReLUs in the engine's global order (by level, then topological position), each
    pre-activation and the output as exact affine maps over ``('x', i)`` and ``('h', g)``."""

    def __init__(self, net: Network):
        if net.max_nodes or net.n_outputs != 1:
            raise ValueError("recheck needs a ReLU-only network with one output")
        level = net.relu_level
        topo = {n: k for k, n in enumerate(net.order)}
        relus = sorted(net.relu_nodes, key=lambda r: (level[r], topo[r]))
        index = {r: g for g, r in enumerate(relus)}
        expr = walk(net, EXACT_FORMS, index)
        self.d = net.n_inputs
        self.N = len(relus)
        self.level = [level[r] for r in relus]
        self.L = max(self.level, default=0)
        self.pre = [expr[net.single_pred(r)] for r in relus]
        self.out = expr[net.outputs[0]]

    def objective(self, K: int, j: int, sign: int):
        """The affine map of objective ``sign * z_{K, j}`` (``K = L + 1``: the output)."""
        if K == self.L + 1:
            coef, const = self.out
        else:
            g = [k for k in range(self.N) if self.level[k] == K][j]
            coef, const = self.pre[g]
        return {s: sign * c for s, c in coef.items()}, sign * const


def _support_exact(a: list, lo: list, hi: list, domain) -> Fraction | None:
    """``max a . x`` over the box ``[lo, hi]`` (cut by the domain's cone); ``None`` if empty."""
    kind = domain[0]
    if kind in ("box", "lagrange"):
        return sum((max(ai * l, ai * h) for ai, l, h in zip(a, lo, hi)), Fraction(0))
    _, i, others = domain
    S = [j for j in others if j != i]
    free = [k for k in range(len(a)) if k != i and k not in S]
    t0 = max([lo[i]] + [lo[j] for j in S])
    if t0 > hi[i]:
        return None
    base = sum((max(a[k] * lo[k], a[k] * hi[k]) for k in free), Fraction(0))

    def f(t):
        return a[i] * t + sum(((a[j] * min(hi[j], t)) if a[j] > 0 else a[j] * lo[j] for j in S), Fraction(0))

    cands = [t0, hi[i]] + [min(max(hi[j], t0), hi[i]) for j in S]
    return base + max(f(t) for t in cands)


def exact_bound(lv: ExactLevels, K: int, j: int, sign: int, lo: Sequence, hi: Sequence, L: Sequence,
                U: Sequence, split: Sequence, alpha: Sequence, beta: Sequence, domain=("box",),
                gamma: Sequence | None = None, theta=None) -> Fraction | None:
    """The exact CROWN value of objective ``sign * z_{K,j}`` on a node (the rule of
    :mod:`verify.backends.linear_bounds`), in Fractions; ``None`` when the node's input set is empty.

    ``L``, ``U`` (length N, already intersected with ``split``), ``alpha``, ``beta`` (indexed by global ReLU
    index; only the levels below ``K`` are read), ``lo``, ``hi`` (the node's box) are exact numbers (floats
    are read exactly). ``domain``: ``("box",)``, ``("cone", i, others)`` or ``("lagrange", rows, b)`` with
    ``gamma``. ``theta`` (one row of ``d`` slopes per level-1 ReLU, or None): an unstable level-1 ReLU with
    ``mu >= 0`` is bounded by its cut ``h <= (theta w) . x + max(max_X (-theta w) . x, b + max_X ((1 - theta) w) . x)``
    over the node's input set ``X`` instead of the chord.
    """
    coef, const = lv.objective(K, j, sign)
    lo_f = [_F(v) for v in lo]
    hi_f = [_F(v) for v in hi]
    cut_dom = ("box",)  # cuts use the node's box (a superset of its input set)
    first = [g for g in range(lv.N) if lv.level[g] == 1]
    coef = dict(coef)
    for g in range(lv.N - 1, -1, -1):
        if lv.level[g] >= K:
            continue
        mu = coef.pop(("h", g), Fraction(0))
        l, u, sp = _F(L[g]), _F(U[g]), int(split[g])
        sb = sp * _F(beta[g])
        if u <= 0:
            lam = sb
        elif l >= 0:
            lam = mu + sb
        elif mu >= 0 and theta is not None and lv.level[g] == 1:
            th = [_F(v) for v in theta[first.index(g)]]
            pc, pk = lv.pre[g]
            w = [pc.get(("x", i), Fraction(0)) for i in range(lv.d)]
            cA = _support_exact([-t * wi for t, wi in zip(th, w)], lo_f, hi_f, cut_dom)
            cC = _support_exact([(1 - t) * wi for t, wi in zip(th, w)], lo_f, hi_f, cut_dom)
            if cA is None:
                return None
            c = max(cA, pk + cC)
            const += mu * c
            for i in range(lv.d):
                if th[i] * w[i]:
                    coef[("x", i)] = coef.get(("x", i), Fraction(0)) + mu * th[i] * w[i]
            continue
        elif mu >= 0:
            s = u / (u - l)
            lam = mu * s
            const += lam * (-l)
        else:
            lam = mu * _F(alpha[g])
        if lam == 0:
            continue
        pc, pk = lv.pre[g]
        const += lam * pk
        for src, c in pc.items():
            coef[src] = coef.get(src, Fraction(0)) + lam * c
    a = [coef.get(("x", i), Fraction(0)) for i in range(lv.d)]
    lo, hi = lo_f, hi_f
    if domain[0] == "lagrange":
        _, rows, b = domain
        for k, gk in enumerate(() if gamma is None else list(gamma)):
            gk = _F(gk)
            if gk == 0:
                continue
            const += gk * _F(b[k])
            for i, v in rows[k].items():
                a[int(i)] -= gk * _F(v)
    sup = _support_exact(a, lo, hi, domain)
    if sup is None:
        return None
    return sup + const


# -- the tree ---------------------------------------------------------------------------------------------
@dataclass
class _Checked:
    L: list
    U: list


def recheck_tree(net: Network, record, target: Fraction) -> dict:
    """Check that the recorded tree proves ``net(x) <= target`` on the recorded root region.

    ``record`` is :class:`verify.engine.search.TreeRecord` (the engine's ``record_tree=True``). Returns
    statistics; raises :class:`RecheckError` naming the first node that fails.
    """
    from ..backends.exact_lp import check_certificate

    lv = ExactLevels(net)
    nodes = record.nodes
    root = record.root
    domain = record.domain
    target = Fraction(target)
    checked: dict = {}
    children: dict = {}
    for nid, rec in nodes.items():
        if rec["parent"] is not None:
            children.setdefault(rec["parent"], []).append(nid)
    stats = {"nodes": 0, "leaves": 0, "crown_leaves": 0, "lp_leaves": 0, "empty_leaves": 0}
    order = sorted(nodes)
    if root not in nodes:
        raise RecheckError("the record has no root node")
    for nid in order:
        rec = nodes[nid]
        stats["nodes"] += 1
        lo = [Fraction(v) for v in rec["lo"]]
        hi = [Fraction(v) for v in rec["hi"]]
        split = list(rec["split"])
        if nid == root:
            if rec["parent"] is not None:
                raise RecheckError("the root has a parent")
            # The root box must contain the query's box (so covering it covers the query).
            if any(a > Fraction(b) for a, b in zip(lo, record.box_lo)) or any(a < Fraction(b) for a, b in zip(hi, record.box_hi)):
                raise RecheckError("the root box does not contain the query box")
            if any(split):
                raise RecheckError("the root has splits")
            parent = None
        else:
            parent = checked.get(rec["parent"])
            if parent is None:
                raise RecheckError(f"node {nid}: its parent {rec['parent']} was not checked first")
            _check_child(nid, rec, nodes[rec["parent"]], lo, hi, split, domain)
        Lc = [Fraction(v) for v in rec["L"]]
        Uc = [Fraction(v) for v in rec["U"]]
        # 2. every bound is justified, level by level.
        for K in range(1, lv.L + 1):
            own = rec["bounds"].get(K, {})
            for g in range(lv.N):
                if lv.level[g] != K:
                    continue
                jloc = sum(1 for t in range(g) if lv.level[t] == K)
                for side, val in (("u", Uc[g]), ("l", Lc[g])):
                    if _justified(side, val, g, split, parent):
                        continue
                    params = own.get((jloc, side))
                    if params is None:
                        raise RecheckError(f"node {nid}: bound {side} of ReLU {g} is not justified")
                    sign = 1 if side == "u" else -1
                    e = exact_bound(lv, K, jloc, sign, lo, hi, Lc, Uc, split, params["alpha"], params["beta"],
                                    domain, params.get("gamma"), params.get("theta"))
                    if e is None:
                        if rec["close"] and rec["close"][0] == "empty":
                            continue
                        raise RecheckError(f"node {nid}: empty input set but not closed as empty")
                    if (side == "u" and e > val) or (side == "l" and -e < val):
                        raise RecheckError(f"node {nid}: recorded bound {side}={val} of ReLU {g} is not implied "
                                           f"(exact CROWN gives {e if side == 'u' else -e})")
        checked[nid] = _Checked(Lc, Uc)
        kids = children.get(nid, [])
        close = rec["close"]
        if kids:
            if close is not None:
                raise RecheckError(f"node {nid}: closed but has children")
            if len(kids) != 2:
                raise RecheckError(f"node {nid}: {len(kids)} children (need 2)")
            continue
        if close is None:
            raise RecheckError(f"node {nid}: an open leaf")
        stats["leaves"] += 1
        kind = close[0]
        if kind == "empty":
            if not (any(l > u for l, u in zip(Lc, Uc)) or _support_exact([Fraction(0)] * lv.d, lo, hi, domain) is None
                    or any(a > b for a, b in zip(lo, hi))):
                raise RecheckError(f"node {nid}: closed as empty, but no bound shows it")
            stats["empty_leaves"] += 1
        elif kind == "crown":
            p = close[1]
            e = exact_bound(lv, lv.L + 1, 0, 1, lo, hi, Lc, Uc, split, p["alpha"], p["beta"], domain, p.get("gamma"),
                            p.get("theta"))
            if e is not None and e > target:
                raise RecheckError(f"node {nid}: exact output bound {e} > target {target}")
            stats["crown_leaves"] += 1
        elif kind == "parent":
            prec = nodes[rec["parent"]]
            p = prec.get("out")
            if p is None:
                raise RecheckError(f"node {nid}: closed by its parent's bound, but the parent has none")
            plo = [Fraction(v) for v in prec["lo"]]
            phi = [Fraction(v) for v in prec["hi"]]
            pc = checked[rec["parent"]]
            e = exact_bound(lv, lv.L + 1, 0, 1, plo, phi, pc.L, pc.U, list(prec["split"]), p["alpha"], p["beta"],
                            domain, p.get("gamma"), p.get("theta"))
            if e is not None and e > target:
                raise RecheckError(f"node {nid}: parent's exact output bound {e} > target {target}")
            stats["crown_leaves"] += 1
        elif kind == "lp":
            _check_lp_leaf(nid, lv, rec, close[1], lo, hi, Lc, Uc, split, record, target, check_certificate)
            stats["lp_leaves"] += 1
        else:
            raise RecheckError(f"node {nid}: unknown closure {kind!r}")
    return stats


def _justified(side, val, g, split, parent) -> bool:
    if side == "l" and split[g] == 1 and val <= 0:
        return True
    if side == "u" and split[g] == -1 and val >= 0:
        return True
    if parent is not None:
        if side == "u" and val >= parent.U[g]:
            return True
        if side == "l" and val <= parent.L[g]:
            return True
    return False


def tighten(lo, hi, domain):
    """The box of a node shrunk by its argmax cone ``x_j <= x_i`` without changing box cap cone:
    ``x_j <= hi_i`` and ``x_i >= lo_j``."""
    lo, hi = list(lo), list(hi)
    if domain[0] == "cone":
        _, i, others = domain
        S = [j for j in others if j != i]
        for j in S:
            hi[j] = min(hi[j], hi[i])
        lo[i] = max([lo[i]] + [lo[j] for j in S])
    return lo, hi


def _check_child(nid, rec, prec, lo, hi, split, domain=("box",)):
    plo = [Fraction(v) for v in prec["lo"]]
    phi = [Fraction(v) for v in prec["hi"]]
    how = rec["how"]
    if how[0] == "input":
        _, i, point, side = how
        point = Fraction(point)
        want_lo, want_hi = list(plo), list(phi)
        if side == 0:
            want_hi[i] = point
        else:
            want_lo[i] = point
        want_lo, want_hi = tighten(want_lo, want_hi, domain)
        if lo != want_lo or hi != want_hi or list(split) != list(prec["split"]):
            raise RecheckError(f"node {nid}: not the recorded half of its parent")
    elif how[0] == "relu":
        _, g, side = how
        want = list(prec["split"])
        if want[g] != 0:
            raise RecheckError(f"node {nid}: splits ReLU {g} twice")
        want[g] = 1 if side == 1 else -1
        if list(split) != want or lo != plo or hi != phi:
            raise RecheckError(f"node {nid}: not the recorded ReLU half of its parent")
    else:
        raise RecheckError(f"node {nid}: unknown split {how!r}")


def _farkas(A, b, lo, hi, y) -> bool:
    """``y >= 0`` and ``min over the box of (y A) . x > y . b``: then ``A x <= b`` has no point in the box."""
    if len(y) != len(A) or any(v < 0 for v in y):
        return False
    c = [sum((yk * row[i] for yk, row in zip(y, A)), Fraction(0)) for i in range(len(lo))]
    rhs = sum((yk * bk for yk, bk in zip(y, b)), Fraction(0))
    return sum((min(ci * l, ci * h) for ci, l, h in zip(c, lo, hi)), Fraction(0)) > rhs


def _check_lp_leaf(nid, lv, rec, cert, lo, hi, Lc, Uc, split, record, target, check_certificate):
    """A fully stable leaf: the network is affine on it; re-derive that map and the LP's constraints
    in Fractions and check the recorded optimality certificate."""
    pattern = []
    for g in range(lv.N):
        if Uc[g] <= 0:
            pattern.append(0)
        elif Lc[g] >= 0:
            pattern.append(1)
        else:
            raise RecheckError(f"node {nid}: closed by an LP but ReLU {g} is unstable")
    # Affine map of every pre-activation under the pattern, over x.
    d = lv.d
    hx: list = []  # affine maps of h_g: (coef list, const)
    zmaps = []
    for g in range(lv.N):
        coef, const = lv.pre[g]
        row = [Fraction(0)] * d
        c0 = const
        for src, c in coef.items():
            if src[0] == "x":
                row[src[1]] += c
            else:
                hrow, hc = hx[src[1]]
                c0 += c * hc
                for i in range(d):
                    row[i] += c * hrow[i]
        zmaps.append((row, c0))
        hx.append((row, c0) if pattern[g] else ([Fraction(0)] * d, Fraction(0)))
    coef, const = lv.out
    obj = [Fraction(0)] * d
    c_out = const
    for src, c in coef.items():
        if src[0] == "x":
            obj[src[1]] += c
        else:
            hrow, hc = hx[src[1]]
            c_out += c * hc
            for i in range(d):
                obj[i] += c * hrow[i]
    A, b = [], []
    for g in range(lv.N):
        if split[g]:
            row, c0 = zmaps[g]
            if split[g] == 1:  # z >= 0  <=>  -row . x <= c0
                A.append([-v for v in row])
                b.append(c0)
            else:
                A.append(list(row))
                b.append(-c0)
    dom = record.domain
    if dom[0] == "cone":
        _, i, others = dom
        for j in others:
            if j != i:
                r = [Fraction(0)] * d
                r[j], r[i] = Fraction(1), Fraction(-1)
                A.append(r)
                b.append(Fraction(0))
    elif dom[0] == "lagrange":
        _, rows, bb = dom
        for r, v in zip(rows, bb):
            A.append([Fraction(r.get(i, 0)) for i in range(d)])
            b.append(Fraction(v))
    blo = [max(a, Fraction(v)) for a, v in zip(lo, record.box_lo)]
    bhi = [min(a, Fraction(v)) for a, v in zip(hi, record.box_hi)]
    if cert[0] == "empty":
        if any(l > h for l, h in zip(blo, bhi)):
            return
        y = cert[1] if len(cert) > 1 else None
        if y is not None:
            if not _farkas(A, b, blo, bhi, [Fraction(v) for v in y]):
                raise RecheckError(f"node {nid}: the recorded infeasibility certificate does not check")
            return
        from ..backends.exact_lp import LPStatus, solve_exact_lp

        r = solve_exact_lp([Fraction(0)] * d, A=A, b=b, lo=blo, hi=bhi)
        if r.status is not LPStatus.INFEASIBLE:
            raise RecheckError(f"node {nid}: recorded as an empty LP leaf, but the LP is {r.status}")
        return
    if cert[0] == "dual":
        y = [Fraction(v) for v in cert[1]]
        if len(y) != len(A) or any(v < 0 for v in y):
            raise RecheckError(f"node {nid}: malformed dual certificate")
        c = list(obj)
        rhs = Fraction(0)
        for yk, row, bk in zip(y, A, b):
            rhs += yk * bk
            for i in range(d):
                c[i] -= yk * row[i]
        bound = rhs + sum((max(ci * l, ci * h) for ci, l, h in zip(c, blo, bhi)), Fraction(0)) + c_out
        if bound > target:
            raise RecheckError(f"node {nid}: dual bound {bound} > target {target}")
        return
    from ..backends.exact_lp import constraint_list

    _, x, value, tight_cert = cert
    x = [Fraction(v) for v in x]
    cons = constraint_list(d, A, b, (), (), blo, bhi)
    if tight_cert is None:
        raise RecheckError(f"node {nid}: LP leaf without a certificate")
    if not check_certificate(obj, cons, x, tight_cert):
        raise RecheckError(f"node {nid}: the LP certificate does not check")
    val = sum((o * v for o, v in zip(obj, x)), Fraction(0)) + c_out
    if val != Fraction(value) or val > target:
        raise RecheckError(f"node {nid}: LP value {val} (recorded {value}) vs target {target}")
