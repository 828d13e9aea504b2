"""``verify optimal``: the certified minimax-optimal subpool approximation for (d, R).

Example: ``verify optimal --d 9 --R 0,1,7,8 --json`` prints the exact error ("1/81"), beta, the size of
the network and the exact dual certificate. ``--z3`` also builds the network and asks z3 for its
worst-case error on [0,1]^d, which must be the same number.
"""

from __future__ import annotations

from ..analysis.optimal import optimal_approximation
from ..errors import ToolkitBugError, VerifyError
from ..numbers import to_text
from .common import (add_output_arg, emit_json, time_left, timeout_arg, write_output)
from .options import add_quiet_arg

__all__ = ["register", "run"]

# Above this many subset maxima the network is not built unless asked (it grows like 2^d).
BUILD_LIMIT = 4096


def parse_R(text: str) -> list[int]:
    """``"0,1,7,8"`` -> ``[0, 1, 7, 8]`` (one clear error for anything else)."""
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            out.append(int(part))
        except ValueError:
            raise VerifyError(f"--R: {part!r} is not an integer (expected a list like 0,1,7,8)") from None
    return out


def register(sub) -> None:
    p = sub.add_parser("optimal", help="certified optimal subpool approximation of max on [0,1]^d")
    p.add_argument("--d", type=int, required=True, help="window size (number of inputs), >= 2")
    p.add_argument("--R", required=True, metavar="K,K,...", help="subpool sizes: 0 = intercept, 1..d-1")
    p.add_argument("--gadget", default="A", choices=("A", "B", "skip"), help="pairwise-max gadget of the network")
    p.add_argument("--share", action="store_true", help="reuse sub-subset maxima (fewer ReLUs, same depth)")
    p.add_argument("--build", action="store_true", help=f"build the network even above {BUILD_LIMIT} subset maxima")
    p.add_argument("--z3", action="store_true", help="cross-check: z3 worst-case error of the built network")
    p.add_argument("--timeout", type=timeout_arg, default=None, metavar="SECONDS", help="limit for the z3 cross-check")
    add_quiet_arg(p)
    add_output_arg(p, "--save", metavar="NET.json", help="write the network (relu-graph/1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (numbers as exact strings)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..constructions.subpool import n_subset_maxima, subpool_network, subpool_size

    R = parse_R(args.R)
    opt = optimal_approximation(args.d, R)  # validates d and R
    out = opt.to_json()
    out.update({"width": None, "relus": None, "hidden_layers": None, "parameters": None,
                "subset_maxima": n_subset_maxima(args.d, opt.R), "network": None, "z3": None})
    code = 0
    if n_subset_maxima(args.d, opt.R) <= BUILD_LIMIT or args.build or args.save or args.z3:
        net = subpool_network(args.d, opt.R, opt.beta, args.gadget, share=args.share)
        out.update(subpool_size(net, args.d, opt.R).to_json())
        out["network"] = net.name
        if args.z3:
            from ..analysis.worst_case import worst_case_error
            from ..status import Status
            from ..domain import Box

            from ..progress import progress_for

            with progress_for(args, "optimal --z3"):
                r = worst_case_error(net, Box.cube(args.d), timeout=time_left(args))
            agree = r.status is Status.PROVED and r.sup_abs == opt.error
            out["z3"] = {"status": r.status.value, "sup_abs": to_text(r.sup_abs), "agrees": agree,
                         "seconds": round(r.seconds, 3)}
            if r.status is not Status.PROVED:
                code = 3
            elif not agree:  # two exact methods disagree: a bug, not a verdict about the paper
                raise ToolkitBugError(f"z3 worst-case error {to_text(r.sup_abs)} != certified {to_text(opt.error)}")
        if args.save:
            from ..io.json_format import dumps_network

            write_output(args.save, dumps_network(net))
    else:
        out["network"] = f"not built ({out['subset_maxima']} subset maxima > {BUILD_LIMIT}; pass --build)"
    if args.json:
        emit_json(out)
        return code
    print(f"d = {opt.d}, R = {{{','.join(map(str, opt.R))}}}: optimal sup error on [0,1]^{opt.d} = "
          f"{to_text(opt.error)} ({float(opt.error):.6g}), certified")
    if opt.closed_form is not None:
        print(f"  paper's closed form: {to_text(opt.closed_form)} (matches)")
    print("  beta: " + ", ".join(f"beta_{k} = {to_text(v)}" for k, v in opt.beta.items()))
    c = opt.certificate
    print("  certificate (equioscillation points v_j with j ones, sign, weight): "
          + ", ".join(f"v{j} {'+' if s > 0 else '-'} {to_text(w)}" for j, s, w in zip(c.points, c.signs, c.weights)))
    if out["relus"] is not None:
        print(f"  network: {out['hidden_layers']} hidden layers, width {out['width']}, {out['relus']} ReLUs, "
              f"{out['parameters']} parameters, {out['subset_maxima']} subset maxima")
    else:
        print(f"  network: {out['network']}")
    if out["z3"] is not None:
        z = out["z3"]
        print(f"  z3 worst-case error of the network: {z['status']} {z['sup_abs']} "
              f"({'agrees' if z['agrees'] else 'does not agree'}; {z['seconds']} s)")
    return code
