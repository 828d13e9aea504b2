"""``verify diff A B``: the exact worst-case difference of two networks, or ``--equal``: are they equal?

``sup_over = sup (A - B)``, ``sup_under = sup (B - A)`` and ``sup_abs`` over a box, each with an exact
witness, per output and overall (:func:`verify.analysis.decompose.decomposed_difference`: outputs that
read fewer than all inputs are solved on their own sub-networks, identical ones once). ``--equal``
decides ``A == B`` on the box or on all of R^d (:func:`verify.analysis.exactness.check_equivalent`, by
output support when that pays): PROVED (exit 0), REFUTED with an exact counterexample (1), UNKNOWN (3).
Both go through the default route ``auto`` (:mod:`verify.reductions.auto`); ``--backend`` for experts.
"""

from __future__ import annotations

from ..analysis.results import EXIT_CODES
from ..domain import Box, RealSpace, parse_box
from ..errors import VerifyError
from ..status import Status
from .common import emit_json, timeout_arg
from .models import load_model, parse_input_shape
from .options import add_quiet_arg, difference_backends
from .render import show
from .windows_arg import add_windows_args, attach_windows, windows_of

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("diff", help="exact worst-case difference of two networks (or --equal: are they equal?)",
                       description="sup(A - B), sup(B - A) and sup|A - B| over a box, each with an exact witness, "
                                   "per output and overall; --equal decides A == B. A and B: .json, .onnx, .pt/.pth.")
    p.add_argument("a", metavar="A", help="first network (.json, .onnx, .pt or .pth)")
    p.add_argument("b", metavar="B", help="second network, with the same numbers of inputs and outputs")
    p.add_argument("--box", metavar="LO,HI", default=None,
                   help="the box [LO,HI]^d (exact decimals or fractions); needed unless --equal (default R^d)")
    p.add_argument("--equal", action="store_true", help="decide A == B instead (exit 0 equal, 1 different, 3 unknown)")
    p.add_argument("--backend", choices=difference_backends(), default="auto",
                   help="auto (default: the route of verify/reductions/auto.py) or one named chain: "
                        + ", ".join(b for b in difference_backends() if b != "auto"))
    p.add_argument("--no-decompose", action="store_true",
                   help="solve the whole networks at once instead of output by output (no per-output answers)")
    p.add_argument("--input-shape", metavar="C,H,W", default=None, help="torch models: one input's shape without batch")
    add_windows_args(p)
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="give up after this many seconds (result UNKNOWN with sound brackets, exit code 3)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (numbers as exact strings)")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def _check_windows(net, windows, what: str) -> None:
    """Windows given to ``diff`` are a promise about the networks: each output reads only its window."""
    from ..analysis.decompose import output_supports

    for o, (support, window) in enumerate(zip(output_supports(net), windows)):
        stray = sorted(set(support) - set(window))
        if stray:
            raise VerifyError(f"--windows: output {o} of {what} reads input {stray[0]}, outside its window")


def run(args) -> int:
    from ..analysis.compare import worst_case_difference
    from ..analysis.decompose import decomposed_difference, decomposed_equivalence, has_smaller_supports
    from ..analysis.exactness import check_equivalent
    from ..progress import progress_for

    shape = parse_input_shape(args.input_shape)
    a = load_model(args.a, input_shape=shape).net
    b = load_model(args.b, input_shape=shape).net
    if a.n_inputs != b.n_inputs or a.n_outputs != b.n_outputs:
        raise VerifyError(f"{args.a} has {a.n_inputs} inputs and {a.n_outputs} outputs, {args.b} has "
                          f"{b.n_inputs} and {b.n_outputs}: diff needs the same numbers")
    windows = windows_of(args)
    if windows is not None:
        a, b = attach_windows(a, windows, args.a), attach_windows(b, windows, args.b)
        _check_windows(a, windows, args.a)
        _check_windows(b, windows, args.b)
    domain = RealSpace(a.n_inputs) if args.box is None else parse_box(args.box, a.n_inputs)
    decompose = not args.no_decompose and has_smaller_supports(a, b)
    label_a, label_b = a.name or args.a, b.name or args.b
    with progress_for(args, "diff"):
        if args.equal:
            if decompose:
                r = decomposed_equivalence(a, b, domain, backend=args.backend, timeout=args.timeout)
            else:
                r = check_equivalent(a, b, domain, timeout=args.timeout, backend=args.backend)
            show(args.json, r, label=label_a, reference=label_b)
            return EXIT_CODES[r.status]
        if not isinstance(domain, Box):
            raise VerifyError("diff needs --box LO,HI (the difference on all of R^d is unbounded in general); "
                              "--equal decides equality on R^d")
        if args.no_decompose:
            r = worst_case_difference(a, b, domain, timeout=args.timeout, backend=args.backend, decompose=False)
            if args.json:
                out = r.to_json()
                out["query"] = "diff"
                emit_json(out)
            else:
                show(False, r, label=f"{label_a} vs {label_b}", a="A", b="B", what="worst-case difference")
        else:
            r = decomposed_difference(a, b, domain, backend=args.backend, timeout=args.timeout)
            if args.json:
                out = r.to_json()
                out["query"] = "diff"
                out["decomposed"] = decompose
                emit_json(out)
            else:
                show(False, r, label=f"{label_a} vs {label_b}")
            r = r.overall
    return 0 if r.status is Status.PROVED else EXIT_CODES[r.status]
