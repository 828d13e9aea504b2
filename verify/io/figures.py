"""Writing matplotlib figures: the format follows the file's extension (``.pdf`` and ``.svg`` are vector
files, ``.png`` a bitmap), and the file is written atomically (no partial file on failure)."""

from __future__ import annotations

import io
import os

from ..errors import VerifyError
from .files import atomic_write_bytes

__all__ = ["figure_format", "save_figure"]

# Formats matplotlib's Agg canvas writes without extra packages (checked against its list at save time).
KNOWN_FORMATS = ("png", "pdf", "svg", "eps", "ps")


def figure_format(path: str | os.PathLike) -> str:
    """The format a plot written to ``path`` gets: its extension (``x.pdf`` -> ``"pdf"``), ``"png"`` without one.

    Raises :class:`VerifyError` (one line naming the file) for an extension that is not a plot format.

    >>> figure_format("map.svg"), figure_format("report.PDF"), figure_format("plot")
    ('svg', 'pdf', 'png')
    """
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if not ext:
        return "png"
    if ext not in KNOWN_FORMATS:
        raise VerifyError(f"{os.fspath(path)}: unknown plot format {ext!r} (use .png, .pdf or .svg)")
    return ext


def save_figure(fig, path: str | os.PathLike, *, dpi: int | None = None) -> None:
    """Save ``fig`` to ``path`` in the format its extension names, atomically, and close the figure."""
    import matplotlib.pyplot as plt

    fmt = figure_format(path)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi)
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
