"""The wall-clock budget of one query, shared by every solver call it makes.

It sits below the backends (it imports nothing of the toolkit), so that a
backend, a reduction and a query all count down the same budget. ``None`` seconds is unlimited. The
clock is :func:`time.monotonic`, which is system-wide on Linux: a forked worker may keep using a
deadline made by its parent.
"""

from __future__ import annotations

import time

__all__ = ["Deadline"]


class Deadline:
    """Wall-clock budget shared by the solver calls of one query (``None``: unlimited).

    >>> Deadline(None).remaining() is None
    True
    >>> Deadline(0).expired()
    True
    """

    __slots__ = ("start", "seconds")

    def __init__(self, seconds: float | None):
        self.start = time.monotonic()
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
