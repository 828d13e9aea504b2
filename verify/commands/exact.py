"""``verify exact``: prove or refute N == max on a box or on all of R^d."""

from __future__ import annotations

from ..analysis.exactness import check_exact
from ..analysis.results import EXIT_CODES
from .common import (add_certificate_arg, add_network_arg, add_query_args, domain_of, load,
                     refuse_beyond_float_range, save_certificate_of, time_left)
from .engine_options import add_engine_args, engine_options_of
from .render import show

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("exact", help="prove N(x) == max(x) on a box or on all of R^d")
    add_network_arg(p)
    p.add_argument("--backend", choices=("auto", "engine", "z3", "milp", "arrangement"), default="auto",
                   help="auto (default: the best route, verify/reductions/auto.py), engine (the exact branch "
                        "and bound of verify/engine), z3, milp (HiGHS-guided exact branch and bound), or arrangement "
                        "(bias-free, <= 2 hidden layers, on R^d: rays of the network's hyperplane arrangement)")
    add_query_args(p)
    add_certificate_arg(p)
    add_engine_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    net = load(args)
    domain = domain_of(args, net)
    if args.backend in ("milp", "engine"):  # float-guided by nature (HiGHS LPs): refused up front
        refuse_beyond_float_range(args, net, domain, "the MILP backend (HiGHS guidance)" if args.backend == "milp"
                                  else "the engine (float LP bounds)", "--backend z3 or auto is exact for it")
    with engine_options_of(args):
        result = check_exact(net, domain, timeout=time_left(args), backend=args.backend)
    save_certificate_of(args, net, result)
    show(args.json, result, label=net.name or args.network)
    return EXIT_CODES[result.status]
