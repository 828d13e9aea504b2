"""Shared pieces of the subcommands: arguments, loading, printing results."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..domain import Box, RealSpace, parse_box
from ..errors import VerifyError
from ..io.files import atomic_write_text
from ..io.json_format import load_network
from ..ir.graph import Network

__all__ = ["add_network_arg", "add_query_args", "load", "domain_of", "emit_json", "write_output", "timeout_arg",
           "add_certificate_arg", "save_certificate_of"]


def timeout_arg(text: str) -> float:
    """A finite, non-negative number of seconds (argparse type: NaN, inf and negatives are usage errors)."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: expected a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: expected a finite number of seconds >= 0")
    return value


def add_certificate_arg(p) -> None:
    p.add_argument("--certificate", metavar="FILE", default=None,
                   help="save a re-checkable certificate of a PROVED/REFUTED result (see `verify recheck`)")


def save_certificate_of(args, net, result) -> None:
    """Write the certificate of ``result`` if ``--certificate`` was given (atomically; none for UNKNOWN)."""
    path = getattr(args, "certificate", None)
    if path is None:
        return
    from ..status import Status
    from ..certificates import certificate_for, save_certificate

    if result.status is Status.UNKNOWN:
        print(f"verify: no certificate written to {path}: the result is UNKNOWN", file=sys.stderr)
        return
    cert = certificate_for(net, result)
    try:
        save_certificate(cert, path)
    except OSError as exc:
        raise VerifyError(f"cannot write certificate {path}: {exc.strerror or exc}") from None


def add_network_arg(p) -> None:
    p.add_argument("network", metavar="NET.json", help="network file (relu-net/1 or relu-graph/1)")


def add_query_args(p, *, box_required: bool = False) -> None:
    p.add_argument("--box", metavar="LO,HI", required=box_required,
                   help="the box [LO,HI]^d (exact decimals or fractions)" + ("" if box_required else "; default: all of R^d"))
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
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
    """Write an output file atomically (no partial file on failure)."""
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise VerifyError(f"cannot write {path}: {exc.strerror or exc}") from None
