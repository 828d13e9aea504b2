"""The ``verify`` command.

Exit codes: 0 ok/proved, 1 refuted (or a catalogue check failed), 2 bad input or usage, 3 unknown or
timeout. Every query command takes ``--json`` (numbers as exact strings "p/q") and ``--timeout``.
Subcommands live in :mod:`verify.commands`, one module each, registered in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import VerifyError

__all__ = ["main", "COMMANDS"]

# Modules under verify.commands, each with ``register(subparsers)`` setting ``func`` on its parser.
COMMANDS = (
    "build",
    "info",
    "exact",
    "error",
    "sweep",
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except VerifyError as exc:
        print(f"verify: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 3
    return int(code or 0)


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
