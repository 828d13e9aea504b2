"""``verify images``: gap/spread of real image windows and the approximations' error on them."""

from __future__ import annotations

from ..analysis.windows import IMAGES, image_report, plot_image_report
from ..errors import VerifyError
from .common import add_output_arg, emit_json

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("images", help="real windows from scikit-image's bundled images (needs verify[images])")
    p.add_argument("--kernel", type=int, default=3, help="window side: 2 (d = 4) or 3 (d = 9); default 3")
    p.add_argument("--stride", type=int, default=2, help="stride (default 2)")
    p.add_argument("--images", default="camera,astronaut,coins", metavar="NAME,...",
                   help=f"bundled images to use (from {', '.join(IMAGES)})")
    add_output_arg(p, "--plot", kind="plot", metavar="FILE.png", help="gap/spread histogram and error per gap bin")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.kernel < 2 or args.kernel > 4:
        raise VerifyError(f"--kernel must be 2, 3 or 4, got {args.kernel}")
    if args.stride < 1:
        raise VerifyError(f"--stride must be at least 1, got {args.stride}")
    names = [n.strip() for n in args.images.split(",") if n.strip()]
    if not names:
        raise VerifyError(f"--images names no image (choose from {', '.join(IMAGES)})")
    rep, arrays = image_report(args.kernel, args.stride, names)
    if args.plot:
        try:
            plot_image_report(rep, arrays, args.plot)
        except OSError as exc:
            raise VerifyError(f"cannot write {args.plot}: {exc.strerror or exc}") from None
    if args.json:
        emit_json(rep.to_json())
        return 0
    q = rep.ratio_quantiles
    print(f"{rep.n_windows} windows {rep.kernel}x{rep.kernel}, stride {rep.stride}, from {', '.join(rep.images)}")
    print(f"  gap/spread (non-flat windows): median {q.get('q50', float('nan')):.3f}, 90% {q.get('q90', float('nan')):.3f}, "
          f"99% {q.get('q99', float('nan')):.3f}; share above 1/2: {100 * rep.share_large_gap:.1f}%; "
          f"flat windows: {100 * rep.share_flat:.1f}%")
    print("  | R | worst case on cube | max on windows (exact) | mean | mean, flat | mean by gap/spread bin |")
    print("  |---|---|---|---|---|---|")
    for r in rep.rows:
        bins = " ".join("-" if b["mean"] is None else f"{b['mean']:.4f}" for b in r["mean_by_gap_over_spread"])
        flat = "-" if r["mean_flat"] is None else f"{r['mean_flat']:.4f}"
        print(f"  | {{{','.join(map(str, r['R']))}}} | {r['worst_case_cube']} | {r['max_on_windows']} | "
              f"{r['mean']:.4f} | {flat} | {bins} |")
    return 0
