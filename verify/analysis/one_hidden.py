"""Is a CPWL function computable with ONE hidden ReLU layer? A decision procedure for small d.

A one-hidden-layer network computes ``g(x) = c + <a, x> + sum_k w_k relu(<u_k, x> + b_k)``. After
merging units that share a hyperplane (``relu(-z) = relu(z) - z``), ``g`` is non-differentiable exactly
on the union of the hyperplanes ``H_k = {<u_k, x> + b_k = 0}`` with non-zero merged weight, each taken
WHOLE, and across ``H_k`` the gradient jumps by the same vector ``w_k u_k`` at every point of ``H_k``
that lies on no other ``H_j``. This is the characterisation used by Mukherjee & Basu (arXiv:1711.03073,
as cited by Hertrich et al., arXiv:2105.14835) to show that ``max(x1, x2, x3)`` needs two hidden layers:
its non-differentiability set is three half-planes meeting on the diagonal, not a union of planes.

Procedure for a network ``f`` with one output on all of R^d (:func:`one_hidden_layer`):

1. Enumerate the linear regions of ``f`` (activation patterns of ReLU and max nodes): breadth-first
   from a starting point, crossing every facet of every region found. A region is the closed
   polyhedron on which the pattern holds; there ``f`` is affine. Floats (HiGHS LPs, Chebyshev centres)
   only propose points; every point used is rational and its position (strictly inside a region,
   exactly on a facet) is confirmed in exact arithmetic by re-evaluating the network.
2. At one point ``p`` per facet, the exact jump ``J = grad f(+ side) - grad f(- side)`` across the
   facet's hyperplane ``H``. Facets are grouped by hyperplane (zero jumps included).
3. Decide:

   a. two facet points of the same ``H`` with different jumps -> NOT representable (certificate
      ``jump-mismatch``);
   b. otherwise the candidate ``g = affine + sum_H w_H relu(<n_H, x> + b_H)`` (with ``J_H = w_H n_H``
      and the affine part matched on one region) is built and z3 decides ``f == g`` on all of R^d
      (:func:`verify.analysis.check_equivalent`): PROVED -> representable, ``g`` is the witness;
   c. if not proved: a hyperplane ``H`` with a non-zero jump that passes through the interior of some
      region (a point of ``H`` where ``f`` is affine, so the facet does not extend to all of ``H``)
      -> NOT representable (certificate ``differentiable-point``). If no such point is found (only
      possible if step 1 missed a region) or z3 timed out, the answer is UNKNOWN.

Every verdict is exact: "representable" rests on z3's proof of ``f == g`` on R^d, "not representable"
on a certificate that :func:`check_certificate` re-checks from the network by exact evaluation alone.
The whole of R^d is handled directly (regions may be unbounded; nothing is reduced to a sphere or a
box), so biases are allowed.

Why the certificates are sound. Suppose ``f = g`` with ``g`` one-hidden-layer, merged as above.

* At a certified facet point ``p`` of ``H`` (``f`` affine on each closed half of a neighbourhood ``U``
  of ``p``), no merged hyperplane of ``g`` other than ``H`` can pass through ``p``: it would make ``g``
  non-differentiable at points of ``U`` off ``H``. So near ``p``, ``g = affine + w_H relu(h_H)`` and
  the jump at ``p`` is ``w_H n_H``, the same at every certified point of ``H``.
* If that jump is non-zero, ``H`` carries a non-zero merged weight, and then ``g`` is non-differentiable
  at EVERY point ``q`` of ``H``: along a line ``q + t v`` the kink of ``g`` at ``t = 0`` is
  ``sum_k w_k |<u_k, v>|`` over the hyperplanes through ``q``, a function of ``v`` that is itself
  non-differentiable on ``n_H^perp`` and so not identically zero. A point of ``H`` strictly inside a
  region of ``f`` (where ``f`` is affine) therefore contradicts ``f = g``.

References
----------
.. [1] A. Mukherjee, A. Basu. Lower bounds over Boolean inputs for deep neural networks with ReLU
   gates. arXiv:1711.03073 (2017), as cited by [2] for "one hidden layer cannot compute max of 3".
.. [2] C. Hertrich, A. Basu, M. Di Summa, M. Skutella. Towards lower bounds on the depth of ReLU
   neural networks. NeurIPS 2021; SIAM J. Discrete Math. 2023. arXiv:2105.14835.
.. [3] R. Arora, A. Basu, P. Mianjy, A. Mukherjee. Understanding deep neural networks with rectified
   linear units. ICLR 2018. arXiv:1611.01491 (ReLU networks compute exactly the CPWL functions).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from ..backends.patterns import Region, activation_pattern, pattern_region
from ..domain import RealSpace
from ..errors import FloatRangeError, ToolkitBugError, VerifyError
from ..progress import report
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from ..numbers import to_text
from ..deadline import Deadline
from ..status import Status

__all__ = ["OneHiddenResult", "CertificateCheck", "one_hidden_layer", "check_certificate", "max_network",
           "local_region", "MAX_DIMENSION"]

# The enumeration of regions grows quickly with d; the issue asks for d <= 6.
MAX_DIMENSION = 6

# Float LP radii below this are treated as "no interior" (guidance only: a missed region can only
# turn a verdict into UNKNOWN, never into a wrong verdict).
_LP_TOL = 1e-9
# Coordinates of LP points are kept inside this box (the Chebyshev radius is capped at 1).
_LP_BOX = 1e6


# --------------------------------------------------------------------------------------------------
# Exact local structure: the region of a point
# --------------------------------------------------------------------------------------------------
Form = tuple  # an affine form in x: (coefficients tuple of Fractions, constant Fraction)


def _dot(a, x) -> Fraction:
    return sum((ai * xi for ai, xi in zip(a, x)), Fraction(0))


def local_region(net: Network, x: Sequence[Fraction], cache: dict | None = None) -> Region | None:
    """The linear region of ``f`` around ``x``, or ``None`` if ``x`` is not strictly inside one.

    The activation pattern is read off at ``x`` exactly (:func:`verify.backends.patterns.activation_pattern`);
    the region is the closed polyhedron of that pattern with ``f``'s affine map on it
    (:func:`verify.backends.patterns.pattern_region`, cached per pattern in ``cache``). Its constraints
    are integer half-spaces ``a . x + c >= 0`` (constant ones left out: both phases give the same value).
    If one of them vanishes at ``x`` (a pre-activation, or a max node's tie), ``x`` lies on a region
    boundary and ``None`` is returned.
    """
    x = [Fraction(v) for v in x]
    pattern = activation_pattern(net, x)
    region = None if cache is None else cache.get(pattern.key)
    if region is None:
        region = pattern_region(net, pattern)
        if cache is not None:
            cache[pattern.key] = region
    if any(s <= 0 for s in region.slacks(x)):
        return None
    return region


# --------------------------------------------------------------------------------------------------
# Hyperplanes
# --------------------------------------------------------------------------------------------------
def canonical_hyperplane(a, c) -> tuple[tuple, Fraction, Fraction]:
    """``(n, b, lam)`` with ``<a, x> + c = lam (<n, x> + b)`` and the first non-zero entry of ``n`` equal to 1."""
    lead = next(v for v in a if v != 0)
    return tuple(v / lead for v in a), c / lead, lead


def _hyperplane_text(n, b) -> str:
    terms = []
    for i, v in enumerate(n):
        if v == 0:
            continue
        sign = "-" if v < 0 else "+"
        mag = "" if abs(v) == 1 else f"{to_text(abs(v))}*"
        terms.append(f"{sign} {mag}x{i + 1}")
    if b != 0:
        terms.append(f"{'-' if b < 0 else '+'} {to_text(abs(b))}")
    text = " ".join(terms)
    return (text[2:] if text.startswith("+ ") else "-" + text[2:]) + " = 0"


# --------------------------------------------------------------------------------------------------
# Float LPs (guidance) and exact rounding
# --------------------------------------------------------------------------------------------------
def _scaled_floats(a, c) -> tuple[np.ndarray, float]:
    """The row ``(a, c)`` of ``<a, x> + c >= 0`` (or ``= 0``) divided exactly by its largest ``|a_i|``, as
    floats: the same constraint, and its coefficients in [-1, 1] whatever their exact size (a weight of
    1e-400 made a coefficient of 1e400 here, beyond float range: soak seed 409700). A constant beyond
    +-1e300 is clamped there, which on the LP's box keeps the row always true or never true."""
    scale = max((abs(Fraction(v)) for v in a), default=Fraction(0)) or Fraction(1)
    af = np.array([float(Fraction(v) / scale) for v in a])
    cq = Fraction(c) / scale
    return af, float(max(min(cq, Fraction(10) ** 300), -Fraction(10) ** 300))


def _chebyshev(ineqs, eq=None, d: int = 0):
    """Float LP: a point with ``<a, x> + c >= t |a|`` for every inequality, on ``eq`` if given, max ``t <= 1``.

    Returns ``(x, t)`` as floats or ``None`` when the LP fails. Guidance only.
    """
    from ..backends.highs_session import LPStatus, solve_lp

    # Variables (x, t, s): s_i >= |x_i| carries a tiny cost so that, among the points of radius t,
    # one near the origin is preferred (small, readable certificates); t is capped at 1.
    m = len(ineqs)
    nv = 2 * d + 1
    A = np.zeros((m + 2 * d, nv))
    rhs = np.zeros(m + 2 * d)
    for k, (a, c) in enumerate(ineqs):
        af, cf = _scaled_floats(a, c)
        A[k, :d] = -af
        A[k, d] = np.linalg.norm(af)
        rhs[k] = cf
    for i in range(d):
        A[m + 2 * i, i], A[m + 2 * i, d + 1 + i] = 1.0, -1.0
        A[m + 2 * i + 1, i], A[m + 2 * i + 1, d + 1 + i] = -1.0, -1.0
    A_eq = b_eq = None
    if eq is not None:
        af, cf = _scaled_floats(*eq)
        A_eq = np.zeros((1, nv))
        A_eq[0, :d] = af
        b_eq = np.array([-cf])
    cost = np.zeros(nv)
    cost[d] = -1.0
    cost[d + 1:] = 1e-4
    bounds = [(-_LP_BOX, _LP_BOX)] * d + [(None, 1.0)] + [(0, None)] * d
    status, x = solve_lp(cost, A_ub=A, b_ub=rhs, A_eq=A_eq, b_eq=b_eq, bounds=bounds)
    if status is not LPStatus.OPTIMAL or x is None:
        return None
    return x[:d], float(x[d])


def _rationalise(xf, limits=(1, 12, 10**3, 10**6, 10**9, 10**12)):
    for lim in limits:
        yield [Fraction(float(v)).limit_denominator(lim) for v in xf]


def _project(p, n, b) -> list[Fraction]:
    """Exact orthogonal projection of ``p`` onto ``<n, x> + b = 0``."""
    s = (_dot(n, p) + b) / _dot(n, n)
    return [pi - s * ni for pi, ni in zip(p, n)]


# --------------------------------------------------------------------------------------------------
# Facet points and jumps (exact)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FacetPoint:
    """A point ``p`` of hyperplane ``(n, b)`` with ``f`` affine on each closed half of a neighbourhood.

    ``eps``: ``p +- eps n`` are strictly inside the regions ``plus`` / ``minus``, whose closures hold
    ``p`` with only ``H`` tight. ``jump = plus.gradient - minus.gradient`` (a multiple of ``n``).
    """

    n: tuple
    b: Fraction
    point: tuple
    eps: Fraction
    plus: Region
    minus: Region

    @property
    def jump(self) -> tuple:
        return tuple(u - v for u, v in zip(self.plus.gradient, self.minus.gradient))


def certify_facet_point(net: Network, n, b, p, eps, cache: dict | None = None) -> tuple[FacetPoint | None, str]:
    """Exactly check that ``p`` is a facet point of ``H = {<n,x> + b = 0}`` with step ``eps``.

    Checks, by exact evaluation of the network on affine forms: ``p`` on ``H``; ``p + eps n`` and
    ``p - eps n`` strictly inside regions; ``p`` in the closure of both; every constraint of either
    region that is tight at ``p`` is a multiple of ``<n, x> + b``. Returns the facet point or a reason.
    """
    p = tuple(Fraction(v) for v in p)
    eps = Fraction(eps)
    if eps <= 0:
        return None, "eps must be positive"
    if not any(n):
        return None, "hyperplane normal is zero"
    if _dot(n, p) + b != 0:
        return None, "point is not on the hyperplane"
    key = canonical_hyperplane(n, b)[:2]  # compare boundaries up to scaling of (n, b)
    sides = []
    for sign in (1, -1):
        q = [pi + sign * eps * ni for pi, ni in zip(p, n)]
        region = local_region(net, q, cache)
        if region is None:
            return None, f"p {'+' if sign > 0 else '-'} eps*n is not strictly inside a region"
        for a, c in region.forms():
            s = _dot(a, p) + c
            if s < 0:
                return None, "p is not in the closure of the region of p " + ("+" if sign > 0 else "-") + " eps*n"
            if s == 0:
                if canonical_hyperplane(a, c)[:2] != key:
                    return None, "another region boundary passes through p"
        sides.append(region)
    return FacetPoint(tuple(n), b, p, eps, sides[0], sides[1]), ""


def _find_facet_point(net: Network, region: Region, n, b, center, radius, rng, cache) -> FacetPoint | None:
    """A certified facet point of ``region`` on ``H``, starting at the facet's Chebyshev centre."""
    d = len(n)
    # The region's constraints that are not on H stay strictly positive within `radius` of `center`.
    for attempt in range(12):
        if attempt == 0:
            p = list(center)
        else:
            v = rng.standard_normal(d)
            nf = _scaled_floats(n, b)[0]  # a direction: its scale does not matter, its float range does
            v -= (v @ nf) / (nf @ nf) * nf
            v *= radius * 0.5 * rng.random() / max(np.linalg.norm(v), 1e-300)
            p = [c + Fraction(float(t)).limit_denominator(10**6) for c, t in zip(center, v)]
            p = _project(p, n, b)
        if not all(s > 0 for (a, c), s in zip(region.forms(), region.slacks(p))
                   if canonical_hyperplane(a, c)[:2] != (tuple(n), b)):
            continue
        eps = Fraction(1, 8)
        for _ in range(40):
            fp, _why = certify_facet_point(net, n, b, p, eps, cache)
            if fp is not None:
                return fp
            eps /= 4
    return None


# --------------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CertificateCheck:
    valid: bool
    reason: str
    jumps: list = field(default_factory=list)


def _cert_vec(v) -> list[str]:
    return [to_text(t) for t in v]


def _read_vec(v, d, what) -> tuple:
    from ..numbers import parse_rational

    if not isinstance(v, (list, tuple)) or len(v) != d:
        raise VerifyError(f"certificate: {what} must be a list of {d} numbers")
    try:
        return tuple(parse_rational(t) for t in v)
    except ValueError as exc:
        raise VerifyError(f"certificate: {what}: {exc}") from None


def check_certificate(net: Network, cert: dict) -> CertificateCheck:
    """Re-check a non-representability certificate from the network alone, in exact arithmetic.

    ``cert`` (numbers as exact text or Fractions) has ``type``, ``hyperplane`` ``{"n": [...], "b": ...}``
    and either

    * ``jump-mismatch``: ``points`` ``[p1, p2]`` and ``eps`` ``[e1, e2]``: both are facet points of
      ``H`` (see :func:`certify_facet_point`) and their jumps differ; or
    * ``differentiable-point``: ``facet_point`` ``p1`` with ``eps`` ``e1`` (a facet point of ``H`` with
      a non-zero jump) and ``smooth_point`` ``p2`` on ``H`` strictly inside one region of ``f``.

    Either one proves that ``f`` is not computed by any one-hidden-layer ReLU network (module docstring).
    """
    d = net.n_inputs
    try:
        kind = cert["type"]
        n = _read_vec(cert["hyperplane"]["n"], d, "hyperplane normal")
        (b,) = _read_vec([cert["hyperplane"]["b"]], 1, "hyperplane offset")
    except (KeyError, TypeError) as exc:
        raise VerifyError(f"certificate: missing or malformed field {exc}") from None
    if not any(n):
        return CertificateCheck(False, "hyperplane normal is zero")
    if kind == "jump-mismatch":
        pts, epss = cert.get("points"), cert.get("eps")
        if not isinstance(pts, list) or not isinstance(epss, list) or len(pts) != 2 or len(epss) != 2:
            raise VerifyError("certificate: jump-mismatch needs two points and two eps")
        jumps = []
        for k in range(2):
            p = _read_vec(pts[k], d, f"point {k + 1}")
            (e,) = _read_vec([epss[k]], 1, f"eps {k + 1}")
            fp, why = certify_facet_point(net, n, b, p, e)
            if fp is None:
                return CertificateCheck(False, f"point {k + 1}: {why}")
            jumps.append(fp.jump)
        if jumps[0] == jumps[1]:
            return CertificateCheck(False, "the two jumps are equal", jumps)
        return CertificateCheck(True, "two points of one breakpoint hyperplane with different gradient jumps", jumps)
    if kind == "differentiable-point":
        p1 = _read_vec(cert.get("facet_point"), d, "facet_point")
        (e1,) = _read_vec([cert.get("eps")], 1, "eps")
        p2 = _read_vec(cert.get("smooth_point"), d, "smooth_point")
        fp, why = certify_facet_point(net, n, b, p1, e1)
        if fp is None:
            return CertificateCheck(False, f"facet point: {why}")
        if not any(fp.jump):
            return CertificateCheck(False, "the gradient does not jump at the facet point", [fp.jump])
        if _dot(n, p2) + b != 0:
            return CertificateCheck(False, "smooth point is not on the hyperplane", [fp.jump])
        if local_region(net, p2) is None:
            return CertificateCheck(False, "smooth point is not strictly inside a linear region", [fp.jump])
        return CertificateCheck(True, "the breakpoint facet does not extend: f is affine around a point of "
                                      "its hyperplane", [fp.jump])
    return CertificateCheck(False, f"unknown certificate type {kind!r}")


def _certificate_json(cert: dict) -> dict:
    out: dict[str, Any] = {"type": cert["type"],
                           "hyperplane": {"n": _cert_vec(cert["hyperplane"]["n"]),
                                          "b": to_text(cert["hyperplane"]["b"])}}
    for k, v in cert.items():
        if k in ("type", "hyperplane"):
            continue
        if k in ("points", "jumps"):
            out[k] = [_cert_vec(p) for p in v]
        elif k == "eps" and isinstance(v, list):
            out[k] = [to_text(e) for e in v]
        elif isinstance(v, Fraction):
            out[k] = to_text(v)
        elif isinstance(v, (list, tuple)):
            out[k] = _cert_vec(v)
        else:
            out[k] = v
    return out


# --------------------------------------------------------------------------------------------------
# The decision procedure
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OneHiddenResult:
    """Outcome of "is ``f`` computed by a one-hidden-layer ReLU network on R^d?".

    ``status``: PROVED (representable; ``network`` is a one-hidden-layer network proved equal to ``f``
    on R^d by z3), REFUTED (not representable; ``certificate`` passes :func:`check_certificate`) or
    UNKNOWN (``reason``).
    """

    status: Status
    seconds: float
    n_regions: int = 0
    n_facet_points: int = 0
    hyperplanes: list = field(default_factory=list)  # [(n, b, jump weight w)] for the representable case
    certificate: dict | None = None
    network: Network | None = None
    proof_seconds: float = 0.0
    reason: str = ""

    @property
    def representable(self) -> bool | None:
        return {Status.PROVED: True, Status.REFUTED: False}.get(self.status)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": "one-hidden",
            "status": self.status.value,
            "representable": self.representable,
            "regions": self.n_regions,
            "facet_points": self.n_facet_points,
            "hyperplanes": [{"n": _cert_vec(n), "b": to_text(b), "weight": to_text(w),
                             "equation": _hyperplane_text(n, b)} for n, b, w in self.hyperplanes],
            "certificate": None if self.certificate is None else _certificate_json(self.certificate),
            "width": None if self.network is None else self.network.n_relus,
            "seconds": round(self.seconds, 6),
            "proof_seconds": round(self.proof_seconds, 6),
            "reason": self.reason,
        }


def _start_point(net: Network, rng) -> tuple | None:
    d = net.n_inputs
    for scale in (1, 3, 10, 100):
        for _ in range(50):
            x = [Fraction(int(v), 97) for v in rng.integers(-97 * scale, 97 * scale, size=d)]
            if local_region(net, x) is not None:
                return tuple(x)
    return None


def one_hidden_layer(net: Network, *, timeout: float | None = None, max_regions: int = 20000,
                     seed: int = 0, max_dimension: int = MAX_DIMENSION) -> OneHiddenResult:
    """Decide whether ``net`` (one output) is computed by some one-hidden-layer ReLU network on R^d.

    Parameters
    ----------
    net : Network
        Any IR network (ReLU and max nodes, biases allowed) with a single output and ``d <= max_dimension``.
    timeout : float, optional
        Wall-clock budget (region enumeration and the z3 proof); UNKNOWN when exceeded.
    max_regions : int
        Give up (UNKNOWN) after this many linear regions.

    Returns
    -------
    OneHiddenResult
        See the module docstring for the method and why each verdict is exact.

    References
    ----------
    Mukherjee & Basu, arXiv:1711.03073, as cited by Hertrich et al., arXiv:2105.14835: a one-hidden-layer
    function's non-differentiability set is a union of whole hyperplanes, with a constant jump on each.

    >>> one_hidden_layer(max_network(2)).status, one_hidden_layer(max_network(3)).status
    (<Status.PROVED: 'PROVED'>, <Status.REFUTED: 'REFUTED'>)
    """
    if net.n_outputs != 1:
        raise VerifyError(f"one-hidden: the network has {net.n_outputs} outputs, expected 1")
    d = net.n_inputs
    if d > max_dimension:
        raise VerifyError(f"one-hidden: input dimension {d} is above the supported limit {max_dimension}")
    from ..backends.float_range import float_range_issue

    issue = float_range_issue(net)  # the facets are found by float LPs (checked exactly): they must stay finite
    if issue is not None:
        raise FloatRangeError(f"{issue.describe()}, beyond the float range the facet search works in "
                              f"(magnitudes up to 1e100)")
    deadline = Deadline(timeout)
    rng = np.random.default_rng(seed)

    def unknown(reason, **kw):
        return OneHiddenResult(Status.UNKNOWN, deadline.elapsed(), reason=reason, **kw)

    start = _start_point(net, rng)
    if start is None:
        return unknown("no starting point strictly inside a linear region was found")
    cache: dict = {}
    first = local_region(net, start, cache)
    regions: dict = {first.key: (first, start)}
    queue = deque([first.key])
    facets: dict = {}  # (n, b) -> list of FacetPoint
    n_points = 0
    while queue:
        if deadline.expired():
            return unknown("timeout during region enumeration", n_regions=len(regions))
        region, _inside = regions[queue.popleft()]
        report(step=len(regions) - len(queue), note=f"{len(regions)} linear regions found")
        groups: dict = {}
        forms = region.forms()
        for a, c in forms:
            n, b, lam = canonical_hyperplane(a, c)
            groups.setdefault((n, b), lam)
        for (n, b), lam in groups.items():
            others = [(a, c) for a, c in forms if canonical_hyperplane(a, c)[:2] != (n, b)]
            sol = _chebyshev(others, eq=(n, b), d=d)
            if sol is None or sol[1] <= _LP_TOL:
                continue  # not a facet of this region (float guidance)
            center = None
            for cand in _rationalise(sol[0]):
                cand = _project(cand, n, b)
                if all(_dot(a, cand) + c > 0 for a, c in others):
                    center = cand
                    break
            if center is None:
                continue
            fp = _find_facet_point(net, region, n, b, center, sol[1], rng, cache)
            if fp is None:
                continue
            n_points += 1
            facets.setdefault((n, b), []).append(fp)
            for side, step in ((fp.plus, 1), (fp.minus, -1)):
                if side.key not in regions:
                    if len(regions) >= max_regions:
                        return unknown(f"more than {max_regions} linear regions", n_regions=len(regions))
                    q = tuple(pi + step * fp.eps * ni for pi, ni in zip(fp.point, n))
                    regions[side.key] = (side, q)
                    queue.append(side.key)
    stats = dict(n_regions=len(regions), n_facet_points=n_points)

    # (a) one hyperplane, two different jumps (a zero jump counts: the gradient does not break there).
    kinks: dict = {}
    for (n, b), pts in facets.items():
        jumps = {fp.jump for fp in pts}
        if len(jumps) > 1:
            p1 = pts[0]
            p2 = next(fp for fp in pts if fp.jump != p1.jump)
            cert = {"type": "jump-mismatch", "hyperplane": {"n": n, "b": b},
                    "points": [p1.point, p2.point], "eps": [p1.eps, p2.eps], "jumps": [p1.jump, p2.jump]}
            return _refuted(net, cert, deadline, stats)
        (jump,) = jumps
        if any(jump):
            kinks[(n, b)] = pts[0]

    # (b) every breakpoint hyperplane may be whole with one jump: build g, and let z3 decide f == g.
    # (Trying this before (c) spares the LPs of (c) whenever f is representable.)
    hyperplanes = []
    for (n, b), fp in kinks.items():
        i = next(k for k, v in enumerate(n) if v != 0)
        w = fp.jump[i] / n[i]
        if tuple(w * v for v in n) != fp.jump:  # continuity forces jump || n; a failure is a bug
            raise ToolkitBugError(f"one-hidden: gradient jump {fp.jump} is not normal to {_hyperplane_text(n, b)}")
        hyperplanes.append((n, b, w))
    g = _one_hidden_network(net, regions, hyperplanes)
    why = "every region's sample point lies on a breakpoint hyperplane"
    if g is not None:
        from .exactness import check_equivalent

        proof = check_equivalent(net, g, RealSpace(d), timeout=deadline.remaining(), query="one-hidden")
        if proof.status is Status.PROVED:
            return OneHiddenResult(Status.PROVED, deadline.elapsed(), hyperplanes=hyperplanes, network=g,
                                   proof_seconds=proof.seconds, **stats)
        if proof.status is Status.REFUTED:
            why = ("f differs from the one-hidden-layer candidate at "
                   f"({', '.join(to_text(v) for v in proof.counterexample)})")
        else:
            why = f"z3 did not decide f == g ({proof.reason})"

    # (c) a breakpoint hyperplane passing through the interior of a region: the facet does not extend.
    for (n, b), fp in kinks.items():
        if deadline.expired():
            return unknown(f"{why}; timeout while looking for a certificate", hyperplanes=hyperplanes, **stats)
        for region, _inside in regions.values():
            sol = _chebyshev(list(region.forms()), eq=(n, b), d=d)
            if sol is None or sol[1] <= _LP_TOL:
                continue
            for cand in _rationalise(sol[0]):
                cand = _project(cand, n, b)
                if local_region(net, cand, cache) is not None:
                    cert = {"type": "differentiable-point", "hyperplane": {"n": n, "b": b},
                            "facet_point": fp.point, "eps": fp.eps, "smooth_point": tuple(cand),
                            "jumps": [fp.jump]}
                    return _refuted(net, cert, deadline, stats)
    return unknown(f"{why}, but no certificate was found (the region enumeration may have missed a region)",
                   hyperplanes=hyperplanes, **stats)


def _refuted(net, cert, deadline, stats) -> OneHiddenResult:
    check = check_certificate(net, cert)
    if not check.valid:  # every certificate is built from certified points: a failure is a bug
        raise ToolkitBugError(f"one-hidden: internal certificate failed its own check ({check.reason})")
    return OneHiddenResult(Status.REFUTED, deadline.elapsed(), certificate=cert, **stats)


def _one_hidden_network(net: Network, regions: dict, hyperplanes: list) -> Network | None:
    """``g(x) = <a, x> + c + sum w relu(<n, x> + b)`` matching ``f`` on a region no hyperplane meets."""
    d = net.n_inputs
    for region, inside in regions.values():
        sides = [_dot(n, inside) + b for n, b, _ in hyperplanes]
        if any(s == 0 for s in sides):
            continue
        grad = list(region.gradient)
        value = region.value(inside)
        for (n, b, w), s in zip(hyperplanes, sides):
            if s > 0:
                grad = [gi - w * ni for gi, ni in zip(grad, n)]
                value -= w * s
        const = value - _dot(grad, inside)
        builder = GraphBuilder(d)
        xs = builder.input_exprs()
        total = Expr.sum(xs[i] * grad[i] for i in range(d)) + const
        for n, b, w in hyperplanes:
            unit = builder.relu(Expr.sum(xs[i] * n[i] for i in range(d)) + b)
            total = total + unit * w
        builder.output(total)
        return builder.build(name=f"one-hidden-layer form of {net.name or 'network'}")
    return None


def max_network(d: int) -> Network:
    """``max(x_1, ..., x_d)`` as a single max node (the function whose depth is in question)."""
    if d < 1:
        raise VerifyError(f"max of {d} inputs: need d >= 1")
    b = GraphBuilder(d)
    b.output(b.max(b.input_exprs()))
    return b.build(name=f"max_{d}")
