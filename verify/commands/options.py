"""Options shared by the long-running commands (kept apart from :mod:`verify.commands.common`)."""

from __future__ import annotations

__all__ = ["add_quiet_arg"]


def add_quiet_arg(p) -> None:
    """``--quiet``: no progress bar on stderr (it is shown only when stderr is a terminal anyway)."""
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr (shown only on a terminal)")
