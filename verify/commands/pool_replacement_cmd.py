"""``verify pool-replacement MODEL REPLACEMENT --box LO,HI``: the layer-level comparison of a model with
max pooling and the same model with its pooling replaced (:func:`verify.analysis.pool_replacement.pool_replacement`).

Per window: the exact ``sup (R_w - max_w)`` and ``sup (max_w - R_w)`` over sound bounds of the pooling
inputs (distinct windows solved once); then a sound bound on the effect at each of the model's outputs.
The text output lists what was assumed. Exit 0 when every window is exact, 3 when some window timed out
(its bracket is still sound), 2 on bad input (including models whose layers do not match).
"""

from __future__ import annotations

from ..analysis.results import EXIT_CODES
from ..domain import parse_box
from ..errors import VerifyError
from ..status import Status
from .common import emit_json, timeout_arg
from .models import load_model, parse_input_shape
from .options import add_quiet_arg, difference_backends
from .render import show

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("pool-replacement",
                       help="exact worst case of each replaced pooling window, and a sound bound at the output",
                       description="Compare MODEL (with max pooling) and REPLACEMENT (the same model with each "
                                   "pooling window replaced by a ReLU sub-network) window by window, exactly.")
    p.add_argument("model", metavar="MODEL", help="the model with max pooling (.onnx, .pt/.pth or .json)")
    p.add_argument("replacement", metavar="REPLACEMENT", help="the same model with the pooling replaced")
    p.add_argument("--box", metavar="LO,HI", required=True, help="the input box [LO,HI]^d (exact decimals or fractions)")
    p.add_argument("--bounds", choices=("interval", "lp"), default="interval",
                   help="how the pooling inputs are bounded from the layers above (default interval)")
    p.add_argument("--backend", choices=difference_backends(), default="auto",
                   help="auto (default: the route of verify/reductions/auto.py) or one named chain: "
                        + ", ".join(b for b in difference_backends() if b != "auto"))
    p.add_argument("--whole-model", action="store_true",
                   help="also the exact worst-case difference of the two whole models (small models only)")
    p.add_argument("--input-shape", metavar="C,H,W", default=None, help="torch models: one input's shape without batch")
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="give up after this many seconds (windows not solved are UNKNOWN with sound brackets, exit 3)")
    p.add_argument("--json", action="store_true", help="print the report as JSON (numbers as exact strings)")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..analysis.pool_replacement import pool_replacement
    from ..progress import progress_for

    shape = parse_input_shape(args.input_shape)
    model = load_model(args.model, keep_layers=True, input_shape=shape).net
    replacement = load_model(args.replacement, keep_layers=True, input_shape=shape).net
    if model.n_inputs != replacement.n_inputs:
        raise VerifyError(f"{args.model} has {model.n_inputs} inputs, {args.replacement} has {replacement.n_inputs}")
    box = parse_box(args.box, model.n_inputs)
    with progress_for(args, "pool-replacement"):
        r = pool_replacement(model, replacement, box, bounds=args.bounds, backend=args.backend,
                             whole_model=args.whole_model, timeout=args.timeout)
    if args.json:
        emit_json(r.to_json())
    else:
        show(False, r, model=args.model, replacement=args.replacement)
    return 0 if r.status is Status.PROVED else EXIT_CODES[r.status]
