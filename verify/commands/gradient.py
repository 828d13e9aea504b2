"""``verify gradient``: is the gradient the one-hot of the argmax wherever the argmax is unique?"""

from __future__ import annotations

from ..analysis.gradients import MAX_RULES, check_gradient_onehot
from ..analysis.results import EXIT_CODES
from ..errors import VerifyError
from ..numbers import parse_rational
from ..progress import progress_for
from .common import add_network_arg, add_query_args, domain_of, emit_json, load, time_left
from .options import add_quiet_arg
from .render import show

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser(
        "gradient", help="prove that the gradient is the one-hot of the argmax off the tie set (SMT query)",
        description="For every x in the open box where each window's argmax is unique, decide whether the "
                    "network's gradient (the true one, or autodiff's with --autodiff S = relu'(0)) is the "
                    "one-hot vector of the argmax. A refutation names a region and a point.")
    add_network_arg(p)
    add_query_args(p, box_required=True)
    p.add_argument("--autodiff", metavar="S", default=None,
                   help="check autodiff's gradient with relu'(0) = S instead of the true gradient")
    p.add_argument("--regions", action="store_true",
                   help="instead: list every open activation region meeting the box with its exact gradient")
    p.add_argument("--output", type=int, default=0, help="with --regions: which output (default 0)")
    p.add_argument("--max-rule", choices=MAX_RULES, default="first", help="autodiff rule for max nodes")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    with progress_for(args, "gradient"):  # elapsed time on a terminal: the SMT queries can take a while
        return _run(args)


def _run(args) -> int:
    net = load(args)
    box = domain_of(args, net)
    if args.regions:
        from ..analysis.gradients import region_gradients
        from ..numbers import to_text

        regions = region_gradients(net, box, output=args.output, timeout=time_left(args))
        if args.json:
            emit_json({"query": "regions", "domain": box.to_json(), "output": args.output,
                       "regions": [r.to_json() for r in regions]})
        else:
            print(f"{len(regions)} open activation regions of output {args.output} meet {box.describe()}")
            for r in regions:
                grad = ", ".join(to_text(v) for v in r.gradient)
                point = ", ".join(to_text(v) for v in r.witness)
                print(f"  gradient ({grad})  active ReLUs {{{', '.join(map(str, r.active))}}}  e.g. x = ({point})")
        return 0
    if args.autodiff is None:
        r = check_gradient_onehot(net, box, timeout=time_left(args))
    else:
        try:
            s = parse_rational(args.autodiff)
        except ValueError as exc:
            raise VerifyError(f"--autodiff: {exc}") from None
        r = check_gradient_onehot(net, box, mode="autodiff", s=s, max_rule=args.max_rule, timeout=time_left(args))
    show(args.json, r)
    return EXIT_CODES[r.status]
