"""``verify one-hidden``: is a network's function computable with one hidden ReLU layer (any width)?

Exit codes: 0 representable (a one-hidden-layer network proved equal on R^d), 1 not representable
(an exact certificate, re-checked), 2 bad input, 3 unknown or timeout.
"""

from __future__ import annotations

from ..analysis.one_hidden import _hyperplane_text, check_certificate, max_network, one_hidden_layer
from ..analysis.results import EXIT_CODES, Status
from ..errors import VerifyError
from ..io.json_format import dumps_network, load_network
from ..numbers import to_text
from .common import emit_json, write_output


def register(sub) -> None:
    p = sub.add_parser(
        "one-hidden", help="decide whether a function is computable with one hidden ReLU layer (d <= 6)",
        description="Decide whether the network's function (one output, d <= 6 inputs) equals some "
                    "one-hidden-layer ReLU network on all of R^d, exactly. Representable: prints the "
                    "one-hidden-layer form, proved equal by z3. Not representable: prints an exact "
                    "certificate (Mukherjee & Basu's hyperplane criterion).")
    p.add_argument("network", metavar="NET.json", nargs="?", help="network file (relu-net/1 or relu-graph/1)")
    p.add_argument("--max", type=int, metavar="D", help="decide for max(x1..xD) instead of a file")
    p.add_argument("--timeout", type=float, metavar="SECONDS", default=None,
                   help="give up after this many seconds (result UNKNOWN, exit code 3)")
    p.add_argument("--save-network", metavar="FILE", help="when representable, write the one-hidden-layer network")
    p.add_argument("--json", action="store_true", help="print the result as JSON (numbers as exact strings)")
    p.set_defaults(func=run)


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _vec(v) -> str:
    return "(" + ", ".join(to_text(t) for t in v) + ")"


def run(args) -> int:
    if (args.network is None) == (args.max is None):
        raise VerifyError("one-hidden: give either NET.json or --max D")
    if args.max is not None:
        if not 1 <= args.max:
            raise VerifyError(f"one-hidden: --max needs D >= 1, got {args.max}")
        net, label = max_network(args.max), f"max_{args.max}"
    else:
        net, label = load_network(args.network), args.network
    result = one_hidden_layer(net, timeout=args.timeout)
    if result.certificate is not None and not check_certificate(net, result.certificate).valid:
        raise VerifyError("one-hidden: certificate failed its re-check (toolkit bug)")  # pragma: no cover
    if args.save_network and result.network is not None:
        write_output(args.save_network, dumps_network(result.network) + "\n")
    if args.json:
        emit_json(result.to_json())
        return EXIT_CODES[result.status]
    verdict = {Status.PROVED: "REPRESENTABLE", Status.REFUTED: "NOT REPRESENTABLE", Status.UNKNOWN: "UNKNOWN"}
    print(f"{verdict[result.status]}: {net.name or label} with one hidden ReLU layer on R^{net.n_inputs} "
          f"({_count(result.n_regions, 'linear region')}, {_count(result.n_facet_points, 'facet point')}, "
          f"{result.seconds:.3f} s)")
    if result.status is Status.PROVED:
        print(f"  one-hidden-layer form, width {result.network.n_relus}, proved equal by z3 "
              f"({result.proof_seconds:.3f} s):")
        for n, b, w in result.hyperplanes:
            print(f"    {to_text(w)} * relu on {_hyperplane_text(n, b)}")
        if args.save_network:
            print(f"  wrote {args.save_network}")
    elif result.status is Status.REFUTED:
        cert = result.certificate
        h = cert["hyperplane"]
        print(f"  certificate ({cert['type']}, re-checked by exact evaluation) on {_hyperplane_text(h['n'], h['b'])}:")
        if cert["type"] == "jump-mismatch":
            for p, e, j in zip(cert["points"], cert["eps"], cert["jumps"]):
                print(f"    at {_vec(p)} (eps {to_text(e)}) the gradient jumps by {_vec(j)}")
        else:
            print(f"    at {_vec(cert['facet_point'])} (eps {to_text(cert['eps'])}) the gradient jumps by "
                  f"{_vec(cert['jumps'][0])}")
            print(f"    at {_vec(cert['smooth_point'])} on the same hyperplane f is affine (no breakpoint)")
    else:
        print(f"  {result.reason}")
    return EXIT_CODES[result.status]
