"""Candidate maximisers: sampling, projected gradient ascent on the float network, a HiGHS MILP.

Everything here is float guidance. A candidate counts only through :meth:`Incumbent.offer`, which checks
feasibility and evaluates the network exactly, then polishes the point by an exact LP on its activation
region (on the region the network is affine, so its exact maximum there is an LP, solved by
:func:`verify.backends.exact_lp.solve_exact_lp`); the incumbent is therefore always attained at its
witness.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["float_forward", "float_grad", "Incumbent", "initial_points", "pgd"]


def float_forward(lv, X):
    """Float pre-activations per level and the output for points ``X`` (n, d) (guidance only)."""
    h = {0: X}
    pre = {}
    for k in range(1, lv.L + 2):
        z = np.repeat(lv.bias[k][1][None, :], len(X), axis=0)
        for m, blk in lv.W[k].items():
            z = z + h[m] @ blk.mid.T
        pre[k] = z
        if k <= lv.L:
            h[k] = np.maximum(z, 0.0)
    return pre


def float_grad(lv, X):
    """Output values and gradients (n,), (n, d) of the float network at ``X`` (a ReLU's derivative at 0 is 0)."""
    pre = float_forward(lv, X)
    n = len(X)
    coef = {m: np.zeros((n, lv.width[m])) for m in range(0, lv.L + 1)}
    for m, blk in lv.W[lv.L + 1].items():
        coef[m] = coef[m] + blk.mid[0][None, :]
    for k in range(lv.L, 0, -1):
        lam = coef[k] * (pre[k] > 0)
        for m, blk in lv.W[k].items():
            coef[m] = coef[m] + lam @ blk.mid
    return pre[lv.L + 1][:, 0], coef[0]


def project(prob, X, lo=None, hi=None):
    """A feasible float point near each row of ``X``: clip to the box, then into the cone if there is one."""
    lo = prob.root_lo if lo is None else lo
    hi = prob.root_hi if hi is None else hi
    X = np.clip(X, lo, hi)
    if prob.domspec[0] == "cone":
        _, i, others = prob.domspec
        o = [j for j in others if j != i]
        X[:, o] = np.minimum(X[:, o], X[:, [i]])
        X = np.clip(X, lo, hi)
    return X


# At most this many sampled coordinates (32 MB of floats): 2048 samples of a 10^5-input network took
# 1.6 GB per array and 7 GB with the projections, where 41 samples cost a few milliseconds.
SAMPLE_ENTRIES = 2 ** 22


def initial_points(prob, samples: int, rng) -> np.ndarray:
    """Box centre, box vertices (d <= 10), and uniform samples (at most :data:`SAMPLE_ENTRIES`
    coordinates), projected onto the input set."""
    lo, hi = prob.root_lo, prob.root_hi
    d = prob.d
    samples = min(samples, max(16, SAMPLE_ENTRIES // d))
    pts = [0.5 * (lo + hi)]
    if d <= 10:
        k = np.arange(2 ** d)[:, None]
        bits = (k >> np.arange(d)[None, :]) & 1
        pts.append(np.where(bits == 1, hi, lo))
    if samples:
        pts.append(lo + (hi - lo) * rng.random((samples, d)))
    X = np.vstack([np.atleast_2d(p) for p in pts])
    return project(prob, X)


def pgd(prob, X, steps: int = 40, lo=None, hi=None) -> np.ndarray:
    """Projected gradient ascent (normalised steps, shrinking) on the float network from each row of ``X``."""
    lo = prob.root_lo if lo is None else lo
    hi = prob.root_hi if hi is None else hi
    width = np.maximum(hi - lo, 1e-12)
    best_x = X.copy()
    best_v, _ = float_grad(prob.lv, X)
    for t in range(steps):
        v, g = float_grad(prob.lv, X)
        better = v > best_v
        best_v = np.where(better, v, best_v)
        best_x[better] = X[better]
        step = 0.2 * (1 - t / steps) + 0.01
        X = project(prob, X + step * width * np.sign(g), lo, hi)
    v, _ = float_grad(prob.lv, X)
    better = v > best_v
    best_x[better] = X[better]
    return best_x


def _exact_point(prob, row) -> tuple:
    """Exact rational point from a float row, clamped into the exact box."""
    return tuple(min(max(Fraction(float(v)), a), b) for v, a, b in zip(row, prob.box.lo, prob.box.hi))


# Polishing is an exact LP in Fractions over the region's rows (constraints, ReLUs and the box) times
# the inputs: for a 3000-input network against max over its inputs it took over 10 s per polish (a
# 3000 x 3000 vertex system), longer than the whole budget of a short query. Above this many entries
# the incumbent is the point itself (an MNIST-sized 784-input layer is still polished).
POLISH_MAX_ENTRIES = 1_000_000


class Incumbent:
    """The best exactly evaluated feasible point so far (``value`` is attained at ``x``)."""

    def __init__(self, prob, floor=None, deadline=None):
        self.prob = prob
        self.value: Fraction | None = None
        self.x = None
        self.floor = floor
        self.deadline = deadline
        self._polished: set = set()
        self.stats = {"exact_evals": 0, "polish_lps": 0, "improvements": 0}

    def threshold(self) -> Fraction | None:
        """Nodes whose exact bound is ``<=`` this are closed."""
        vals = [v for v in (self.value, self.floor) if v is not None]
        return max(vals) if vals else None

    def offer_float(self, X, polish: bool = True, limit: int = 4) -> bool:
        """Offer float points (rows of ``X``): the best few above the incumbent are evaluated exactly."""
        if len(X) == 0:
            return False
        vals, _ = float_grad(self.prob.lv, X)
        thr = self.threshold()
        # floats only choose which points deserve an exact evaluation: clearly better ones
        tf = -np.inf if thr is None else float(thr) + 1e-12 * (1 + abs(float(thr)))
        order = np.argsort(-vals)
        changed = False
        tried = 0
        for k in order:
            if vals[k] <= tf or tried >= limit or (tried and self.deadline is not None and self.deadline.expired()):
                break
            tried += 1
            changed |= self.offer(_exact_point(self.prob, X[k]), polish=polish)
        return changed

    def offer(self, x, polish: bool = True) -> bool:
        """Evaluate ``x`` exactly; keep it (and its polished region optimum) if it beats the incumbent."""
        prob = self.prob
        if x is None or not prob.feasible(x):
            return False
        self.stats["exact_evals"] += 1
        v = prob.value(x)
        improved = False
        if self.value is None or v > self.value:
            self.value, self.x = v, tuple(x)
            self.stats["improvements"] += 1
            improved = True
        if polish and improved:
            self.polish(x)
        return improved

    def polish(self, x):
        """Exact LP over the closed activation region of ``x`` (box and constraints included)."""
        from ..backends.exact_lp import LPStatus

        prob = self.prob
        if self.deadline is not None and self.deadline.expired():
            return
        if (len(prob.constraints) + sum(prob.lv.sizes) + prob.d) * prob.d > POLISH_MAX_ENTRIES:
            return  # the dense exact LP would cost more than the search it guides (see the constant)
        pat = prob.pattern_at(x)
        key = pat.tobytes()
        if key in self._polished:
            return
        self._polished.add(key)
        self.stats["polish_lps"] += 1
        res, a, c_out, *_ = prob.region_lp(prob.box.lo, prob.box.hi, pat, pat, all_rows=True, deadline=self.deadline)
        if res.status is LPStatus.OPTIMAL and prob.feasible(res.x):
            v = prob.value(res.x)
            if v > self.value:
                self.value, self.x = v, tuple(res.x)
                self.stats["improvements"] += 1


def milp_point(prob, time_limit: float):
    """A float maximiser from HiGHS's big-M MILP (exact interval big-M constants); ``None`` if none."""
    from ..backends.bounds import propagate_intervals
    from ..backends.milp_encoding import milp_candidate

    bounds = propagate_intervals(prob.net, prob.box)
    x = milp_candidate(prob.net, prob.box, prob.constraints, bounds, time_limit=time_limit)
    return x
