"""The wall-clock budget of one query, shared by every solver call it makes.

It sits below the backends (it imports only the exception tree), so that a
backend, a reduction and a query all count down the same budget. ``None`` seconds is unlimited. The
clock is :func:`time.monotonic`, which is system-wide on Linux: a forked worker may keep using a
deadline made by its parent.

Solver calls get what is left as their own time limit; every other loop that can run long (reading a
file, evaluating start points, building an encoding, walking regions) calls :meth:`Deadline.check`
between steps, which raises :class:`~verify.errors.DeadlineExpired` once the time is up. The CLI starts
the deadline when the command starts, so reading the network counts too.
"""

from __future__ import annotations

import time

from .errors import DeadlineExpired

__all__ = ["Deadline"]


class Deadline:
    """Wall-clock budget shared by the solver calls of one query (``None``: unlimited).

    >>> Deadline(None).remaining() is None
    True
    >>> Deadline(0).expired()
    True
    """

    __slots__ = ("start", "seconds")

    def __init__(self, seconds: float | None, start: float | None = None):
        self.start = time.monotonic() if start is None else start
        self.seconds = seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return max(0.0, self.seconds - self.elapsed())

    def expired(self) -> bool:
        r = self.remaining()
        return r is not None and r <= 0

    def check(self, doing: str = "") -> None:
        """Raise :class:`~verify.errors.DeadlineExpired` if the time is up (``doing`` says where, for the
        message: "while building the z3 query").

        >>> Deadline(None).check("anything")
        >>> Deadline(0).check("reading the file")
        Traceback (most recent call last):
        ...
        verify.errors.DeadlineExpired: the time limit of 0 s ran out while reading the file
        """
        if self.seconds is not None and self.elapsed() >= self.seconds:
            raise DeadlineExpired(f"the time limit of {self.seconds:g} s ran out" + (f" while {doing}" if doing else ""))

    def z3_ms(self) -> int | None:
        """Milliseconds for z3's ``timeout`` parameter (at least 1), or ``None`` if unlimited."""
        r = self.remaining()
        return None if r is None else max(1, int(r * 1000))

    def sub(self, seconds: float | None) -> "Deadline":
        """A budget of at most ``seconds`` inside this one (what is left of it if that is less)."""
        rem = self.remaining()
        if seconds is None:
            return Deadline(rem)
        return Deadline(seconds if rem is None else min(seconds, rem))

    def __repr__(self) -> str:
        rem = self.remaining()
        return "Deadline(unlimited)" if rem is None else f"Deadline({rem:.3f} s left)"
