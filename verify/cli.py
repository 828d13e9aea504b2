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
import time

from .errors import SolverUnknownError, ToolkitBugError, VerifyError

__all__ = ["main", "COMMANDS", "EXIT_BUG", "allowed_overrun", "alarm_after", "HARD_EXIT_MARGIN"]

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
    parser.add_argument("--debug", action="store_true",
                        help="on an internal error, print the Python traceback (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def allowed_overrun(timeout: float) -> float:
    """How far past ``--timeout`` a command may end: 10% of it or 2 s, whichever is larger (the promise of
    docs/reliability.md; the deadlines of the queries aim at ``timeout`` itself)."""
    return max(0.1 * timeout, 2.0)


# The backstops of --timeout, past the query's own deadline (which cooperative checks honour):
def alarm_after(timeout: float) -> float:
    """Seconds past the timeout at which SIGALRM raises DeadlineExpired in the main thread: half the
    allowed overrun. A query past its deadline that is still closing its bracket (a side cut short on a
    3000-input network needs about a second to bound it exactly) gets that time to report, and the hard
    exit below keeps the other half (at T + 0.5 s, the alarm ended that report before it was printed)."""
    return allowed_overrun(timeout) / 2


HARD_EXIT_MARGIN = 0.5  # seconds before the end of the allowed overrun: one line, exit 3 (programs only)


WATCHDOG_AFTER = 0.1  # seconds after the timer thread's exit: the watchdog process (a C call holding the GIL)


def _temp_patterns(args) -> tuple:
    """(folder, prefix) of the temporary siblings the atomic writer makes for the outputs of ``args``
    (:func:`verify.io.files._temp_beside`: ``.NAME[:100].XXXX.tmp``), for the watchdog to remove."""
    import os

    out = []
    for dest, kind, names in getattr(args, "output_args", ()):
        value = getattr(args, dest, None)
        if not isinstance(value, str) or not value:
            continue
        targets = [os.path.join(value, n) for n in names] if kind == "dir" else [value]
        for t in targets:
            real = os.path.realpath(t)
            out.append((os.path.dirname(real), "." + os.path.basename(real)[:100] + "."))
    return tuple(out)


def _start_watchdog(delay: float, timeout: float, patterns: tuple) -> int | None:
    """Fork a watchdog that ends this process ``delay`` seconds from now, even while the main thread
    holds the GIL in a long C call (flint, gmpy: the timer thread cannot run then).

    The parent's SIGQUIT handler is set to the C library's ``_exit`` (signal 3 -> exit code 3, without
    any Python code running); the watchdog writes the one line, removes the temporary output files made
    since the start, and sends SIGQUIT. Returns the watchdog's pid (None where this is not possible:
    no fork, no ctypes, not Linux/macOS)."""
    import os
    import signal

    if not hasattr(os, "fork") or signal.SIGQUIT != 3:
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
        if libc.signal(signal.SIGQUIT, ctypes.cast(libc._exit, ctypes.c_void_p).value) == ctypes.c_void_p(-1).value:
            return None
    except (OSError, AttributeError, TypeError):
        return None
    parent, since = os.getpid(), time.time()
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid:
        return pid
    try:  # the watchdog: plain system calls only, no imports
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        time.sleep(delay)
        if os.getppid() == parent:
            os.write(2, f"verify: unknown: the time limit of {timeout:g} s ran out (stopped)\n".encode())
            for folder, prefix in patterns:
                try:
                    for name in os.listdir(folder):
                        path = os.path.join(folder, name)
                        if name.startswith(prefix) and name.endswith(".tmp") and os.stat(path).st_mtime >= since - 1:
                            os.unlink(path)
                except OSError:
                    pass
            os.kill(parent, signal.SIGQUIT)
    finally:
        os._exit(0)


def _retry_delay() -> float:
    """A few tens of milliseconds, jittered: a fixed delay can fall in step with a loop that spends its
    time in finalizers or callbacks and land in one every time."""
    import random

    return random.uniform(0.01, 0.06)


class _Backstops:
    """Two backstops of ``--timeout`` for code between cooperative deadline checks.

    A SIGALRM at ``timeout + alarm_after(timeout)`` raises :class:`~verify.errors.DeadlineExpired` in the main
    thread (Python runs the handler between bytecodes, after any C call returns; z3 and HiGHS calls have
    their own limits); a query that catches it reports UNKNOWN with what it knows, otherwise the command
    ends with exit code 3. When ``verify`` runs as a program, a timer thread at the end of the allowed
    overrun (less ``HARD_EXIT_MARGIN``) prints one line, removes temporary output files and exits with
    code 3, whatever the main thread is doing: the promise holds even inside a stuck C call.
    """

    def __init__(self, timeout: float | None, started: float, hard: bool):
        import signal
        import threading

        self.previous = None
        self.previous_hook = None
        self.thread = None
        self.watchdog = None
        if timeout is None:
            return
        elapsed = time.monotonic() - started
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            self.previous = signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, max(0.01, timeout + alarm_after(timeout) - elapsed))
            self.timeout = timeout
            self.previous_hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
        if hard:
            delay = max(0.05, timeout + allowed_overrun(timeout) - HARD_EXIT_MARGIN - elapsed)
            self.thread = threading.Timer(delay, self._hard_exit, args=(timeout,))
            self.thread.daemon = True
            self.thread.start()
            self.watchdog = _start_watchdog(delay + WATCHDOG_AFTER, timeout, self.temp_patterns)

    def _alarm(self, signum, frame):
        import signal

        from .errors import DeadlineExpired

        # Inside a finalizer (z3's Context.__del__ run by the garbage collector) an exception is only
        # printed as "Exception ignored in ..." with a traceback, and lost: try again a moment later.
        # Inside z3's own Python code (a Context being built) the exception would leave a half-made
        # object whose finalizer then fails ("'Context' object has no attribute 'owner'", seen in the
        # soak, seed 202500): also try again a moment later.
        f = frame
        while f is not None:
            if f.f_code.co_name == "__del__" or str(f.f_globals.get("__name__", "")).startswith("z3"):
                signal.setitimer(signal.ITIMER_REAL, _retry_delay())
                return
            f = f.f_back
        raise DeadlineExpired(f"the time limit of {self.timeout:g} s ran out")

    def _unraisable(self, unraisable):
        """The alarm landed where Python cannot raise (a weakref callback, a finalizer the frame walk of
        :meth:`_alarm` did not see): Python would print "Exception ignored in ..." with a traceback and
        lose it. Print nothing and raise it again a moment later, where it can be raised."""
        import signal

        from .errors import DeadlineExpired

        if isinstance(unraisable.exc_value, DeadlineExpired):
            signal.setitimer(signal.ITIMER_REAL, _retry_delay())
            return
        (self.previous_hook or sys.__unraisablehook__)(unraisable)

    @staticmethod
    def _hard_exit(timeout):
        import os

        from .io.files import remove_pending_temporaries

        remove_pending_temporaries()
        try:
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 - the process ends now whatever stdout's state
            pass
        os.write(2, f"verify: unknown: the time limit of {timeout:g} s ran out (stopped)\n".encode())
        os._exit(3)

    temp_patterns: tuple = ()

    def disarm(self):
        import signal

        if self.thread is not None:
            self.thread.cancel()
        if self.watchdog is not None:
            import os

            try:
                os.kill(self.watchdog, signal.SIGKILL)
                os.waitpid(self.watchdog, 0)
            except OSError:
                pass
        if self.previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        if self.previous_hook is not None:
            sys.unraisablehook = self.previous_hook


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (see the module docstring).

    Every exception ends here as one line on stderr: a verdict or a usage error gets its code, and
    anything else (a bug, never the user's fault) gets :data:`EXIT_BUG` with the command and the file
    named, and a Python traceback only with ``--debug``. ``--timeout`` counts from the start of the
    command and is backed by :class:`_Backstops` (the hard exit only when ``argv`` is None, i.e. when
    ``verify`` runs as a program, never inside a caller's process).
    """
    if hasattr(sys, "set_int_max_str_digits"):
        # Input numbers are limited by verify.numbers.MAX_DIGITS; exact results computed from them (deep
        # products of large weights) may be longer than Python's default 4300-digit printing limit.
        sys.set_int_max_str_digits(0)
    started = time.monotonic()  # --timeout counts from here: reading the network is part of the budget
    program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if not debug:
        # Warnings (numpy overflow in float guidance, library deprecations) would break the promise of
        # one line on stderr; floats never decide anything, so nothing a user needs is lost.
        import warnings

        warnings.simplefilter("ignore")
    args = None
    backstops = None
    try:
        parser = build_parser()
        args = parser.parse_args(_attach_negative_values(argv))
        args.debug = debug
        from .deadline import Deadline

        args.deadline = Deadline(getattr(args, "timeout", None), start=started)
        from .commands.common import check_outputs

        check_outputs(args)  # every output path is checked before any work is done
        _Backstops.temp_patterns = _temp_patterns(args) if program else ()
        backstops = _Backstops(args.deadline.seconds, started, hard=program)
        try:
            code = args.func(args)
        finally:
            backstops.disarm()
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
