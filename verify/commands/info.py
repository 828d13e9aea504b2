"""``verify info``: the shape of a network."""

from __future__ import annotations

from ..io.json_format import network_hash
from .common import add_network_arg, emit_json, load

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("info", help="inputs, depth, widths, ReLUs, weight denominators")
    add_network_arg(p)
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run)


def describe(net) -> dict:
    return {
        "name": net.name,
        "inputs": net.n_inputs,
        "outputs": net.n_outputs,
        "hidden_layers": net.hidden_layers,
        "widths": net.widths,
        "relus": net.n_relus,
        "max_nodes": len(net.max_nodes),
        "parameters": net.n_parameters,
        "weight_denominators": net.weight_denominators,
        "integer_weights": net.is_integer_weighted,
        "windows": None if net.windows is None else [list(w) for w in net.windows],
        "sha256": network_hash(net),
    }


def run(args) -> int:
    net = load(args)
    info = describe(net)
    if args.json:
        emit_json(info)
        return 0
    for key, value in info.items():
        if key == "windows" and value is not None and len(value) > 4:
            value = f"{len(value)} windows, first {value[0]}"
        print(f"{key:20s} {value}")
    return 0
