"""``verify sympy``: print a network as a sympy formula (or LaTeX)."""

from __future__ import annotations

from ..backends.sympy_backend import to_sympy
from ..errors import ResourceLimitError
from .common import add_network_arg, emit_json, load, timeout_arg

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("sympy", help="print the network as a formula in Max (sympy), Piecewise or LaTeX")
    add_network_arg(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--latex", action="store_true", help="LaTeX instead of sympy text")
    g.add_argument("--piecewise", action="store_true", help="ReLUs and maxima as Piecewise")
    p.add_argument("--json", action="store_true", help="print {\"outputs\": [...]} as JSON")
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="give up after this many seconds (exit code 3)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sympy as sp

    net = load(args)
    form = "piecewise" if args.piecewise else "max"
    try:
        exprs = to_sympy(net, form=form, deadline=getattr(args, "deadline", None))
        exprs = exprs if isinstance(exprs, tuple) else (exprs,)
        texts = [sp.latex(e) if args.latex else str(e) for e in exprs]
    except RecursionError:
        # sympy builds and prints formulas recursively; a Piecewise nests two copies of its argument per
        # ReLU, so a deep network gives a formula deeper than Python's stack allows
        raise ResourceLimitError(f"{args.network}: the {form} formula of this network is nested too deeply for "
                                 f"sympy to build or print ({net.n_relus} ReLUs)"
                                 + ("; the default Max form is shallower" if args.piecewise else "")) from None
    if args.json:
        emit_json({"query": "sympy", "symbols": [f"x{i + 1}" for i in range(net.n_inputs)],
                   "form": "latex" if args.latex else ("piecewise" if args.piecewise else "max"), "outputs": texts})
        return 0
    for k, t in enumerate(texts):
        prefix = f"y{k + 1} = " if len(texts) > 1 else ""
        print(prefix + t)
    return 0
