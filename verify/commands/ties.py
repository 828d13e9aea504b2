"""``verify ties``: autodiff of the max-tree emulations at every tie pattern of a k x k window."""

from __future__ import annotations

from fractions import Fraction

from ..analysis.gradients import tie_table
from ..constructions.gadgets import GADGETS
from ..errors import VerifyError
from ..numbers import parse_rational, to_text
from .common import emit_json

__all__ = ["register", "run"]


def _rationals(text: str, what: str) -> list[Fraction]:
    try:
        return [parse_rational(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise VerifyError(f"--{what}: {exc}") from None


def register(sub) -> None:
    p = sub.add_parser(
        "ties", help="gradients of ReLU emulations of max pooling at ties (valid subgradient? which convention?)",
        description="For every window with entries in VALUES, compute exactly what autodiff gives for the "
                    "max-tree emulation with relu'(0) = s, check it against the Clarke subdifferential of max, "
                    "and compare it with max pooling's conventions (first maximal index; even split).")
    p.add_argument("--kernel", type=int, required=True, help="window size k (k x k window, k*k inputs)")
    p.add_argument("--gadget", choices=GADGETS, action="append", help="gadget(s) (default: all)")
    p.add_argument("--s", default="0,1/2,1", metavar="S,...", help="values of relu'(0) (default 0,1/2,1)")
    p.add_argument("--values", default="0,1", metavar="V,...", help="window entries (default 0,1)")
    p.add_argument("--list", action="store_true", help="list the invalid patterns and their gradients")
    p.add_argument("--json", action="store_true", help="print every row as JSON")
    p.set_defaults(func=run)


def _vec(v) -> str:
    return "(" + ", ".join(to_text(x) for x in v) + ")"


def run(args) -> int:
    slopes = _rationals(args.s, "s")
    values = _rationals(args.values, "values")
    if not slopes or not values:
        raise VerifyError("--s and --values need at least one number each")
    table = tie_table(args.kernel, gadgets=tuple(args.gadget or GADGETS), slopes=slopes, values=values)
    if args.json:
        emit_json(table.to_json())
        return 0
    n = args.kernel * args.kernel
    print(f"ties: {args.kernel}x{args.kernel} window, entries in {{{', '.join(map(to_text, values))}}}, "
          f"{len(values) ** n} patterns (exact autodiff of the max tree)")
    print(f"{'gadget':>6} {'s':>5} {'invalid':>8} {'!=first':>8} {'!=split':>8}   first invalid pattern -> gradient")
    for row in table.summary():
        bad = table.invalid(row["gadget"], row["s"])
        example = ""
        if bad:
            r = next(r for r in table.rows[(row["gadget"], row["s"])] if not r["valid"])
            example = f"{_vec(r['pattern'])} -> {_vec(r['gradient'])}"
        print(f"{row['gadget']:>6} {to_text(row['s']):>5} {row['invalid']:>8} {row['differs_from_first']:>8} "
              f"{row['differs_from_split']:>8}   {example}")
        if args.list:
            for r in table.rows[(row["gadget"], row["s"])]:
                if not r["valid"]:
                    print(f"{'':>16}{_vec(r['pattern'])} -> {_vec(r['gradient'])}")
    print("invalid: autodiff gradient outside the Clarke subdifferential conv{e_i : x_i = max x}")
    return 0
