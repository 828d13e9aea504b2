"""``verify error``: exact worst-case error of N against max on a box."""

from __future__ import annotations

from ..analysis.results import EXIT_CODES, Status
from ..analysis.worst_case import worst_case_error
from ..numbers import to_text
from .common import add_certificate_arg, add_network_arg, add_query_args, domain_of, emit_json, load, save_certificate_of


def register(sub) -> None:
    p = sub.add_parser("error", help="exact sup of N - max and of max - N over a box")
    add_network_arg(p)
    p.add_argument("--backend", choices=("z3", "milp", "auto"), default="z3",
                   help="z3 (default), milp (HiGHS-guided exact branch and bound) or auto")
    add_query_args(p, box_required=True)
    add_certificate_arg(p)
    p.set_defaults(func=run)


def _pt(x) -> str:
    return "(" + ", ".join(to_text(v) for v in x) + ")"


def run(args) -> int:
    net = load(args)
    box = domain_of(args, net)
    r = worst_case_error(net, box, timeout=args.timeout, backend=args.backend)
    save_certificate_of(args, net, r)
    if args.json:
        emit_json(r.to_json())
    else:
        tag = "" if r.status is Status.PROVED else " (lower bound: UNKNOWN)"
        print(f"{r.status}: worst-case error of {net.name or args.network} on {box.describe()} ({r.seconds:.3f} s)")
        print(f"  sup(N - max) = {to_text(r.sup_over)}{tag}  at x = {_pt(r.witness_over)}")
        print(f"  sup(max - N) = {to_text(r.sup_under)}{tag}  at x = {_pt(r.witness_under)}")
        print(f"  sup|N - max| = {to_text(r.sup_abs)}")
        if r.status is not Status.PROVED:
            print(f"  sound upper bounds: {to_text(r.upper_over)} and {to_text(r.upper_under)}; {r.reason}")
    return EXIT_CODES[r.status] if r.status is not Status.PROVED else 0
