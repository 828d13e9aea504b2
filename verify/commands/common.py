"""Shared pieces of the subcommands: arguments, loading, printing results."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ..domain import Box, RealSpace, parse_box
from ..errors import OutputPathError, VerifyError
from ..io.files import atomic_write_bytes, check_output_dir, check_output_file
from ..io.json_format import load_network
from ..ir.graph import Network

__all__ = ["add_network_arg", "add_query_args", "load", "domain_of", "emit_json", "write_output", "timeout_arg",
           "add_certificate_arg", "save_certificate_of", "add_output_arg", "check_outputs", "write_output_bytes",
           "INPUT_ARGS", "refuse_beyond_float_range", "time_left", "results_ready"]

# The arguments that name files a command reads (an output may not be one of them).
INPUT_ARGS = ("network", "model", "grid", "against")


def add_output_arg(p, *flags: str, kind: str = "file", names: tuple = (), **kwargs):
    """Add an argument naming an output, and record it so that :func:`check_outputs` checks it first.

    ``kind``: ``"file"`` (written atomically), ``"plot"`` (a file whose extension must be a plot format,
    :func:`verify.io.figures.figure_format`) or ``"dir"`` (a folder receiving the files ``names``).
    """
    action = p.add_argument(*flags, **kwargs)
    outputs = list(getattr(p, "_verify_outputs", ()))
    outputs.append((action.dest, kind, tuple(names)))
    p._verify_outputs = outputs
    p.set_defaults(output_args=tuple(outputs))
    return action


def check_outputs(args) -> None:
    """Refuse, before any work, every output path of ``args`` that cannot be written (one line, exit 2).

    Called by :func:`verify.cli.main` for every command; the places are recorded by :func:`add_output_arg`.
    """
    inputs = [getattr(args, a) for a in INPUT_ARGS if isinstance(getattr(args, a, None), str)]
    if getattr(args, "command", None) == "recheck":
        inputs.append(args.certificate)
    seen: dict = {}
    for dest, kind, names in getattr(args, "output_args", ()):
        value = getattr(args, dest, None)
        if value is None or value is False:
            continue
        try:
            if kind == "dir":
                check_output_dir(value, names, inputs=inputs)
                targets = [os.path.realpath(os.path.join(value, n)) for n in names]
            else:
                if kind == "plot":
                    from ..io.figures import figure_format

                    figure_format(value)
                targets = [str(check_output_file(value, inputs=inputs))]
        except OutputPathError as exc:  # say which output it is (the certificate, the plot, ...)
            text = str(exc)
            name = dest.replace("_", " ")
            if dest != "output" and text.startswith("cannot write the output:"):
                text = f"cannot write the {name} output:" + text[len("cannot write the output:"):]
            elif dest != "output" and text.startswith("cannot write "):
                text = f"cannot write {name} " + text[len("cannot write "):]
            raise OutputPathError(text) from None
        flag = "--" + dest.replace("_", "-")
        for t in targets:
            if t in seen:
                raise VerifyError(f"cannot write {value}: {seen[t]} and {flag} name the same file")
            seen[t] = flag



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
    add_output_arg(p, "--certificate", metavar="FILE", default=None,
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
    results_ready()
    try:
        save_certificate(cert, path)
    except OSError as exc:
        raise VerifyError(f"cannot write certificate {path}: {exc.strerror or exc}") from None


def time_left(args) -> float | None:
    """Seconds left of the command's ``--timeout`` (the deadline started with the command, so that
    reading the network counts too); ``None`` without a timeout."""
    deadline = getattr(args, "deadline", None)
    if deadline is None:
        return getattr(args, "timeout", None)
    return deadline.remaining()


def add_network_arg(p) -> None:
    p.add_argument("network", metavar="NET.json", help="network file (relu-net/1 or relu-graph/1)")


def add_query_args(p, *, box_required: bool = False) -> None:
    p.add_argument("--box", metavar="LO,HI", required=box_required,
                   help="the box [LO,HI]^d (exact decimals or fractions)" + ("" if box_required else "; default: all of R^d"))
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="give up after this many seconds (result UNKNOWN, exit code 3)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (numbers as exact strings)")


def load(args) -> Network:
    """The command's network. Reading it counts towards ``--timeout`` (the deadline started with the
    command) but is not cut short by it: a query always gets to report what it knows, and a file too
    large to read in the time allowed is stopped by the CLI's backstops (:class:`verify.cli._Backstops`)."""
    return load_network(args.network)


def domain_of(args, net: Network) -> Box | RealSpace:
    if getattr(args, "box", None) is None:
        return RealSpace(net.n_inputs)
    return parse_box(args.box, net.n_inputs)


def refuse_beyond_float_range(args, net: Network, domain, route: str, alternative: str = "") -> None:
    """Refuse, before any work, a float-guided ``route`` for numbers beyond float range (one line naming
    the file and the place, or the --box; exit code 2); ``alternative`` names the exact route that takes it.

    The decision per route is in :mod:`verify.backends.float_range` and docs/reliability.md.
    """
    from ..backends.float_range import FLOAT_LIMIT, float_range_issue
    from ..errors import FloatRangeError

    issue = float_range_issue(net, domain)
    if issue is None:
        return
    where = f"--box {args.box}" if issue.kind == "box" else args.network
    text = issue.describe()
    if issue.kind == "box":
        text = text.replace("box end", "an end")
    raise FloatRangeError(f"{where}: {text}, beyond the float range {route} works in (magnitudes up to "
                          f"1e100)" + (f"; {alternative}" if alternative else ""))


def results_ready() -> None:
    """The query is over: stop the CLI's alarm (:class:`verify.cli._Backstops`) so that printing and
    writing the result are never cut by it (the hard exit stays armed until the command returns)."""
    import signal
    import threading

    handler = signal.getsignal(signal.SIGALRM) if hasattr(signal, "SIGALRM") else None
    if getattr(handler, "__qualname__", "").startswith("_Backstops.") and threading.current_thread() is threading.main_thread():
        signal.setitimer(signal.ITIMER_REAL, 0)


def emit_json(data: Any) -> None:
    results_ready()
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def write_output(path: str, text: str) -> None:
    """Write an output file atomically (no partial file on failure)."""
    write_output_bytes(path, text.encode("utf-8"))


def write_output_bytes(path: str, data: bytes) -> None:
    """Write an output file atomically; an OS error (disk full, a place that changed since the check)
    is one line naming the file."""
    results_ready()
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise VerifyError(f"cannot write {path}: {exc.strerror or exc}") from None
