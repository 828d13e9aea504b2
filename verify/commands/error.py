"""``verify error``: exact worst-case error of N against max on a box."""

from __future__ import annotations

from ..analysis.results import EXIT_CODES
from ..analysis.worst_case import worst_case_error
from ..status import Status
from .common import (add_certificate_arg, add_network_arg, add_query_args, domain_of, load, refuse_beyond_float_range, save_certificate_of, time_left)
from .engine_options import add_engine_args, engine_options_of
from .models import load_model, parse_input_shape
from .options import add_quiet_arg
from .render import show
from .windows_arg import add_windows_args, attach_windows, require_windows, windows_of

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("error", help="exact sup of N - max and of max - N over a box")
    p.add_argument("network", metavar="NET", help="network file: .json (relu-net/1, relu-graph/1), .onnx, .pt or .pth")
    p.add_argument("--backend", choices=("auto", "engine", "z3", "milp"), default="auto",
                   help="auto (default: the best route, verify/reductions/auto.py), engine (the exact branch "
                        "and bound of verify/engine), z3 (region hopping) or milp (HiGHS-guided branch and bound)")
    add_query_args(p, box_required=True)
    add_certificate_arg(p)
    add_engine_args(p)
    add_windows_args(p)
    p.add_argument("--input-shape", metavar="C,H,W", default=None, help="torch models: one input's shape without batch")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..progress import progress_for

    model = load_model(args.network, input_shape=parse_input_shape(args.input_shape))
    net = attach_windows(model.net, windows_of(args), args.network)
    require_windows(net, args.network, model.shape if model.image_shaped else None)
    box = domain_of(args, net)
    if args.backend in ("milp", "engine"):  # float-guided by nature (HiGHS LPs): refused up front
        refuse_beyond_float_range(args, net, box, "the MILP backend (HiGHS guidance)" if args.backend == "milp"
                                  else "the engine (float LP bounds)", "--backend z3 or auto is exact for it")
    with engine_options_of(args), progress_for(args, "error"):
        r = worst_case_error(net, box, timeout=time_left(args), backend=args.backend)
    save_certificate_of(args, net, r)
    show(args.json, r, label=net.name or args.network)
    return EXIT_CODES[r.status] if r.status is not Status.PROVED else 0
