"""The fixed statuses of every result (DESIGN.md, habit 6).

A solver's ``unknown`` or a timeout is :attr:`Status.UNKNOWN`, never a verdict. It lives at the top of
the package, below the backends, so that solver sessions, backends and queries share one enum.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Status"]


class Status(str, Enum):
    PROVED = "PROVED"
    REFUTED = "REFUTED"
    UNKNOWN = "UNKNOWN"

    def __str__(self) -> str:
        return self.value
