"""``verify export``: SMT-LIB 2 queries and VNN-LIB benchmarks (ONNX + property) for other tools."""

from __future__ import annotations

from pathlib import Path

from ..domain import Box
from ..errors import VerifyError
from ..io.vnnlib import VNNLIB_FILES
from ..numbers import parse_rational
from .common import add_network_arg, add_output_arg, domain_of, load, write_output, write_output_bytes

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="export a query as SMT-LIB 2 (--smtlib) or a VNN-LIB benchmark directory (--vnnlib)",
        description="SMT-LIB: the exactness query (unsat <=> N == max on the domain), or with --threshold T "
                    "the worst-case query (unsat <=> error <= T). VNN-LIB: network.onnx, difference.onnx "
                    "(N - max), property.vnnlib (some |N - max| >= T in the box) and instances.csv.")
    add_network_arg(p)
    target = p.add_mutually_exclusive_group(required=True)
    add_output_arg(target, "--smtlib", metavar="FILE", help="write an SMT-LIB 2 query (QF_LRA) to FILE")
    add_output_arg(target, "--vnnlib", kind="dir", names=VNNLIB_FILES, metavar="DIR", help="write a VNN-LIB benchmark to DIR")
    add_output_arg(target, "--onnx", metavar="FILE", help="write the network alone as ONNX")
    p.add_argument("--box", metavar="LO,HI", default=None, help="domain [LO,HI]^d (needed for --threshold and --vnnlib)")
    p.add_argument("--threshold", metavar="T", default=None, help="error threshold (exact rational)")
    p.add_argument("--side", choices=("abs", "under", "over"), default="abs",
                   help="SMT-LIB threshold query: which error (default abs: either side)")
    p.add_argument("--against", metavar="NET2.json", default=None,
                   help="SMT-LIB: an equivalence query against another network instead of max")
    p.add_argument("--gradient", action="store_true",
                   help="SMT-LIB: the gradient query (unsat <=> gradient == one-hot of the argmax off the tie set)")
    p.add_argument("--autodiff", metavar="S", default=None,
                   help="with --gradient: autodiff's gradient with relu'(0) = S instead of the true gradient")
    p.add_argument("--allow-rounding", action="store_true",
                   help="ONNX: round weights that float32 cannot hold (the file is then a different network)")
    p.set_defaults(func=run)


def _threshold(args):
    if args.threshold is None:
        return None
    try:
        return parse_rational(args.threshold)
    except ValueError as exc:
        raise VerifyError(f"--threshold: {exc}") from None


def run(args) -> int:
    net = load(args)
    t = _threshold(args)
    if args.smtlib:
        from ..io import smtlib
        from ..io.json_format import load_network

        domain = domain_of(args, net)
        if args.gradient:
            from ..analysis.gradients import gradient_query_smtlib

            if not isinstance(domain, Box):
                raise VerifyError("--gradient needs --box")
            if args.autodiff is None:
                text = gradient_query_smtlib(net, domain)
                what = "gradient == one-hot"
            else:
                try:
                    s = parse_rational(args.autodiff)
                except ValueError as exc:
                    raise VerifyError(f"--autodiff: {exc}") from None
                text = gradient_query_smtlib(net, domain, mode="autodiff", s=s)
                what = f"autodiff gradient (relu'(0) = {args.autodiff}) == one-hot"
        elif args.against:
            text = smtlib.equivalence_query(net, load_network(args.against), domain)
            what = f"equivalence with {args.against}"
        elif t is not None:
            if not isinstance(domain, Box):
                raise VerifyError("--threshold needs --box")
            text = smtlib.threshold_query(net, domain, t, args.side)
            what = f"worst-case error ({args.side}) > {args.threshold}"
        else:
            text = smtlib.exactness_query(net, domain)
            what = "exactness"
        write_output(args.smtlib, text)
        print(f"wrote {args.smtlib}: {what} on {domain.describe()} (SMT-LIB 2; unsat proves the claim)")
        return 0
    from ..io.vnnlib import export_vnnlib, network_to_onnx

    if args.onnx:
        try:
            model = network_to_onnx(net, allow_rounding=args.allow_rounding)
        except VerifyError as exc:
            raise VerifyError(f"{args.network}: {exc}") from None
        write_output_bytes(args.onnx, model.SerializeToString())
        print(f"wrote {args.onnx}: {net.n_inputs} inputs, {net.n_outputs} outputs")
        return 0
    if args.box is None or t is None:
        raise VerifyError("--vnnlib needs --box and --threshold")
    box = domain_of(args, net)
    folder = Path(args.vnnlib)
    replaced = [n for n in VNNLIB_FILES if (folder / n).exists()]
    try:
        paths = export_vnnlib(net, args.vnnlib, box, t, allow_rounding=args.allow_rounding)
    except OSError as exc:
        raise VerifyError(f"cannot write {args.vnnlib}: {exc.strerror or exc}") from None
    except VerifyError as exc:
        raise VerifyError(f"{args.network}: {exc}") from None
    print(f"wrote {', '.join(paths.values())}"
          + (f" (replaced the existing {', '.join(replaced)})" if replaced else ""))
    return 0
