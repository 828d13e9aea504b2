"""``verify exact``: prove or refute N == max on a box or on all of R^d."""

from __future__ import annotations

from ..analysis.exactness import check_exact
from ..analysis.results import EXIT_CODES, Status
from ..numbers import to_text
from .common import add_certificate_arg, add_network_arg, add_query_args, domain_of, emit_json, load, save_certificate_of


def register(sub) -> None:
    p = sub.add_parser("exact", help="prove N(x) == max(x) on a box or on all of R^d")
    add_network_arg(p)
    p.add_argument("--backend", choices=("z3", "milp", "auto", "arrangement"), default="z3",
                   help="z3 (default), milp (HiGHS-guided exact branch and bound), auto, or arrangement "
                        "(bias-free, <= 2 hidden layers, on R^d: rays of the network's hyperplane arrangement)")
    add_query_args(p)
    add_certificate_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    net = load(args)
    domain = domain_of(args, net)
    result = check_exact(net, domain, timeout=args.timeout, backend=args.backend)
    save_certificate_of(args, net, result)
    if args.json:
        emit_json(result.to_json())
    else:
        print(f"{result.status}: {net.name or args.network} == max on {domain.describe()} ({result.seconds:.3f} s)")
        if result.status is Status.REFUTED:
            point = ", ".join(to_text(v) for v in result.counterexample)
            print(f"  counterexample x = ({point})")
            print(f"  output {result.output_index}: network {to_text(result.network_value)}, "
                  f"max {to_text(result.reference_value)} (checked by exact evaluation)")
        elif result.status is Status.UNKNOWN:
            print(f"  {result.reason}")
    return EXIT_CODES[result.status]
