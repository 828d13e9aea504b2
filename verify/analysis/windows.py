"""Where the error of a subpool approximation comes from: spread, gap, other boxes, real image windows.

All worst cases here are exact, by the same argument as the vertex lemma of
:mod:`verify.analysis.optimal`: ``e(x) = max(x) - f_beta(x)`` is affine on every ordering simplex and
symmetric, so on a slice of the simplex by a linear condition its extremes sit at the slice's vertices.
With ``e_j = e(v_j)`` (``v_j``: ``j`` trailing ones):

* **gap** ``g = x_(d) - x_(d-1)`` is ``1`` at ``v_1`` and ``0`` at every other vertex, so the slice
  ``{gap = g}`` has vertices ``(1-g) v_j + g v_1`` (``j != 1``) and
  ``sup_{gap = g} |e| = max_{j != 1} |(1-g) e_j + g e_1|``;
* **normalised windows** (min 0, max 1, the face ``conv(v_1..v_{d-1})``) with gap ``g``:
  ``max_{2 <= j <= d-1} |(1-g) e_j + g e_1|``;
* **spread** ``s = x_(d) - x_(1)`` is ``0`` at ``v_0, v_d`` and ``1`` at the others, so
  ``sup_{spread = s} |e| / s = max_{a in {0,d}, 1 <= j <= d-1} |(1-s) e_a + s e_j| / s``, which grows like
  ``1/s`` unless ``e_0 = e_d = 0``: the approximations do not scale with a window's contrast;
* **other boxes** ``[lo, hi]^d``: the vertex lemma holds on any cube, so the sup error is the max over
  the d+1 points ``lo + (hi - lo) v_j``, evaluated exactly.

Real windows (2x2 or 3x3, stride 2) come from the images shipped with scikit-image (``skimage.data``,
no download), scaled to [0,1] exactly (``pixel/255``). Statistics over windows are floats (descriptive);
the worst window's error is recomputed in rationals.

References
----------
Matoba, Dimitriadis, Fleuret, arXiv:2203.01016 (TMLR 2023): the main cause of a difference between max
pooling and an optimal approximation is a large gap between the max and the other values in a window,
claimed to be rare in natural images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..errors import MissingExtraError, VerifyError
from ..numbers import to_text
from .optimal import evaluate_subpool, normalise_R, order_weights, vertex_errors

__all__ = ["error_on_box", "worst_error_given_gap", "worst_relative_error_given_spread",
           "IMAGES", "RATIO_BINS", "load_image", "image_windows", "window_stats", "subpool_errors_float", "ImageReport",
           "image_report", "plot_image_report"]


def error_on_box(d: int, R, beta, lo=0, hi=1) -> Fraction:
    """Exact ``sup_{x in [lo,hi]^d} |max(x) - f_beta(x)|`` (vertex lemma on the cube ``[lo,hi]^d``)."""
    lo, hi = Fraction(lo), Fraction(hi)
    if hi < lo:
        raise VerifyError(f"empty box [{to_text(lo)}, {to_text(hi)}]")
    best = Fraction(0)
    for j in range(d + 1):
        x = [lo] * (d - j) + [hi] * j
        best = max(best, abs(max(x) - evaluate_subpool(d, R, beta, x)))
    return best


def _frac01(v, what: str) -> Fraction:
    v = Fraction(v)
    if not 0 <= v <= 1:
        raise VerifyError(f"{what} must lie in [0, 1], got {to_text(v)}")
    return v


def worst_error_given_gap(d: int, R, beta, g, *, normalised: bool = False) -> Fraction:
    """Exact sup of ``|max - f_beta|`` over windows in [0,1]^d whose top gap ``x_(d) - x_(d-1)`` is ``g``.

    ``normalised=True`` restricts to windows with min 0 and max 1 (needs ``d >= 3``, ``g`` in [0,1]).
    """
    g = _frac01(g, "gap")
    e = vertex_errors(d, R, beta)
    js = range(2, d) if normalised else [j for j in range(d + 1) if j != 1]
    if normalised and d < 3:
        raise VerifyError("normalised windows with a free gap need d >= 3 (for d = 2 the gap is the spread)")
    return max(abs((1 - g) * e[j] + g * e[1]) for j in js)


def worst_relative_error_given_spread(d: int, R, beta, s) -> Fraction:
    """Exact sup of ``|max - f_beta| / (max - min)`` over windows in [0,1]^d with spread ``s > 0``."""
    s = _frac01(s, "spread")
    if s == 0:
        raise VerifyError("spread must be positive (the relative error divides by it)")
    e = vertex_errors(d, R, beta)
    return max(abs((1 - s) * e[a] + s * e[j]) for a in (0, d) for j in range(1, d)) / s


# --------------------------------------------------------------------------------------------------
# Real image windows (scikit-image, optional extra "images")
# --------------------------------------------------------------------------------------------------

# Grey-level or RGB images bundled inside the scikit-image wheel (no network at run time).
IMAGES = ("camera", "astronaut", "coins", "moon", "page", "text", "coffee", "chelsea", "rocket")


def _skimage_data():
    try:
        from skimage import data
    except ImportError as exc:
        raise MissingExtraError("real-image windows need scikit-image: pip install 'verify[images]'") from exc
    return data


def load_image(name: str) -> np.ndarray:
    """A bundled scikit-image image as a 2-D uint8 grey array (RGB: integer mean of the channels)."""
    if name not in IMAGES:
        raise VerifyError(f"unknown image {name!r} (choose from {', '.join(IMAGES)})")
    img = np.asarray(getattr(_skimage_data(), name)())
    if img.ndim == 3:
        img = img[..., :3].astype(np.int64).sum(axis=2) // 3  # integer grey level, exact
    if img.dtype != np.uint8 and img.max() > 255:
        raise VerifyError(f"image {name!r} is not 8-bit")
    return img.astype(np.int64)


def image_windows(img: np.ndarray, kernel: int, stride: int = 2) -> np.ndarray:
    """All ``kernel x kernel`` windows at the given stride, as rows of integer grey levels."""
    if kernel < 1 or stride < 1:
        raise VerifyError(f"kernel and stride must be positive, got {kernel}, {stride}")
    H, W = img.shape
    rows = []
    for i in range(0, H - kernel + 1, stride):
        for j in range(0, W - kernel + 1, stride):
            rows.append(img[i:i + kernel, j:j + kernel].ravel())
    return np.array(rows, dtype=np.int64)


def window_stats(win: np.ndarray) -> dict[str, np.ndarray]:
    """Spread, gap and gap/spread of each window (values scaled to [0,1]; ratio NaN for flat windows)."""
    s = np.sort(win, axis=1) / 255.0
    spread = s[:, -1] - s[:, 0]
    gap = s[:, -1] - s[:, -2]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(spread > 0, gap / np.where(spread > 0, spread, 1), np.nan)
    return {"spread": spread, "gap": gap, "ratio": ratio}


def subpool_errors_float(win: np.ndarray, d: int, R, beta) -> np.ndarray:
    """``max(x) - f_beta(x)`` on each window (floats; descriptive statistics only)."""
    c0, c = order_weights(d, R, beta)
    s = np.sort(win, axis=1) / 255.0
    f = float(c0) + s @ np.array([float(v) for v in c])
    return s[:, -1] - f


@dataclass
class ImageReport:
    """Gap/spread distribution of real windows and the error of each approximation on them."""

    kernel: int
    stride: int
    images: list[str]
    n_windows: int
    ratio_quantiles: dict[str, float]
    share_large_gap: float
    share_flat: float
    rows: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"kernel": self.kernel, "stride": self.stride, "images": self.images, "windows": self.n_windows,
                "gap_over_spread_quantiles": self.ratio_quantiles, "share_gap_over_spread_above_half": self.share_large_gap,
                "share_flat": self.share_flat, "ratio_bins": list(RATIO_BINS), "approximations": self.rows}


# Bins of gap/spread for the mean error per bin (flat windows, spread 0, are reported apart).
RATIO_BINS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)


def _binned_means(err: np.ndarray, ratio: np.ndarray) -> list[dict]:
    out = []
    for i, (lo, hi) in enumerate(zip(RATIO_BINS, RATIO_BINS[1:])):
        last = i == len(RATIO_BINS) - 2
        m = (ratio >= lo) & ((ratio <= hi) if last else (ratio < hi))
        out.append({"lo": lo, "hi": hi, "windows": int(m.sum()), "mean": float(err[m].mean()) if m.any() else None})
    return out


def image_report(kernel: int = 3, stride: int = 2, images: Sequence[str] = ("camera", "astronaut", "coins"),
                 Rs: Sequence[Sequence[int]] | None = None) -> tuple[ImageReport, dict]:
    """Windows of the bundled images: their gap/spread distribution and each approximation's error there.

    For each ``R`` (default: the paper's closed-form families at ``d = kernel^2``) the certified optimal
    ``beta`` is applied to every window; mean, 99th percentile and max of ``|max - f|`` are reported beside
    the certified worst case on [0,1]^d. The max over windows is recomputed exactly on the worst window.
    Also returned: the raw arrays (for plotting).
    """
    from .optimal import closed_forms, optimal_approximation

    d = kernel * kernel
    if d < 2:
        raise VerifyError("kernel must be at least 2")
    wins = np.concatenate([image_windows(load_image(n), kernel, stride) for n in images])
    st = window_stats(wins)
    ratio = st["ratio"][~np.isnan(st["ratio"])]
    qs = {f"q{int(q * 100)}": float(np.quantile(ratio, q)) for q in (0.5, 0.9, 0.99)} if ratio.size else {}
    share = float(np.mean(ratio > 0.5)) if ratio.size else 0.0
    Rs = [r for _, r, _ in closed_forms(d)] if Rs is None else [normalise_R(d, r) for r in Rs]
    seen, uniq = set(), []
    for r in Rs:
        if tuple(r) not in seen:
            seen.add(tuple(r))
            uniq.append(tuple(r))
    rows, arrays = [], {"ratio": st["ratio"], "spread": st["spread"], "gap": st["gap"], "errors": {}}
    for R in uniq:
        opt = optimal_approximation(d, R)
        err = np.abs(subpool_errors_float(wins, d, R, opt.beta))
        i = int(np.argmax(err))
        x = [Fraction(int(v), 255) for v in wins[i]]
        exact_max = abs(max(x) - evaluate_subpool(d, R, opt.beta, x))  # exact on the worst window
        rows.append({"R": list(R), "worst_case_cube": to_text(opt.error), "worst_case_cube_float": float(opt.error),
                     "mean": float(err.mean()), "q99": float(np.quantile(err, 0.99)),
                     "max_on_windows": to_text(exact_max), "max_on_windows_float": float(exact_max),
                     "max_over_worst_case": float(exact_max / opt.error) if opt.error else None})
        arrays["errors"][R] = err
        flat = st["spread"] == 0
        rows[-1]["mean_flat"] = float(err[flat].mean()) if flat.any() else None
        rows[-1]["mean_by_gap_over_spread"] = _binned_means(err, st["ratio"])
    rep = ImageReport(kernel, stride, list(images), int(wins.shape[0]), qs, share,
                      float(np.mean(st["spread"] == 0)), rows)
    return rep, arrays


def plot_image_report(rep: ImageReport, arrays: dict, path: str) -> None:
    """Two panels (matplotlib Agg; PNG, PDF or SVG from the extension): the gap/spread histogram of the
    real windows, and each approximation's mean error per gap/spread bin as a fraction of its certified
    worst case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.figures import save_figure

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    ratio = arrays["ratio"][~np.isnan(arrays["ratio"])]
    a1.hist(ratio, bins=40, color="0.5")
    a1.set_xlabel("gap / spread = (max - second) / (max - min)")
    a1.set_ylabel("windows")
    a1.set_title(f"{rep.kernel}x{rep.kernel} windows, stride {rep.stride} ({rep.n_windows}; "
                 f"{100 * rep.share_flat:.1f}% flat)", fontsize=9)
    mids = [(lo + hi) / 2 for lo, hi in zip(RATIO_BINS, RATIO_BINS[1:])]
    for row in rep.rows:
        means = [b["mean"] for b in row["mean_by_gap_over_spread"]]
        wc = row["worst_case_cube_float"]
        ys = [m / wc if m is not None and wc else np.nan for m in means]
        a2.plot(mids, ys, "o-", ms=3, label="R={" + ",".join(map(str, row["R"])) + "}")
    a2.set_xlabel("gap / spread (bin centre)")
    a2.set_ylabel("mean |max - f| / certified worst case")
    a2.set_ylim(0, 1.05)
    a2.legend(fontsize=6)
    a2.set_title("error on real windows against the gap", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
