"""``verify search``: look for max_n as a support-function sum over a finite family, or certify there is none."""

from __future__ import annotations

import sys

from .common import (add_output_arg, emit_json, timeout_arg, write_output)
from .options import add_quiet_arg

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("search", help="search a lattice family for a shallow max_n, or certify it is not there",
                       description="Solve max_n = sum c_b h_b + linear over the weight-w lattice family exactly: "
                                   "exit 0 with a network PROVED on R^n, or exit 1 with an exact certificate that "
                                   "the family cannot express max_n (re-check it with `verify recheck`).")
    p.add_argument("--max", type=int, required=True, metavar="N", help="the number of inputs n of max_n")
    p.add_argument("--hidden", type=int, choices=(1, 2), default=2, help="hidden layers (default 2)")
    p.add_argument("--vertices-weight", type=int, default=2, metavar="W",
                   help="block vertices are lattice points with coordinate sum W (default 2)")
    p.add_argument("--symmetric", action="store_true",
                   help="one coefficient per orbit under permuting the inputs, points in the sorted chamber "
                        "(loses nothing: max is symmetric); needed above n = 5")
    # every output is checked before the search starts (add_output_arg), so none is written when another fails
    add_output_arg(p, "-o", "--output", metavar="NET.json", default=None, help="write the network found")
    add_output_arg(p, "--support-sum", metavar="SUM.json", default=None, help="write the construction found (support-sum/1)")
    add_output_arg(p, "--certificate", metavar="FILE", default=None,
                   help="write the certificate: of the proof on R^n (found) or of 'not in this family'")
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from ..analysis.search import search_max
    from ..errors import VerifyError
    from ..io.json_format import dumps_network
    from ..io.support_sum import dumps_support_sum

    if not 2 <= args.max <= 9:
        raise VerifyError(f"--max {args.max}: n must be between 2 and 9")
    if not 1 <= args.vertices_weight <= 4:
        raise VerifyError(f"--vertices-weight {args.vertices_weight}: the weight must be between 1 and 4")
    from ..progress import progress_for

    with progress_for(args, "search"):
        res = search_max(args.max, args.hidden, args.vertices_weight, symmetric=args.symmetric, timeout=args.timeout)
    if res.status == "found":
        if args.output:
            write_output(args.output, dumps_network(res.network) + "\n")
        if args.support_sum:
            write_output(args.support_sum, dumps_support_sum(res.support_sum))
        if args.certificate and res.proof is not None:
            from ..analysis.arrangement import prove_by_arrangement, arrangement_certificate

            _, proof = prove_by_arrangement(res.network)
            write_output(args.certificate, json.dumps(arrangement_certificate(res.network, proof)) + "\n")
    elif res.status == "infeasible" and args.certificate:
        write_output(args.certificate, json.dumps(res.certificate, indent=1) + "\n")
    if args.json:
        emit_json(res.to_json())
    else:
        word = {"found": "FOUND", "infeasible": "NOT IN THIS FAMILY", "unknown": "UNKNOWN"}[res.status]
        print(f"{word}: {res.reason}")
        st = res.stats
        if all(k in st for k in ("orbits", "points", "rank")):
            print(f"  family: {st['zonotopes']} zonotopes, {st['blocks']} blocks in {st['orbits']} orbits; "
                  f"{st['points']} points, rank {st.get('rank')}")
        if res.status == "found":
            print(f"  network: {res.network.n_inputs}-" + "-".join(map(str, res.network.widths)) + "-1, "
                  f"{res.network.n_relus} ReLUs; {res.proof.reason if res.proof is not None else ''}")
        print(f"  {st.get('seconds_total', 0):.2f} s")
        for path, what in ((args.output, "network"), (args.support_sum, "construction"), (args.certificate, "certificate")):
            if path and (res.status == "found" or (what == "certificate" and res.status == "infeasible")):
                print(f"  wrote {what} {path}")
        if res.status == "infeasible" and not args.certificate:
            print("  (use --certificate FILE to keep the re-checkable certificate)", file=sys.stderr)
    return {"found": 0, "infeasible": 1, "unknown": 3}[res.status]
