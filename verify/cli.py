"""The ``verify`` command.

Exit codes: 0 ok/proved, 1 refuted (or a catalogue check failed), 2 bad input or usage, 3 unknown or
timeout, 4 a bug in the toolkit (an internal consistency check failed: :class:`~verify.errors.ToolkitBugError`,
or any exception that is not one of the toolkit's errors; the message names the command and the file and
asks for a report; ``--debug`` adds the Python traceback). Every query command takes ``--json`` (numbers as exact strings "p/q")
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
)

class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, as for bad input
        self.exit(2, f"verify: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="verify", description="Exact verification of ReLU networks against max pooling.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"verify {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an internal error, print the Python traceback (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (see the module docstring).

    Every exception ends here as one line on stderr: a verdict or a usage error gets its code, and
    anything else (a bug, never the user's fault) gets :data:`EXIT_BUG` with the command and the file
    named, and a Python traceback only with ``--debug``.
    """
    if hasattr(sys, "set_int_max_str_digits"):
        # Input numbers are limited by verify.numbers.MAX_DIGITS; exact results computed from them (deep
        # products of large weights) may be longer than Python's default 4300-digit printing limit.
        sys.set_int_max_str_digits(0)
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if not debug:
        # Warnings (numpy overflow in float guidance, library deprecations) would break the promise of
        # one line on stderr; floats never decide anything, so nothing a user needs is lost.
        import warnings

        warnings.simplefilter("ignore")
    args = None
    try:
        parser = build_parser()
        args = parser.parse_args(_attach_negative_values(argv))
        args.debug = debug
        from .commands.common import check_outputs

        check_outputs(args)  # every output path is checked before any work is done
        code = args.func(args)
    except ToolkitBugError as exc:
        _trace(debug)
        print(f"verify: internal error: {_one_line(str(exc))} ({REPORT})", file=sys.stderr)
        return EXIT_BUG
    except SolverUnknownError as exc:
        _trace(debug)
        print(f"verify: unknown: {_one_line(str(exc))}", file=sys.stderr)
        return 3
    except VerifyError as exc:
        _trace(debug)
        print(f"verify: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 3
    except BrokenPipeError:  # output piped into a reader that stopped early (e.g. `| head`)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last resort: a bug in verify, never a verdict (1) nor bad input (2)
        _trace(debug)
        print(f"verify: internal error: {_where(args)}{_describe(exc)} ({REPORT}; --debug shows the traceback)",
              file=sys.stderr)
        return EXIT_BUG
    return int(code or 0)


# Positional arguments that name the file a command reads (for the message of an internal error).
_INPUT_ARGS = ("network", "model", "grid")


def _where(args) -> str:
    if args is None or getattr(args, "command", None) is None:
        return ""
    text = f"verify {args.command}"
    for name in _INPUT_ARGS + (("certificate",) if args.command == "recheck" else ()):
        value = getattr(args, name, None)
        if isinstance(value, str):
            return f"{text} on {value}: "
    return f"{text}: "


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, RecursionError):
        return "recursion too deep"
    text = _one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _trace(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc(file=sys.stderr)


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


# A message longer than this is cut (a 4000-digit number in an error stays one readable line).
MAX_MESSAGE = 2000


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
