"""The ``verify`` command.

Exit codes: 0 ok/proved, 1 refuted (or a catalogue check failed), 2 bad input or usage, 3 unknown or
timeout, 4 a bug in the toolkit (an internal consistency check failed: :class:`~verify.errors.ToolkitBugError`;
the message asks for a report). Every query command takes ``--json`` (numbers as exact strings "p/q")
and ``--timeout``. Subcommands live in :mod:`verify.commands`, one module each, registered in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from .errors import SolverUnknownError, ToolkitBugError, VerifyError

__all__ = ["main", "COMMANDS", "EXIT_BUG"]

# A toolkit bug is not bad input (2) nor an unknown (3): it gets its own code.
EXIT_BUG = 4
REPORT = "this is a bug in verify, not a problem with the input: please report it with the command that shows it"

# Modules under verify.commands, each with ``register(subparsers)`` setting ``func`` on its parser.
COMMANDS = (
    "build",
    "info",
    "exact",
    "error",
    "prove",
    "optimal",
    "tradeoff",
    "images",
    "one_hidden",
    "import_",
    "export",
    "sympy_cmd",
    "ties",
    "gradient",
    "recheck",
    "regions",
    "sweep",
    "describe",
    "search",
    "diff",
    "pool_replacement_cmd",
)

class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, as for bad input
        self.exit(2, f"verify: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="verify", description="Exact verification of ReLU networks against max pooling.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"verify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if hasattr(sys, "set_int_max_str_digits"):
        # Input numbers are limited by verify.numbers.MAX_DIGITS; exact results computed from them (deep
        # products of large weights) may be longer than Python's default 4300-digit printing limit.
        sys.set_int_max_str_digits(0)
    parser = build_parser()
    args = parser.parse_args(_attach_negative_values(sys.argv[1:] if argv is None else list(argv)))
    try:
        code = args.func(args)
    except ToolkitBugError as exc:
        print(f"verify: internal error: {_one_line(str(exc))} ({REPORT})", file=sys.stderr)
        return EXIT_BUG
    except SolverUnknownError as exc:
        print(f"verify: unknown: {_one_line(str(exc))}", file=sys.stderr)
        return 3
    except VerifyError as exc:
        print(f"verify: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 3
    except BrokenPipeError:  # output piped into a reader that stopped early (e.g. `| head`)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return int(code or 0)


_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d)")


def _attach_negative_values(argv: list[str]) -> list[str]:
    """``--box -1,1`` -> ``--box=-1,1``: argparse would read ``-1,1`` as an option, not a value."""
    out: list[str] = []
    for token in argv:
        if out and _NEGATIVE_VALUE.match(token) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
