"""``verify regions``: exact activation regions, affine maps and linear pieces in a box (or on a 2-D slice)."""

from __future__ import annotations

import dataclasses
import sys

from ..analysis.regions import count_regions, slice_network
from ..analysis.results import EXIT_CODES, Status
from ..domain import Box
from ..errors import DomainError, ResourceLimitError
from ..numbers import parse_rational, to_text
from .common import (add_network_arg, add_output_arg, add_query_args, domain_of, emit_json, load,
                     refuse_beyond_float_range, time_left)
from .render import show

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("regions", help="count activation regions, affine maps and linear pieces exactly")
    add_network_arg(p)
    add_query_args(p)
    p.add_argument("--slice", metavar="I,J", default=None,
                   help="count (and plot) on the plane through --base spanned by inputs I and J")
    p.add_argument("--base", metavar="X0,X1,...", default=None,
                   help="base point of the slice (exact numbers; default: the centre of the box)")
    add_output_arg(p, "--plot", kind="plot", metavar="FILE.png", default=None,
                   help="draw the regions of the slice (2-input networks: the whole box) with the pieces of max")
    p.add_argument("--max-regions", type=int, metavar="N", default=None,
                   help="stop after N regions (result UNKNOWN, counts are lower bounds, exit code 3)")
    p.add_argument("--no-pieces", action="store_true",
                   help="skip linear pieces (streams regions without keeping them in memory)")
    p.add_argument("--progress", action="store_true", help="show a progress counter on stderr")
    p.add_argument("--quiet", action="store_true", help="no progress counter (by default shown after 2 s on a terminal)")
    p.add_argument("--backend", choices=("highs", "z3"), default="highs",
                   help="highs: float LPs guide the search, exact checks decide (default); z3: every branch exact")
    p.set_defaults(func=run)


def _parse_slice(text: str, d: int) -> tuple[int, int]:
    parts = [t.strip() for t in text.split(",")]
    try:
        i, j = (int(t) for t in parts)
    except ValueError:
        raise DomainError(f"--slice {text!r}: expected two input indices I,J") from None
    for k in (i, j):
        if not 0 <= k < d:
            raise DomainError(f"--slice {text!r}: index {k} is not an input index 0..{d - 1}")
    if i == j:
        raise DomainError(f"--slice {text!r}: the two indices must differ")
    return i, j


def _parse_base(text: str | None, d: int, box) -> tuple:
    if text is None:
        if not isinstance(box, Box):
            return tuple(parse_rational(0) for _ in range(d))
        return box.center()
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != d:
        raise DomainError(f"--base has {len(parts)} coordinates, the network has {d} inputs")
    try:
        return tuple(parse_rational(t) for t in parts)
    except ValueError as exc:
        raise DomainError(f"--base {text!r}: {exc}") from None


def run(args) -> int:
    net = load(args)
    d = net.n_inputs
    domain = domain_of(args, net)
    if args.max_regions is not None and args.max_regions < 0:
        raise DomainError("--max-regions must be a non-negative integer")
    if args.base is not None and args.slice is None:
        raise DomainError("--base needs --slice I,J")
    if args.plot is not None and args.slice is None and d != 2:
        raise DomainError(f"--plot needs --slice I,J for a network with {d} inputs")
    if args.plot is not None and not isinstance(domain, Box):
        raise DomainError("--plot needs --box LO,HI")
    refuse_beyond_float_range(args, net, domain, "region enumeration (float interior points, checked exactly)")
    target, target_domain, slice_info = net, domain, None
    i = j = None
    if args.slice is not None:
        i, j = _parse_slice(args.slice, d)
        base = _parse_base(args.base, d, domain)
        if isinstance(domain, Box) and not domain.contains(base):
            raise DomainError("--base lies outside the box")
        target = slice_network(net, i, j, base)
        if isinstance(domain, Box):
            target_domain = Box((domain.lo[i], domain.lo[j]), (domain.hi[i], domain.hi[j]))
        else:
            from ..domain import RealSpace

            target_domain = RealSpace(2)
        slice_info = {"i": i, "j": j, "base": [to_text(v) for v in base]}
    elif d == 2:
        i, j = 0, 1
    r = count_regions(target, target_domain, pieces=not args.no_pieces, max_regions=args.max_regions,
                      timeout=time_left(args), backend=args.backend, progress=True if args.progress else (False if args.quiet else None))
    r = dataclasses.replace(r, network=net.name or args.network, slice=slice_info)
    plot_note = ""
    if args.plot is not None:
        if r.status is not Status.PROVED:
            plot_note = "plot not drawn: the count did not finish"
        else:
            from ..analysis.regions.plot import plot_region_map

            base = _parse_base(args.base, d, domain) if args.slice is not None else domain.center()
            try:
                plot_region_map(net, domain, i, j, args.plot, base=base, timeout=time_left(args),
                                title=net.name or args.network, regions=r.regions)
                plot_note = f"region map written to {args.plot}"
            except ResourceLimitError as exc:
                plot_note = f"plot not drawn: {exc}"
    if args.json:
        data = r.to_json()
        if args.plot is not None:
            data["plot"] = plot_note
        emit_json(data)
    else:
        show(False, r, plot_note=plot_note)
    if plot_note.startswith("plot not drawn") and r.status is Status.PROVED:
        print(f"verify: {plot_note}", file=sys.stderr)
        return 3
    return EXIT_CODES[r.status] if r.status is not Status.PROVED else 0
