"""Shared pieces of the subcommands: arguments, loading, printing results."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..domain import Box, RealSpace, parse_box
from ..io.files import atomic_write_text
from ..io.json_format import load_network
from ..ir.graph import Network

__all__ = ["add_network_arg", "add_query_args", "load", "domain_of", "emit_json", "write_output"]


def add_network_arg(p) -> None:
    p.add_argument("network", metavar="NET.json", help="network file (relu-net/1 or relu-graph/1)")


def add_query_args(p, *, box_required: bool = False) -> None:
    p.add_argument("--box", metavar="LO,HI", required=box_required,
                   help="the box [LO,HI]^d (exact decimals or fractions)" + ("" if box_required else "; default: all of R^d"))
    p.add_argument("--timeout", type=float, metavar="SECONDS", default=None,
                   help="give up after this many seconds (result UNKNOWN, exit code 3)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (numbers as exact strings)")


def load(args) -> Network:
    return load_network(args.network)


def domain_of(args, net: Network) -> Box | RealSpace:
    if getattr(args, "box", None) is None:
        return RealSpace(net.n_inputs)
    return parse_box(args.box, net.n_inputs)


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def write_output(path: str, text: str) -> None:
    """Write an output file atomically (no partial file on failure); an OS error is bad input (exit 2)."""
    from ..errors import VerifyError

    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise VerifyError(f"cannot write {path}: {exc.strerror or exc}") from None
