"""``verify error``: exact worst-case error of N against max on a box."""

from __future__ import annotations

from ..analysis.results import EXIT_CODES
from ..analysis.worst_case import worst_case_error
from ..status import Status
from .common import (add_certificate_arg, add_network_arg, add_query_args, domain_of, load,
                     refuse_beyond_float_range, save_certificate_of, time_left)
from .engine_options import add_engine_args, engine_options_of
from .render import show

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("error", help="exact sup of N - max and of max - N over a box")
    add_network_arg(p)
    p.add_argument("--backend", choices=("auto", "engine", "z3", "milp"), default="auto",
                   help="auto (default: the best route, verify/reductions/auto.py), engine (the exact branch "
                        "and bound of verify/engine), z3 (region hopping) or milp (HiGHS-guided branch and bound)")
    add_query_args(p, box_required=True)
    add_certificate_arg(p)
    add_engine_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    net = load(args)
    box = domain_of(args, net)
    if args.backend in ("milp", "engine"):  # float-guided by nature (HiGHS LPs): refused up front
        refuse_beyond_float_range(args, net, box, "the MILP backend (HiGHS guidance)" if args.backend == "milp"
                                  else "the engine (float LP bounds)", "--backend z3 or auto is exact for it")
    with engine_options_of(args):
        r = worst_case_error(net, box, timeout=time_left(args), backend=args.backend)
    save_certificate_of(args, net, r)
    show(args.json, r, label=net.name or args.network)
    return EXIT_CODES[r.status] if r.status is not Status.PROVED else 0
