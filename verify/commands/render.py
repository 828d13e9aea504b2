"""One text renderer for the results the commands print (``--json`` prints ``result.to_json()`` instead).

:func:`render` dispatches on the result's type (one function per result class, registered with
:func:`renders`); ``context`` carries what the result does not know itself (the name the user gave the
network, a saved file). :func:`show` prints either the JSON or the text.
"""

from __future__ import annotations

from typing import Callable

from ..numbers import to_text
from ..status import Status
from .common import emit_json, results_ready

__all__ = ["render", "renders", "show", "RENDERERS", "num"]

# An exact fraction longer than this many characters gets its decimal value beside it.
LONG_FRACTION = 7

RENDERERS: dict[type, Callable] = {}


def renders(cls):
    """Register the decorated function as the text form of results of type ``cls``."""

    def wrap(fn):
        RENDERERS[cls] = fn
        return fn

    return wrap


def render(result, **context) -> list[str]:
    """The lines that describe ``result`` for a person."""
    _load()
    for cls in type(result).__mro__:
        if cls in RENDERERS:
            return RENDERERS[cls](result, **context)
    raise TypeError(f"no text form for {type(result).__name__}")  # pragma: no cover - every result has one


def show(json: bool, result, **context) -> None:
    if json:
        emit_json(result.to_json())
        return
    results_ready()
    for line in render(result, **context):
        print(line)


def num(v) -> str:
    """Exact text of ``v``, with a 6-digit decimal beside it when the fraction is long to read:
    ``1234567/8388608 (~0.147168)``; integers and short fractions (``3/4``) as they are."""
    if v is None:
        return "none"
    text = to_text(v)
    if "/" in text and len(text) > LONG_FRACTION:
        try:
            return f"{text} (~{float(v):.6g})"
        except OverflowError:  # beyond float range (a 1e400 weight): the exact text alone
            return text
    return text


def _pt(x) -> str:
    return "(" + ", ".join(num(v) for v in x) + ")"


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


_LOADED = False


def _load() -> None:
    """Register the renderers (the result classes are imported only when something is rendered)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from ..analysis.gradients import GradientCheckResult
    from ..analysis.one_hidden import OneHiddenResult, _hyperplane_text
    from ..analysis.regions import RegionsResult
    from ..analysis.results import ErrorResult, ExactnessResult
    from ..certificates import RecheckResult

    @renders(ExactnessResult)
    def _exact(r, label: str = "network", reference: str = "max"):
        lines = [f"{r.status}: {label} == {reference} on {r.domain.describe()} ({r.seconds:.3f} s)"]
        if r.status is Status.REFUTED:
            lines.append(f"  counterexample x = {_pt(r.counterexample)}")
            first = "network" if reference == "max" else label
            lines.append(f"  output {r.output_index}: {first} {num(r.network_value)}, "
                         f"{reference} {num(r.reference_value)} (checked by exact evaluation)")
        elif r.status is Status.UNKNOWN:
            lines.append(f"  {r.reason}")
        return lines

    @renders(ErrorResult)
    def _error(r, label: str = "network", a: str = "N", b: str = "max", what: str = "worst-case error of"):
        tag = "" if r.status is Status.PROVED else " (lower bound: UNKNOWN)"
        lines = [f"{r.status}: {what} {label} on {r.domain.describe()} ({r.seconds:.3f} s)",
                 f"  sup({a} - {b}) = {num(r.sup_over)}{tag}  at x = {_pt(r.witness_over)}",
                 f"  sup({b} - {a}) = {num(r.sup_under)}{tag}  at x = {_pt(r.witness_under)}",
                 f"  sup|{a} - {b}| = {num(r.sup_abs)}"]
        if r.status is not Status.PROVED:
            lines.append(f"  sound upper bounds: {num(r.upper_over)} and {num(r.upper_under)}; {r.reason}")
        return lines

    from ..analysis.decompose import DecomposedDifference
    from ..analysis.pool_replacement import PoolReplacementReport

    @renders(DecomposedDifference)
    def _decomposed(r, label: str = "A vs B", a: str = "A", b: str = "B"):
        lines = _error(r.overall, label=label, a=a, b=b, what="worst-case difference")
        lines.append(f"  {_count(len(r.per_output), 'output')}, {_count(r.distinct, 'distinct piece')} "
                     f"(outputs with identical sub-networks solved once), {_count(r.solver_calls, 'solver call')}")
        if len(r.per_output) > 1:
            for p in r.per_output:
                flag = "" if p.status is Status.PROVED else " UNKNOWN"
                lines.append(f"    output {p.output}: sup({a} - {b}) = {num(p.sup_over)}, "
                             f"sup({b} - {a}) = {num(p.sup_under)}, reads {len(p.support)} inputs, "
                             f"piece {p.piece}{flag}")
        return lines

    @renders(PoolReplacementReport)
    def _pool_replacement(r, model: str = "MODEL", replacement: str = "REPLACEMENT"):
        how = "exact interval arithmetic" if r.bounds_method == "interval" else "LP bound tightening"
        lines = [f"{r.status}: pooling layer of {model} replaced as in {replacement} on {r.domain.describe()} "
                 f"({r.seconds:.3f} s)",
                 f"  {_count(len(r.windows), 'window')}, {r.distinct_windows} distinct (each solved once), "
                 f"{_count(r.solver_calls, 'solver call')}; pooling inputs bounded by {how}"]
        for w in r.windows:
            flag = "" if w.status is Status.PROVED else f" UNKNOWN (upper {num(w.upper_over)}, {num(w.upper_under)})"
            lines.append(f"    window {w.window}: sup(R - max) = {num(w.sup_over)}, sup(max - R) = {num(w.sup_under)}"
                         f"{flag}  [piece {w.piece}]")
        lines.append(f"  largest window error: {num(r.max_window_error)}")
        for o in r.outputs:
            line = (f"  output {o.output}: sound bound sup(REPLACEMENT - MODEL) <= {num(o.bound_over)}, "
                    f"sup(MODEL - REPLACEMENT) <= {num(o.bound_under)}")
            if o.exact is not None:
                line += f"; exact whole-model values {num(o.exact.sup_over)}, {num(o.exact.sup_under)}"
            lines.append(line)
        lines.append("  assumed:")
        lines.extend(f"    - {a}" for a in r.assumptions)
        return lines

    @renders(GradientCheckResult)
    def _gradient(r):
        return [f"{r.message()} ({r.seconds:.3f} s)"]

    @renders(RecheckResult)
    def _recheck(r, certificate: str = "", cert: dict | None = None):
        cert = cert or {}
        word = {True: "HOLDS", False: "FAILS", None: "UNKNOWN"}[r.holds]
        return [f"{word}: {cert.get('query')} {cert.get('status')} certificate {certificate}: {r.reason}"]

    @renders(OneHiddenResult)
    def _one_hidden(r, label: str = "network", n_inputs: int = 0, saved: str | None = None):
        verdict = {Status.PROVED: "REPRESENTABLE", Status.REFUTED: "NOT REPRESENTABLE", Status.UNKNOWN: "UNKNOWN"}
        lines = [f"{verdict[r.status]}: {label} with one hidden ReLU layer on R^{n_inputs} "
                 f"({_count(r.n_regions, 'linear region')}, {_count(r.n_facet_points, 'facet point')}, "
                 f"{r.seconds:.3f} s)"]
        if r.status is Status.PROVED:
            lines.append(f"  one-hidden-layer form, width {r.network.n_relus}, proved equal by z3 "
                         f"({r.proof_seconds:.3f} s):")
            for n, b, w in r.hyperplanes:
                lines.append(f"    {to_text(w)} * relu on {_hyperplane_text(n, b)}")
            if saved:
                lines.append(f"  wrote {saved}")
        elif r.status is Status.REFUTED:
            cert = r.certificate
            h = cert["hyperplane"]
            lines.append(f"  certificate ({cert['type']}, re-checked by exact evaluation) on "
                         f"{_hyperplane_text(h['n'], h['b'])}:")
            if cert["type"] == "jump-mismatch":
                for p, e, j in zip(cert["points"], cert["eps"], cert["jumps"]):
                    lines.append(f"    at {_pt(p)} (eps {to_text(e)}) the gradient jumps by {_pt(j)}")
            else:
                lines.append(f"    at {_pt(cert['facet_point'])} (eps {to_text(cert['eps'])}) the gradient jumps by "
                             f"{_pt(cert['jumps'][0])}")
                lines.append(f"    at {_pt(cert['smooth_point'])} on the same hyperplane f is affine (no breakpoint)")
        else:
            lines.append(f"  {r.reason}")
        return lines

    @renders(RegionsResult)
    def _regions(r, plot_note: str = ""):
        where = r.domain.describe()
        if r.slice:
            where += f" (slice x{r.slice['i']}, x{r.slice['j']} through ({', '.join(r.slice['base'])}))"
        pieces = "not counted" if r.linear_pieces is None else str(r.linear_pieces)
        lines = [f"{r.status}: {r.network} on {where} ({r.seconds:.3f} s)",
                 f"  activation regions: {r.activation_regions}",
                 f"  affine maps:        {r.affine_maps}",
                 f"  linear pieces:      {pieces}"]
        for b in r.bounds:
            if b["value"] is None:
                lines.append(f"  bound {b['name']}: {b['note']}")
                continue
            ratio = "" if b["ratio"] is None else f", count/bound = {b['ratio']}"
            lines.append(f"  {b['kind']} bound {b['name']} = {b['value']}{ratio}  [{b['citation']}] {b['note']}")
        lines.append(f"  LP solves: {r.lp_solves}, exact z3 decisions: {r.z3_calls}, re-rounded points: {r.exact_retries}")
        if r.status is not Status.PROVED:
            lines.append(f"  incomplete (counts are lower bounds): {r.reason}")
        if plot_note:
            lines.append(f"  {plot_note}")
        return lines
