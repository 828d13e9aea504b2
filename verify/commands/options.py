"""Options shared by the long-running commands (kept apart from :mod:`verify.commands.common`)."""

from __future__ import annotations

__all__ = ["add_quiet_arg", "difference_backends"]


def add_quiet_arg(p) -> None:
    """``--quiet``: no progress bar on stderr (it is shown only when stderr is a terminal anyway)."""
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr (shown only on a terminal)")


def difference_backends() -> tuple[str, ...]:
    """The backends a worst-case difference can be asked for: the named chains of
    :data:`verify.reductions.auto.BACKENDS` except the arrangement route (exactness on R^d only),
    ``auto`` first."""
    from ..reductions.auto import BACKENDS

    return ("auto",) + tuple(b for b in BACKENDS if b not in ("auto", "arrangement"))
