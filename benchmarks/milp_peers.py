"""Float MILP peers for the worst-case error of a layered ReLU network against max on a box.

Both peers solve ``sup (N - max)`` and ``sup (max - N)`` over the box as big-M MILPs (Tjeng, Xiao and
Tedrake, ICLR 2019) with the big-M constants taken from float interval bounds, as PEERS.md describes:

* ``h = relu(z)``, ``l < 0 < u``: ``h >= z``, ``h >= 0``, ``h <= z - l (1 - d)``, ``h <= u d``, ``d`` binary;
* ``sup (N - max)``: maximise ``N - t`` with ``t >= x_i`` (no binaries needed for the max);
* ``sup (max - N)``: maximise ``t - N`` with ``t <= x_i + (hi_i - lo_min)(1 - s_i)``, ``sum s_i = 1``.

The answers are floats (the solvers' own tolerances); nothing here is exact. Used by
``benchmarks/engine_bench.py``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["layered_float", "gurobi_worst_case", "highs_worst_case"]


def layered_float(net):
    """``[(W, b), ...]`` float64 matrices of a layered network (last layer linear, one output)."""
    from verify.ir.layers import to_layers

    layers = to_layers(net)
    if layers is None:
        raise ValueError("the MILP peers need a layered network")
    return [(np.array([[float(w) for w in row] for row in L.weights]), np.array([float(v) for v in L.bias]))
            for L in layers]


def _interval_bounds(mats, lo, hi):
    out = []
    l, u = np.asarray(lo, float), np.asarray(hi, float)
    for k, (W, b) in enumerate(mats):
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        zl = Wp @ l + Wn @ u + b
        zu = Wp @ u + Wn @ l + b
        out.append((zl, zu))
        if k < len(mats) - 1:
            l, u = np.maximum(zl, 0), np.maximum(zu, 0)
    return out


def gurobi_worst_case(net, lo, hi, *, threads=2, time_limit=None):
    """``(sup (N - max), sup (max - N), seconds each)`` by Gurobi; raises ImportError without gurobipy."""
    import time

    import gurobipy as gp
    from gurobipy import GRB

    mats = layered_float(net)
    bnds = _interval_bounds(mats, lo, hi)
    d = len(lo)
    res, secs = [], []
    for side in ("over", "under"):
        t0 = time.monotonic()
        env = gp.Env(empty=True)
        env.setParam("OutputFlag", 0)
        env.start()
        m = gp.Model(env=env)
        m.Params.Threads = threads
        if time_limit is not None:
            m.Params.TimeLimit = time_limit
        x = m.addMVar(d, lb=np.asarray(lo, float), ub=np.asarray(hi, float))
        prev = x
        for k, (W, b) in enumerate(mats[:-1]):
            zl, zu = bnds[k]
            n = len(b)
            h = m.addMVar(n, lb=0.0, ub=np.maximum(zu, 0))
            z = W @ prev + b
            for j in range(n):
                if zl[j] >= 0:
                    m.addConstr(h[j] == z[j])
                elif zu[j] <= 0:
                    m.addConstr(h[j] == 0)
                else:
                    dj = m.addVar(vtype=GRB.BINARY)
                    m.addConstr(h[j] >= z[j])
                    m.addConstr(h[j] <= z[j] - zl[j] * (1 - dj))
                    m.addConstr(h[j] <= zu[j] * dj)
            prev = h
        W, b = mats[-1]
        y = (W @ prev + b)[0]
        t = m.addVar(lb=-GRB.INFINITY)
        if side == "over":
            for i in range(d):
                m.addConstr(t >= x[i])
            m.setObjective(y - t, GRB.MAXIMIZE)
        else:
            s = m.addMVar(d, vtype=GRB.BINARY)
            big = float(max(hi) - min(lo))
            for i in range(d):
                m.addConstr(t <= x[i] + big * (1 - s[i]))
            m.addConstr(s.sum() == 1)
            m.setObjective(t - y, GRB.MAXIMIZE)
        m.optimize()
        ok = m.Status == GRB.OPTIMAL
        res.append(m.ObjVal if ok else None)
        secs.append(time.monotonic() - t0)
        m.dispose()
        env.dispose()
    return res[0], res[1], secs


def highs_worst_case(net, lo, hi, *, time_limit=None):
    """The same two MILPs solved by HiGHS (highspy); ``(over, under, seconds each)``."""
    import time

    import highspy

    mats = layered_float(net)
    bnds = _interval_bounds(mats, lo, hi)
    d = len(lo)
    res, secs = [], []
    for side in ("over", "under"):
        t0 = time.monotonic()
        from verify.backends.highs_session import _highspy, _quiet_highs

        h = _quiet_highs(_highspy())  # quiet: no banner on stdout
        if time_limit is not None:
            h.setOptionValue("time_limit", float(time_limit))
        inf = highspy.kHighsInf
        cols_lo, cols_hi, integ = list(map(float, lo)), list(map(float, hi)), [0] * d
        rows = []  # (dict col -> coef, lower, upper)
        prev = list(range(d))

        def new(lo_, hi_, i=0):
            cols_lo.append(lo_)
            cols_hi.append(hi_)
            integ.append(i)
            return len(cols_lo) - 1

        for k, (W, b) in enumerate(mats[:-1]):
            zl, zu = bnds[k]
            cur = []
            for j in range(len(b)):
                hj = new(0.0, max(zu[j], 0.0))
                zrow = {prev[c]: W[j, c] for c in range(W.shape[1]) if W[j, c] != 0}
                if zl[j] >= 0:
                    r = dict((c, -v) for c, v in zrow.items())
                    r[hj] = 1.0
                    rows.append((r, b[j], b[j]))
                elif zu[j] <= 0:
                    cols_hi[hj] = 0.0
                else:
                    dj = new(0.0, 1.0, 1)
                    r = dict((c, -v) for c, v in zrow.items())
                    r[hj] = 1.0
                    rows.append((r, b[j], inf))  # h - z >= b  (h >= W prev + b)
                    r2 = dict((c, -v) for c, v in zrow.items())
                    r2[hj] = 1.0
                    r2[dj] = -zl[j]
                    rows.append((r2, -inf, b[j] - zl[j]))  # h <= z - l (1 - d)
                    rows.append(({hj: 1.0, dj: -zu[j]}, -inf, 0.0))  # h <= u d
                cur.append(hj)
            prev = cur
        W, b = mats[-1]
        t = new(-inf, inf)
        cost = {prev[c]: W[0, c] for c in range(W.shape[1])}
        const = b[0]
        if side == "over":
            for i in range(d):
                rows.append(({t: 1.0, i: -1.0}, 0.0, inf))
            cost = {c: v for c, v in cost.items()}
            cost[t] = -1.0
        else:
            s = [new(0.0, 1.0, 1) for _ in range(d)]
            big = float(max(hi) - min(lo))
            for i in range(d):
                rows.append(({t: 1.0, i: -1.0, s[i]: big}, -inf, big))
            rows.append(({si: 1.0 for si in s}, 1.0, 1.0))
            cost = {c: -v for c, v in cost.items()}
            cost[t] = 1.0
            const = -const
        lp = highspy.HighsLp()
        n = len(cols_lo)
        lp.num_col_ = n
        lp.num_row_ = len(rows)
        cc = np.zeros(n)
        for c, v in cost.items():
            cc[c] += v
        lp.col_cost_ = cc
        lp.offset_ = float(const)
        lp.col_lower_ = np.array(cols_lo)
        lp.col_upper_ = np.array(cols_hi)
        lp.row_lower_ = np.array([r[1] for r in rows], dtype=float)
        lp.row_upper_ = np.array([r[2] for r in rows], dtype=float)
        starts, index, value = [0], [], []
        for r, _, _ in rows:
            for c, v in r.items():
                index.append(c)
                value.append(v)
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value)
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integ]
        h.passModel(lp)
        h.run()
        ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        res.append(h.getInfo().objective_function_value if ok else None)
        secs.append(time.monotonic() - t0)
    return res[0], res[1], secs
