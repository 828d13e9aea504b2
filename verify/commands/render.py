"""One text renderer for the results the commands print (``--json`` prints ``result.to_json()`` instead).

:func:`render` dispatches on the result's type (one function per result class, registered with
:func:`renders`); ``context`` carries what the result does not know itself (the name the user gave the
network, a saved file). :func:`show` prints either the JSON or the text.
"""

from __future__ import annotations

from typing import Callable

from ..numbers import to_text
from ..status import Status
from .common import emit_json

__all__ = ["render", "renders", "show", "RENDERERS"]

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
    for line in render(result, **context):
        print(line)


def _pt(x) -> str:
    return "(" + ", ".join(to_text(v) for v in x) + ")"


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
    def _exact(r, label: str = "network"):
        lines = [f"{r.status}: {label} == max on {r.domain.describe()} ({r.seconds:.3f} s)"]
        if r.status is Status.REFUTED:
            lines.append(f"  counterexample x = {_pt(r.counterexample)}")
            lines.append(f"  output {r.output_index}: network {to_text(r.network_value)}, "
                         f"max {to_text(r.reference_value)} (checked by exact evaluation)")
        elif r.status is Status.UNKNOWN:
            lines.append(f"  {r.reason}")
        return lines

    @renders(ErrorResult)
    def _error(r, label: str = "network"):
        tag = "" if r.status is Status.PROVED else " (lower bound: UNKNOWN)"
        lines = [f"{r.status}: worst-case error of {label} on {r.domain.describe()} ({r.seconds:.3f} s)",
                 f"  sup(N - max) = {to_text(r.sup_over)}{tag}  at x = {_pt(r.witness_over)}",
                 f"  sup(max - N) = {to_text(r.sup_under)}{tag}  at x = {_pt(r.witness_under)}",
                 f"  sup|N - max| = {to_text(r.sup_abs)}"]
        if r.status is not Status.PROVED:
            lines.append(f"  sound upper bounds: {to_text(r.upper_over)} and {to_text(r.upper_under)}; {r.reason}")
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
