"""``verify tradeoff``: certified error against width for every R containing {0, 1}."""

from __future__ import annotations

from ..analysis.tradeoff import depth_limited, markdown_table, plot_tradeoff, tradeoff
from ..errors import VerifyError
from ..numbers import to_text
from .common import (add_output_arg, emit_json, timeout_arg, write_output)
from .options import add_quiet_arg

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("tradeoff", help="optimal error against network size for every R containing {0,1}")
    p.add_argument("--d", type=int, required=True, help="window size (2..12)")
    p.add_argument("--gadget", default="A", choices=("A", "B", "skip"), help="pairwise-max gadget")
    p.add_argument("--share", action="store_true", help="reuse sub-subset maxima")
    add_output_arg(p, "--plot", kind="plot", metavar="FILE.png", help="log error against log width, Pareto front marked")
    add_output_arg(p, "--markdown", metavar="FILE.md", help="write the markdown table to a file")
    p.add_argument("--json", action="store_true", help="print the rows as JSON (errors as exact strings)")
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="stop starting new index sets after this many seconds (the rows done are printed, exit 3)")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from ..analysis.tradeoff import all_R_with_01
    from ..progress import progress_for

    with progress_for(args, "tradeoff"):
        rows = tradeoff(args.d, gadget=args.gadget, share=args.share, timeout=args.timeout)
    total = len(all_R_with_01(args.d)) if 2 <= args.d <= 12 else len(rows)
    incomplete = len(rows) < total
    table = markdown_table(rows, args.d)
    if args.plot:
        try:
            plot_tradeoff(rows, args.d, args.plot)
        except OSError as exc:
            raise VerifyError(f"cannot write {args.plot}: {exc.strerror or exc}") from None
    if args.markdown:
        write_output(args.markdown, table)
    if args.json:
        emit_json({"d": args.d, "gadget": args.gadget, "share": args.share, "complete": not incomplete,
                   "rows": [r.to_json() for r in rows],
                   "pareto": [list(r.R) for r in rows if r.pareto],
                   "depth_limited": [{"hidden_layers": L, "error": to_text(r.error), "R": list(r.R), "width": r.width}
                                     for L, r in depth_limited(rows)]})
    else:
        print(table, end="")
    if incomplete:
        print(f"verify: timeout: {len(rows)} of {total} index sets done (the rows shown are exact)", file=sys.stderr)
        return 3
    return 0
