"""Differential testing: random networks and boxes, and cross-checks that every backend must pass.

Used by ``tests/test_fuzz.py`` (driven by hypothesis, which shrinks a failure to a small case) and by
``benchmarks/soak.py`` (driven by seeded :class:`random.Random`, 10^4 cases). Generators draw from a
:class:`Source`, so the same code serves both.

Cross-checks (each returns a list of :class:`Disagreement`; empty means all agree):

- :func:`check_float_vs_exact`: the float evaluator agrees with the exact one within float tolerance;
- :func:`check_intervals`: exact interval bounds contain every exact node value at sampled points;
- :func:`check_sup_error`: for every registered sup-error backend, the witnesses attain the reported
  values exactly, no sampled point exceeds a PROVED sup, sound upper bounds are above every sample, and
  all PROVED backends report the same exact values;
- :func:`check_exactness`: networks equal to max by construction (after random rewrites) are PROVED,
  perturbed ones REFUTED with a counterexample that reproduces under exact evaluation, by every
  registered exactness backend;
- :func:`check_smtlib_point`: the certificate SMT-LIB printer and the exact evaluator agree at a point;
- :func:`check_certificate`: a certificate of a PROVED/REFUTED result rechecks.

Plugging in other backends
--------------------------
``register_sup_error_backend(name, fn)`` with ``fn(net, box, timeout) -> ErrorResult`` (MILP: issue 6;
a region-enumeration maximiser: issue 4); ``register_exactness_backend(name, fn)`` with
``fn(net, domain, timeout) -> ExactnessResult``; ``register_check(name, fn)`` with
``fn(case) -> list[Disagreement]`` for any other property (e.g. region counts of issue 4: every region's
interior point re-evaluated exactly). A MILP backend reachable as ``worst_case_error(..., backend="milp")``
and the region enumeration check are registered from the start, so every case (the first one too)
runs them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Protocol, Sequence

import numpy as np

from .analysis.exactness import check_exact
from .analysis.results import ErrorResult, ExactnessResult, Status
from .analysis.worst_case import worst_case_error
from .backends.evaluator import evaluate, evaluate_batch, evaluate_batch_nodes, evaluate_nodes
from .backends.intervals import interval_bounds
from .constructions.gadgets import GADGETS, pair_max
from .domain import Box, RealSpace
from .io.json_format import dumps_network
from .ir.builder import Expr, GraphBuilder
from .ir.graph import Network
from .numbers import to_text

__all__ = [
    "Source",
    "RandomSource",
    "Disagreement",
    "FuzzCase",
    "small_rational",
    "random_network",
    "dense_network",
    "random_box",
    "random_points",
    "max_network",
    "exactness_case",
    "check_float_vs_exact",
    "check_intervals",
    "check_sup_error",
    "check_exactness",
    "check_smtlib_point",
    "check_certificate",
    "SUP_ERROR_BACKENDS",
    "EXACTNESS_BACKENDS",
    "EXTRA_CHECKS",
    "register_sup_error_backend",
    "register_exactness_backend",
    "register_check",
    "sup_error_backends",
    "exactness_backends",
    "CHECK_KINDS",
    "SoakReport",
    "run_case",
    "run_soak",
]


# -- sources of randomness --------------------------------------------------------------------------
class Source(Protocol):
    """Where generators get their choices from (hypothesis ``data.draw`` or a seeded RNG)."""

    def integer(self, lo: int, hi: int) -> int:  # inclusive bounds
        ...


class RandomSource:
    """A :class:`Source` on :class:`random.Random` with a fixed seed (deterministic soak runs)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


def _bool(src: Source, percent: int = 50) -> bool:
    """True with about ``percent`` per cent (hypothesis shrinks towards False)."""
    return src.integer(0, 99) >= 100 - percent


def _pick(src: Source, items: Sequence):
    return items[src.integer(0, len(items) - 1)]


def small_rational(src: Source, num: int = 4, dens: Sequence[int] = (1, 2, 3, 4)) -> Fraction:
    """``p/q`` with ``|p| <= num`` and ``q`` in ``dens`` (shrinks towards 0)."""
    return Fraction(src.integer(-num, num), _pick(src, dens))


# -- random networks and boxes ----------------------------------------------------------------------
def random_network(src: Source, *, max_inputs: int = 4, max_depth: int = 4, max_width: int = 12,
                   skip: bool | None = None, max_outputs: int = 2, allow_max: bool = True) -> Network:
    """A random ReLU network: 1..max_depth hidden layers of width 1..max_width, small rational weights.

    With ``skip`` (drawn when None) a unit may also read any earlier layer or the inputs; with
    ``allow_max`` a hidden unit may be a ``max`` of two affine nodes instead of a ReLU. Several outputs
    get explicit random windows.
    """
    d = src.integer(1, max_inputs)
    depth = src.integer(1, max_depth)
    skip = _bool(src, 30) if skip is None else skip
    b = GraphBuilder(d)
    layers = [list(b.inputs)]

    def affine_over(sources_by_layer):
        terms = []
        for k, sources in enumerate(sources_by_layer):
            last = k == len(sources_by_layer) - 1
            for s in sources:
                # the previous layer densely, earlier layers (skip connections) sparsely
                if _bool(src, 75 if last else 20):
                    terms.append((s, small_rational(src)))
        return b.add_affine(terms, small_rational(src))

    for _ in range(depth):
        width = src.integer(1, max_width)
        visible = layers if skip else layers[-1:]
        units = []
        for _ in range(width):
            if allow_max and _bool(src, 8):
                units.append(b.add_max([affine_over(visible), affine_over(visible)]))
            else:
                units.append(b.add_relu(affine_over(visible)))
        layers.append(units)
    n_out = src.integer(1, max_outputs)
    for _ in range(n_out):
        b.add_output(affine_over(layers if skip else layers[-1:]))
    windows = None
    if n_out > 1:
        windows = []
        for _ in range(n_out):
            w = sorted({src.integer(0, d - 1) for _ in range(src.integer(1, d))})
            windows.append(w)
    return b.build(windows=windows, name="fuzz")


def dense_network(seed: int, widths: Sequence[int]) -> Network:
    """A fully connected network ``widths[0]-...-widths[-1]`` with seeded weights ``p/q``, ``|p| <= 4``, ``q <= 4``.

    ``dense_network(0, (6, 24, 24, 1))`` is a deterministic query hard enough that a 10 ms budget
    cannot finish a worst-case error (used to test timeouts).
    """
    from .ir.layers import Layer, from_layers

    src = RandomSource(seed)
    layers = []
    for k in range(1, len(widths)):
        rows = tuple(tuple(small_rational(src) for _ in range(widths[k - 1])) for _ in range(widths[k]))
        bias = tuple(small_rational(src) for _ in range(widths[k]))
        layers.append(Layer(rows, bias, "relu" if k < len(widths) - 1 else "linear"))
    return from_layers(widths[0], layers, name=f"dense {'-'.join(map(str, widths))} seed={seed}")


def random_box(src: Source, d: int, degenerate: bool = True) -> Box:
    """A box with small rational ends; a coordinate may be a single point when ``degenerate``."""
    lo, hi = [], []
    for _ in range(d):
        a = small_rational(src, num=4, dens=(1, 2, 4))
        w = Fraction(_pick(src, (1, 2, 4, 1, 3, 8) + ((0,) if degenerate else ())), _pick(src, (1, 2, 4)))
        lo.append(a)
        hi.append(a + w)
    return Box(tuple(lo), tuple(hi))


def random_points(src: Source, box: Box, n: int) -> list[tuple[Fraction, ...]]:
    """``n`` exact rational points of the box (corners included often)."""
    pts = []
    for _ in range(n):
        pt = []
        for a, c in zip(box.lo, box.hi):
            k = src.integer(0, 16)
            pt.append(a + (c - a) * Fraction(k, 16))
        pts.append(tuple(pt))
    return pts


def _rewrite(b: GraphBuilder, src: Source, e: Expr, xs: list[Expr]) -> Expr:
    """``e`` re-expressed by a random function-preserving rewrite (or unchanged)."""
    kind = src.integer(0, 4)
    if kind == 1:  # identity through a layer: e = relu(e) - relu(-e)
        return b.relu(e) - b.relu(-e)
    if kind == 2:  # add and subtract the same ReLU (two separate nodes, so nothing cancels symbolically)
        a = Expr.sum(small_rational(src) * x for x in xs) + small_rational(src)
        return e + b.relu(a) - b.relu(a)
    if kind == 3:  # split at a threshold t: e = relu(e - t) + t - relu(t - e)
        t = small_rational(src)
        return b.relu(e - t) + t - b.relu(-(e - t))
    if kind == 4:  # scaled identity: e = (relu(c e + k) - relu(-c e - k) - k) / c, c > 0
        c = Fraction(src.integer(1, 4), src.integer(1, 3))
        k = small_rational(src)
        return (b.relu(c * e + k) - b.relu(-c * e - k) - k) / c
    return e


def _random_max_expr(b: GraphBuilder, src: Source, values: list[Expr], xs: list[Expr], rewrites: bool) -> Expr:
    """Max of ``values`` by a random tree shape, random gadgets, random operand order and rewrites."""
    if len(values) == 1:
        v = values[0]
        return _rewrite(b, src, v, xs) if rewrites else v
    cut = src.integer(1, len(values) - 1)
    left = _random_max_expr(b, src, values[:cut], xs, rewrites)
    right = _random_max_expr(b, src, values[cut:], xs, rewrites)
    if _bool(src):
        left, right = right, left
    m = pair_max(b, left, right, _pick(src, GADGETS))
    return _rewrite(b, src, m, xs) if rewrites and _bool(src, 40) else m


def max_network(src: Source, d: int, *, outputs: int = 1, rewrites: bool = True,
                perturb: str | None = None, domain=None) -> Network:
    """A network equal to max (per window) by construction, or a perturbed one that differs on ``domain``.

    ``perturb``: ``"bias"`` adds a constant to an output; ``"relu"`` adds ``eps relu(x_i - c)`` with ``c`` below
    the top of the domain in coordinate ``i``; ``"window"`` computes the max of a window minus one input
    that can be the strict max on the domain. Each makes ``N != max`` somewhere on the domain.
    """
    b = GraphBuilder(d)
    xs = b.input_exprs()
    windows = [list(range(d))] if outputs == 1 else []
    if outputs > 1:
        for _ in range(outputs):
            windows.append(sorted({src.integer(0, d - 1) for _ in range(src.integer(1, d))}))
    target = src.integer(0, outputs - 1)
    exprs = []
    for o, w in enumerate(windows):
        order = list(w)
        # a random permutation of the window (Fisher-Yates on the source)
        for i in range(len(order) - 1, 0, -1):
            j = src.integer(0, i)
            order[i], order[j] = order[j], order[i]
        if o == target and perturb == "window":
            drop = _droppable(order, domain)
            if drop is not None:
                order.remove(drop)
            else:
                perturb = "bias"
        e = _random_max_expr(b, src, [xs[i] for i in order], xs, rewrites)
        if o == target and perturb == "bias":
            e = e + Fraction(_pick(src, (1, -1)), _pick(src, (1, 3, 8, 1000)))
        elif o == target and perturb == "relu":
            i = src.integer(0, d - 1)
            top = domain.hi[i] if isinstance(domain, Box) else Fraction(0)
            c = top - Fraction(src.integer(1, 4), 4) if not isinstance(domain, Box) or domain.hi[i] > domain.lo[i] else top - 1
            e = e + Fraction(_pick(src, (1, -1)), _pick(src, (1, 7, 64))) * b.relu(xs[i] - c)
        exprs.append(e)
    for e in exprs:
        b.output(e)
    return b.build(windows=windows if outputs > 1 else None, name="fuzz-max" + (f" perturbed:{perturb}" if perturb else ""))


def _droppable(window: list[int], domain) -> int | None:
    """An input of the window that is the strict max somewhere on the domain (so dropping it changes max)."""
    if len(window) < 2:
        return None
    for j in window:
        others = [i for i in window if i != j]
        if not isinstance(domain, Box) or domain.hi[j] > max(domain.lo[i] for i in others):
            return j
    return None


@dataclass
class FuzzCase:
    """One generated case: a network, a domain and, for exactness cases, the known answer."""

    net: Network
    domain: Box | RealSpace
    expect_exact: bool | None = None
    points: list = field(default_factory=list)

    def reproducer(self) -> str:
        """The network JSON and the domain, with the CLI commands that re-run the queries."""
        dom = json.dumps(self.domain.to_json())
        return (f"network JSON: {dumps_network(self.net)}\n"
                f"domain: {dom} ({self.domain.describe()})\n"
                f"expected exact: {self.expect_exact}\n"
                "reproduce: save the network JSON as net.json and run `verify exact net.json` / "
                "`verify error net.json --box=LO,HI` with the domain above")


def exactness_case(src: Source, *, max_inputs: int = 4, box: bool | None = None) -> FuzzCase:
    """A max-by-construction network (rewritten) or a perturbed one, on a random box or all of R^d."""
    d = src.integer(1, max_inputs)
    use_box = _bool(src) if box is None else box
    domain = random_box(src, d, degenerate=False) if use_box else RealSpace(d)
    outputs = 1 if d == 1 or _bool(src, 70) else src.integer(2, 3)
    perturb = _pick(src, (None, None, "bias", "relu", "window"))
    if perturb == "window" and (d == 1 or outputs > 1):
        perturb = "relu"
    net = max_network(src, d, outputs=outputs, perturb=perturb, domain=domain)
    return FuzzCase(net, domain, expect_exact=perturb is None)


# -- registries of backends -------------------------------------------------------------------------
SupErrorBackend = Callable[[Network, Box, "float | None"], ErrorResult]
ExactnessBackend = Callable[[Network, "Box | RealSpace", "float | None"], ExactnessResult]


@dataclass
class Disagreement:
    """A failed cross-check: what disagreed, and the case that shows it."""

    check: str
    message: str
    case: FuzzCase

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}\n{self.case.reproducer()}"


def _z3_sup(net: Network, box: Box, timeout):
    return worst_case_error(net, box, timeout=timeout)


def _milp_sup(net: Network, box: Box, timeout):
    return worst_case_error(net, box, timeout=timeout, backend="milp")


def _z3_exact(net: Network, domain, timeout):
    return check_exact(net, domain, timeout=timeout)


def _milp_exact(net: Network, domain, timeout):
    return check_exact(net, domain, timeout=timeout, backend="milp")


def _check_regions(case: FuzzCase) -> list:
    """Region enumeration (issue 4) against the exact evaluator: every region's affine map must give
    the exact network value at its interior point, and the point must lie in the domain."""
    from .analysis.regions import count_regions

    if case.net.n_inputs > 3 or case.net.n_relus > 12:
        return []
    if isinstance(case.domain, Box) and any(a == b for a, b in zip(case.domain.lo, case.domain.hi)):
        return []  # a flat box has no full-dimensional region
    r = count_regions(case.net, case.domain, pieces=True, max_regions=400, timeout=20, progress=False,
                      self_check=False, check_bounds=True)
    found = []
    for region in r.regions or []:
        if not case.domain.contains(region.point):
            found.append(Disagreement("regions", f"interior point {region.point} outside the domain", case))
        elif tuple(region.value_at(region.point)) != evaluate(case.net, region.point):
            found.append(Disagreement("regions", f"affine map disagrees with exact evaluation at {region.point}", case))
    if r.status.value == "PROVED" and r.activation_regions < 1:
        found.append(Disagreement("regions", "no region found in a non-empty domain", case))
    return found


# Every backend and check of the toolkit is registered here, before the first case runs.
SUP_ERROR_BACKENDS: dict[str, SupErrorBackend] = {"z3": _z3_sup, "milp": _milp_sup}
EXACTNESS_BACKENDS: dict[str, ExactnessBackend] = {"z3": _z3_exact, "milp": _milp_exact}
EXTRA_CHECKS: dict[str, Callable[[FuzzCase], list]] = {"regions": _check_regions}


def register_sup_error_backend(name: str, fn: SupErrorBackend) -> None:
    """Add a backend computing ``worst_case_error``; the fuzz checks compare it with the others."""
    SUP_ERROR_BACKENDS[name] = fn


def register_exactness_backend(name: str, fn: ExactnessBackend) -> None:
    """Add a backend deciding ``N == max``; the fuzz checks compare it with the known answers."""
    EXACTNESS_BACKENDS[name] = fn


def register_check(name: str, fn: Callable[[FuzzCase], list]) -> None:
    """Add a property ``fn(case) -> list[Disagreement]`` run on every random-network case."""
    EXTRA_CHECKS[name] = fn


def sup_error_backends() -> dict[str, SupErrorBackend]:
    return dict(sorted(SUP_ERROR_BACKENDS.items()))


def exactness_backends() -> dict[str, ExactnessBackend]:
    return dict(sorted(EXACTNESS_BACKENDS.items()))


# -- cross-checks -----------------------------------------------------------------------------------
def _fmt(x) -> str:
    return "(" + ", ".join(to_text(v) for v in x) + ")"


def check_float_vs_exact(case: FuzzCase, rel: float = 1e-9) -> list[Disagreement]:
    """Float node values within ``rel * (1 + sum |terms|)`` of the exact ones at every sample point."""
    net = case.net
    out = []
    X = np.array([[float(v) for v in p] for p in case.points])
    values, index = evaluate_batch_nodes(net, X)
    outs = evaluate_batch(net, X)
    for k, p in enumerate(case.points):
        exact = evaluate_nodes(net, p)
        # the size of the numbers involved bounds the rounding error of a float evaluation
        scale = 1 + max(abs(float(v)) for v in exact.values())
        for n, v in exact.items():
            if abs(values[index[n], k] - float(v)) > rel * scale * (1 + len(net.order)):
                out.append(Disagreement("float-vs-exact", f"node {n!r} at {_fmt(p)}: float {values[index[n], k]!r}, exact {to_text(v)}", case))
                break
        for o, v in enumerate(evaluate(net, p)):
            if abs(outs[k, o] - float(v)) > rel * scale * (1 + len(net.order)):
                out.append(Disagreement("float-vs-exact", f"output {o} at {_fmt(p)}: float {outs[k, o]!r}, exact {to_text(v)}", case))
    return out


def check_intervals(case: FuzzCase) -> list[Disagreement]:
    """Every exact node value at every sample point of the box lies inside its interval bounds."""
    net, box = case.net, case.domain
    bounds = interval_bounds(net, box)
    for p in case.points:
        for n, v in evaluate_nodes(net, p).items():
            lo, hi = bounds[n]
            if not lo <= v <= hi:
                return [Disagreement("intervals", f"node {n!r} = {to_text(v)} at {_fmt(p)} outside [{to_text(lo)}, {to_text(hi)}]", case)]
    return []


def _errors_at(net: Network, x) -> tuple[Fraction, Fraction]:
    """``max_o (N_o - max_o)`` and ``max_o (max_o - N_o)`` at ``x`` (exact)."""
    y = evaluate(net, x)
    refs = [max(x[i] for i in w) for w in net.windows]
    return max(a - r for a, r in zip(y, refs)), max(r - a for a, r in zip(y, refs))


def check_sup_error(case: FuzzCase, timeout: float | None = 10.0, stats: dict | None = None,
                    backends: dict | None = None) -> list[Disagreement]:
    """Every sup-error backend against exact evaluation at its witnesses and the sample points, and each other."""
    net, box = case.net, case.domain
    out: list[Disagreement] = []
    proved: dict[str, ErrorResult] = {}
    samples = [(p, *_errors_at(net, p)) for p in case.points]
    for name, fn in (backends or sup_error_backends()).items():
        r = fn(net, box, timeout)
        if stats is not None:
            stats[r.status.value] = stats.get(r.status.value, 0) + 1
        tag = f"{name} {r.status.value}"
        for side, val, wit, o in (("over", r.sup_over, r.witness_over, r.output_over),
                                  ("under", r.sup_under, r.witness_under, r.output_under)):
            if not box.contains(wit):
                out.append(Disagreement("sup-error", f"{tag}: witness_{side} {_fmt(wit)} outside the box", case))
                continue
            y = evaluate(net, wit)[o]
            ref = max(wit[i] for i in net.windows[o])
            got = y - ref if side == "over" else ref - y
            if got != val:
                out.append(Disagreement("sup-error", f"{tag}: sup_{side} {to_text(val)} but exact evaluation at its witness "
                                        f"{_fmt(wit)} gives {to_text(got)}", case))
        for p, e_over, e_under in samples:
            for side, val, upper, e in (("over", r.sup_over, r.upper_over, e_over), ("under", r.sup_under, r.upper_under, e_under)):
                if r.status is Status.PROVED and e > val:
                    out.append(Disagreement("sup-error", f"{tag}: sup_{side} {to_text(val)} but the point {_fmt(p)} has error {to_text(e)}", case))
                if upper is not None and e > upper:
                    out.append(Disagreement("sup-error", f"{tag}: upper bound {to_text(upper)} on sup_{side} below {to_text(e)} at {_fmt(p)}", case))
        if r.status is Status.PROVED:
            proved[name] = r
        elif r.status is Status.REFUTED:
            out.append(Disagreement("sup-error", f"{tag}: an error query cannot be REFUTED", case))
    values = {(to_text(r.sup_over), to_text(r.sup_under)) for r in proved.values()}
    if len(values) > 1:
        out.append(Disagreement("sup-error", "PROVED backends disagree: " + ", ".join(
            f"{n}: over {to_text(r.sup_over)} under {to_text(r.sup_under)}" for n, r in proved.items()), case))
    return out


def check_exactness(case: FuzzCase, timeout: float | None = 10.0, stats: dict | None = None,
                    backends: dict | None = None) -> list[Disagreement]:
    """Known-answer exactness cases: PROVED iff equal by construction; counterexamples reproduce."""
    net, domain = case.net, case.domain
    out: list[Disagreement] = []
    for name, fn in (backends or exactness_backends()).items():
        r = fn(net, domain, timeout)
        if stats is not None:
            stats[r.status.value] = stats.get(r.status.value, 0) + 1
        if r.status is Status.PROVED and case.expect_exact is False:
            out.append(Disagreement("exactness", f"{name}: PROVED a network built to differ from max", case))
        if r.status is Status.REFUTED:
            if case.expect_exact is True:
                out.append(Disagreement("exactness", f"{name}: REFUTED a network equal to max by construction "
                                        f"(counterexample {_fmt(r.counterexample)})", case))
            x, o = r.counterexample, r.output_index
            if not domain.contains(x):
                out.append(Disagreement("exactness", f"{name}: counterexample {_fmt(x)} outside the domain", case))
            else:
                y, ref = evaluate(net, x)[o], max(x[i] for i in net.windows[o])
                if y == ref or y != r.network_value or ref != r.reference_value:
                    out.append(Disagreement("exactness", f"{name}: counterexample {_fmt(x)} does not reproduce: "
                                            f"network {to_text(y)}, max {to_text(ref)}, reported {to_text(r.network_value)} "
                                            f"and {to_text(r.reference_value)}", case))
        if r.status is Status.PROVED:
            for p in case.points:
                y = evaluate(net, p)
                if any(y[o] != max(p[i] for i in w) for o, w in enumerate(net.windows)):
                    out.append(Disagreement("exactness", f"{name}: PROVED but the network differs from max at {_fmt(p)}", case))
                    break
    return out


def check_smtlib_point(case: FuzzCase, point) -> list[Disagreement]:
    """The certificate SMT-LIB printer and the exact evaluator agree at ``point``.

    On the one-point box, "some output exceeds its max by more than e" is unsat for ``e`` the exact
    error there and sat for anything smaller (same for the other side).
    """
    from .certificates import _solve, smtlib_query

    net = case.net
    pbox = Box(tuple(point), tuple(point))
    e_over, e_under = _errors_at(net, point)
    for side, e in (("over", e_over), ("under", e_under)):
        for threshold, want in ((e, "unsat"), (e - Fraction(1, 1024), "sat")):
            got = _solve(smtlib_query(net, pbox, side, threshold=threshold), None)
            if got != want:
                return [Disagreement("smtlib", f"at {_fmt(point)}: '{side} > {to_text(threshold)}' is {got}, exact evaluation says {want}", case)]
    return []


def check_certificate(case: FuzzCase, result) -> list[Disagreement]:
    """The certificate of a PROVED/REFUTED result survives a JSON round trip and rechecks."""
    from .certificates import certificate_for, recheck

    if result.status is Status.UNKNOWN:
        return []
    cert = json.loads(json.dumps(certificate_for(case.net, result)))
    outcome = recheck(cert)
    if outcome.holds is not True:
        return [Disagreement("certificate", f"recheck of a {result.status.value} result: {outcome.reason}", case)]
    return []


# -- a seeded run of every check (CI sample and benchmarks/soak.py) ---------------------------------
CHECK_KINDS = ("evaluators", "sup-error", "exactness", "smtlib+certificate")


@dataclass
class SoakReport:
    """Counts of a :func:`run_soak` run: cases per kind, verdicts per kind, and every disagreement."""

    cases: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)
    disagreements: list = field(default_factory=list)

    @property
    def unknowns(self) -> int:
        return sum(s.get("UNKNOWN", 0) for s in self.statuses.values())


def run_case(index: int, seed: int = 0, timeout: float | None = 10.0, report: SoakReport | None = None) -> SoakReport:
    """Case ``index`` of the seeded sequence: its kind is ``CHECK_KINDS[index % 4]``, its RNG seed ``seed + index``."""
    report = report or SoakReport()
    src = RandomSource(seed * 1_000_003 + index)
    kind = CHECK_KINDS[index % len(CHECK_KINDS)]
    report.cases[kind] = report.cases.get(kind, 0) + 1
    stats = report.statuses.setdefault(kind, {})
    found: list = []
    if kind == "exactness":
        case = exactness_case(src, max_inputs=5)
        box = case.domain if isinstance(case.domain, Box) else random_box(src, case.net.n_inputs)
        case.points = random_points(src, box, 4)
        found = check_exactness(case, timeout=timeout, stats=stats)
    else:
        small = kind == "smtlib+certificate"
        net = random_network(src, max_inputs=3 if small else 4, max_depth=2 if small else 4,
                             max_width=4 if small else 12)
        box = random_box(src, net.n_inputs)
        case = FuzzCase(net, box, points=random_points(src, box, 6))
        if kind == "evaluators":
            found = check_float_vs_exact(case) + check_intervals(case)
            for check in EXTRA_CHECKS.values():
                found += check(case)
        elif kind == "sup-error":
            found = check_sup_error(case, timeout=timeout, stats=stats)
        else:
            found = check_smtlib_point(case, case.points[0])
            r = worst_case_error(net, box, timeout=timeout)
            stats[r.status.value] = stats.get(r.status.value, 0) + 1
            found += check_certificate(case, r)
    report.disagreements.extend(found)
    return report


def run_soak(n: int, seed: int = 0, timeout: float | None = 10.0, progress=None) -> SoakReport:
    """Run ``n`` seeded cases cycling through :data:`CHECK_KINDS`; deterministic for a given ``seed``."""
    report = SoakReport()
    for i in range(n):
        run_case(i, seed, timeout, report)
        if progress is not None:
            progress(i, report)
    return report
