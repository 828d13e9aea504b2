"""``verify one-hidden``: is a network's function computable with one hidden ReLU layer (any width)?

Exit codes: 0 representable (a one-hidden-layer network proved equal on R^d), 1 not representable
(an exact certificate, re-checked), 2 bad input, 3 unknown or timeout.
"""

from __future__ import annotations

from ..analysis.one_hidden import check_certificate, max_network, one_hidden_layer
from ..analysis.results import EXIT_CODES
from ..errors import ToolkitBugError, VerifyError
from ..io.json_format import dumps_network, load_network
from .common import (add_output_arg, refuse_beyond_float_range, time_left, timeout_arg, write_output)
from .options import add_quiet_arg
from .render import show

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser(
        "one-hidden", help="decide whether a function is computable with one hidden ReLU layer (d <= 6)",
        description="Decide whether the network's function (one output, d <= 6 inputs) equals some "
                    "one-hidden-layer ReLU network on all of R^d, exactly. Representable: prints the "
                    "one-hidden-layer form, proved equal by z3. Not representable: prints an exact "
                    "certificate (Mukherjee & Basu's hyperplane criterion).")
    p.add_argument("network", metavar="NET.json", nargs="?", help="network file (relu-net/1 or relu-graph/1)")
    p.add_argument("--max", type=int, metavar="D", help="decide for max(x1..xD) instead of a file")
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="give up after this many seconds (result UNKNOWN, exit code 3)")
    add_output_arg(p, "--save-network", metavar="FILE", help="when representable, write the one-hidden-layer network")
    p.add_argument("--json", action="store_true", help="print the result as JSON (numbers as exact strings)")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if (args.network is None) == (args.max is None):
        raise VerifyError("one-hidden: give either NET.json or --max D")
    if args.max is not None:
        if not 1 <= args.max:
            raise VerifyError(f"one-hidden: --max needs D >= 1, got {args.max}")
        net, label = max_network(args.max), f"max_{args.max}"
    else:
        net, label = load_network(args.network), args.network
        refuse_beyond_float_range(args, net, None, "the facet search (float LPs, checked exactly)")
    from ..progress import progress_for

    with progress_for(args, "one-hidden"):
        result = one_hidden_layer(net, timeout=time_left(args))
    if result.certificate is not None and not check_certificate(net, result.certificate).valid:
        raise ToolkitBugError("one-hidden: certificate failed its re-check")  # pragma: no cover
    if args.save_network and result.network is not None:
        write_output(args.save_network, dumps_network(result.network) + "\n")
    show(args.json, result, label=net.name or label, n_inputs=net.n_inputs,
         saved=args.save_network if result.network is not None else None)
    return EXIT_CODES[result.status]
