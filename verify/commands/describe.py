"""``verify describe``: a bias-free network with at most two hidden layers as a support-function sum."""

from __future__ import annotations

from ..numbers import to_text
from .common import add_network_arg, add_output_arg, emit_json, load, write_output

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("describe", help="read a bias-free two-hidden-layer network back as polytopes (support sum)",
                       description="Write N = sum c h_P + linear exactly: polytopes as vertex sets, their orbits "
                                   "under permuting the inputs, the coefficients; optionally as a support-sum/1 file.")
    add_network_arg(p)
    add_output_arg(p, "-o", "--output", metavar="SUM.json", default=None,
                   help="write the description as a support-sum/1 file (one term per orbit when symmetric)")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..analysis.describe import describe_network
    from ..io.support_sum import dumps_support_sum

    net = load(args)
    desc = describe_network(net)
    if args.output:
        write_output(args.output, dumps_support_sum(desc.support_sum()))
    if args.json:
        emit_json(desc.to_json())
        return 0
    two = sum(1 for t in desc.terms if len(t.blocks) == 2)
    print(f"{args.network}: {desc.dim} inputs, {desc.hidden_layers} hidden layers, bias-free")
    print(f"  N = sum of {len(desc.terms)} support functions of distinct polytopes ({two} joins of two zonotopes, "
          f"{len(desc.terms) - two} zonotopes) + linear ({', '.join(to_text(v) for v in desc.linear)})")
    if desc.orbits:
        sym = "invariant under permuting the inputs" if desc.symmetric else "not invariant under permuting the inputs"
        print(f"  {len(desc.orbits)} orbits under permutations of the inputs; the description is {sym}")
        print(f"  {'coefficient':>14}  {'orbit':>6}  {'present':>7}  {'weight':>6}  vertices of a representative")
        for o in desc.orbits:
            coef = ",".join(sorted({to_text(c) for c in o.coefficients}))
            w = o.weight()
            verts = " ".join("(" + ",".join(map(str, v)) + ")" for v in o.vertices)
            print(f"  {coef:>14}  {o.orbit_size:>6}  {o.present:>7}  {'-' if w is None else w:>6}  {verts}")
    if args.output:
        print(f"wrote {args.output}")
    return 0
