"""Error against size for the paper's subpool approximations: every R containing {0, 1}.

For a window size ``d`` there are ``2^(d-2)`` index sets ``R = {0, 1} u T`` with ``T`` a subset of
``{2, ..., d-1}``. For each, the certified optimal error (:func:`verify.analysis.optimal.optimal_approximation`)
is set beside the measured size of its network (:func:`verify.constructions.subpool.subpool_network`):
hidden layers, width (largest layer), ReLUs, parameters, subset maxima. The Pareto front keeps the sets
that no other set beats in both error and width; the depth-limited view gives the best error reachable
with at most ``L`` hidden layers.

The claim being shown (Matoba, Dimitriadis, Fleuret, arXiv:2203.01016; TMLR 2023): the error can be made
exponentially small in ``d`` (``2^-d`` with every size), but only at exponential width (``2^d - d - 2``
subset maxima).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Sequence

from ..errors import VerifyError
from ..numbers import to_text
from .optimal import OptimalApproximation, optimal_approximation

__all__ = ["TradeoffRow", "tradeoff", "pareto_front", "depth_limited", "markdown_table", "plot_tradeoff",
           "all_R_with_01"]


@dataclass
class TradeoffRow:
    """One index set with its certified optimal error and the size of its network."""

    R: tuple[int, ...]
    error: Fraction
    hidden_layers: int
    width: int
    relus: int
    parameters: int
    subset_maxima: int
    optimum: OptimalApproximation
    pareto: bool = False

    def to_json(self) -> dict:
        return {"R": list(self.R), "error": to_text(self.error), "hidden_layers": self.hidden_layers,
                "width": self.width, "relus": self.relus, "parameters": self.parameters,
                "subset_maxima": self.subset_maxima, "pareto": self.pareto,
                "beta": {str(k): to_text(v) for k, v in self.optimum.beta.items()}}


def all_R_with_01(d: int) -> list[tuple[int, ...]]:
    """Every index set containing {0, 1} for window size ``d`` (``2^(d-2)`` of them), by size."""
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise VerifyError(f"d must be an integer >= 2, got {d!r}")
    mids = list(range(2, d))
    return [(0, 1) + c for r in range(len(mids) + 1) for c in combinations(mids, r)]


def tradeoff(d: int, *, gadget: str = "A", share: bool = False, max_d: int = 12,
             timeout: float | None = None) -> list[TradeoffRow]:
    """Certified optimal error and network size for every ``R`` containing {0, 1}.

    Parameters
    ----------
    d : int
        Window size, ``2 <= d <= max_d`` (the networks grow like ``2^d``; building them all is the cost).
    gadget, share
        Passed to :func:`~verify.constructions.subpool.subpool_network`.
    timeout : float, optional
        Stop starting new index sets after this many seconds (the first is always done); the rows
        returned are then those of the index sets done (each exact), fewer than ``2^(d-2)``.

    Returns
    -------
    list of TradeoffRow
        Sorted by width then error, with ``pareto`` set on the Pareto front (error against width).
    """
    from ..constructions.subpool import subpool_network, subpool_size
    from ..deadline import Deadline
    from ..progress import report

    if isinstance(d, bool) or not isinstance(d, int) or not 2 <= d <= max_d:
        raise VerifyError(f"tradeoff needs 2 <= d <= {max_d} (2^(d-2) networks of up to 2^d subset maxima), got {d!r}")
    rows = []
    deadline = Deadline(timeout)
    every = all_R_with_01(d)
    for k, R in enumerate(every):
        if k and deadline.expired():  # at least one row, so the table and its fronts are defined
            break
        report(step=k + 1, steps=len(every))
        opt = optimal_approximation(d, R)
        net = subpool_network(d, R, opt.beta, gadget, share=share)
        size = subpool_size(net, d, R)
        rows.append(TradeoffRow(R, opt.error, size.hidden_layers, size.width, size.relus, size.parameters,
                                size.subset_maxima, opt))
    rows.sort(key=lambda r: (r.width, r.error, r.R))
    for r in pareto_front(rows):
        r.pareto = True
    return rows


def pareto_front(rows: Sequence[TradeoffRow]) -> list[TradeoffRow]:
    """Rows not dominated in (width, error): no other row has width <= and error <= with one strict."""
    front = []
    for r in rows:
        dominated = any((o.width <= r.width and o.error <= r.error) and (o.width < r.width or o.error < r.error)
                        for o in rows)
        if not dominated:
            front.append(r)
    return sorted(front, key=lambda r: (r.width, r.error))


def depth_limited(rows: Sequence[TradeoffRow]) -> list[tuple[int, TradeoffRow]]:
    """For each ``L`` from 0 to the largest depth: the best error with at most ``L`` hidden layers.

    Ties in error are broken by smaller width. Returns ``[(L, row), ...]``.
    """
    out = []
    for L in range(max(r.hidden_layers for r in rows) + 1):
        ok = [r for r in rows if r.hidden_layers <= L]
        if ok:
            out.append((L, min(ok, key=lambda r: (r.error, r.width))))
    return out


def _fmt_R(R) -> str:
    return "{" + ",".join(map(str, R)) + "}"


def markdown_table(rows: Sequence[TradeoffRow], d: int) -> str:
    """The trade-off as a markdown table (Pareto rows marked), then the depth-limited view."""
    lines = [f"Certified optimal sup error on [0,1]^{d} against network size (every R containing {{0,1}}).", "",
             "| R | error | error (float) | hidden layers | width | ReLUs | parameters | subset maxima | Pareto |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {_fmt_R(r.R)} | {to_text(r.error)} | {float(r.error):.3e} | {r.hidden_layers} | {r.width} | "
                     f"{r.relus} | {r.parameters} | {r.subset_maxima} | {'yes' if r.pareto else ''} |")
    lines += ["", "Best error with at most L hidden layers:", "",
              "| L | best error | R | width |", "|---|---|---|---|"]
    for L, r in depth_limited(rows):
        lines.append(f"| {L} | {to_text(r.error)} | {_fmt_R(r.R)} | {r.width} |")
    return "\n".join(lines) + "\n"


def plot_tradeoff(rows: Sequence[TradeoffRow], d: int, path: str) -> None:
    """Log error against log width, Pareto front highlighted (matplotlib Agg; PNG, PDF or SVG from the
    extension); written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.figures import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    # Width 0 (no hidden layer) cannot sit on a log axis: plot it at width 1 and say so in the label.
    w = [max(r.width, 1) for r in rows]
    e = [float(r.error) for r in rows]
    ax.scatter(w, e, s=14, color="0.6", label=f"all {len(rows)} sets R containing {{0,1}}")
    front = [r for r in rows if r.pareto]
    ax.plot([max(r.width, 1) for r in front], [float(r.error) for r in front], "o-", color="C3", ms=4,
            label="Pareto front")
    # Label the front; when it is long, only every few points (and the ends) to stay readable.
    step = max(1, len(front) // 8)
    for i, r in enumerate(front):
        if i % step and i != len(front) - 1:
            continue
        ax.annotate(_fmt_R(r.R), (max(r.width, 1), float(r.error)), fontsize=6, xytext=(3, 3),
                    textcoords="offset points")
    ax.axhline(2.0 ** -d, color="C0", lw=0.8, ls="--", label=f"2^-{d} (all sizes)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("network width (largest hidden layer; 0 plotted at 1)")
    ax.set_ylabel("certified optimal sup error on [0,1]^d")
    ax.set_title(f"Subpool approximations of max, d = {d}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
