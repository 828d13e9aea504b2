"""A progress bar on stderr for long commands, and the one callback the long loops call.

The loops of the engines (the exact maximiser's branch and bound, region hopping, the decomposition's
pieces, the claims of ``prove``) call :func:`report` with what they know: ``nodes`` explored, ``step`` /
``steps`` done, the current bracket ``attained`` (a value reached at an exactly evaluated point) and
``upper`` (a sound upper bound). Without an active bar :func:`report` returns at once (one global
read), so library users pay nothing. The CLI opens a bar with :func:`progress_for`: a tqdm counter on
stderr (nodes or steps, the bracket as decimals, elapsed time), refreshed twice a second by a daemon
thread so the time moves while a solver call runs; off when stderr is not a terminal or with
``--quiet`` (nothing is written to stderr then, so ``--json`` runs stay clean). The bracket is shown as
floats: it is only a display, every value reported at the end is exact.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from fractions import Fraction

__all__ = ["Progress", "report", "progress_for", "active", "enabled_for"]

_CURRENT: "Progress | None" = None


class Progress:
    """One bar: counters and a bracket, shown by tqdm on ``stream``."""

    def __init__(self, desc: str, stream=None, interval: float = 0.5):
        from tqdm import tqdm

        self.start = time.monotonic()
        self.fields: dict = {}
        self._lock = threading.Lock()
        stream = stream or sys.stderr
        self.bar = tqdm(desc=desc, file=stream, total=None, leave=False, ncols=_columns(stream), nrows=24,
                        bar_format="{desc}: {elapsed}{postfix}", mininterval=0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, args=(interval,), daemon=True)
        self._thread.start()

    def _tick(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with self._lock:
                self.bar.refresh()

    def update(self, **fields) -> None:
        with self._lock:
            for k, v in fields.items():
                if v is not None:
                    self.fields[k] = v
            self.bar.set_postfix_str(self.text(), refresh=False)

    def text(self) -> str:
        """The postfix, e.g. ``piece 2/3  nodes 120  bracket [0.142, 0.15]``."""
        f = self.fields
        parts = []
        if "piece" in f:
            parts.append(f"piece {f['piece']}" + (f"/{f['pieces']}" if "pieces" in f else ""))
        if "nodes" in f:
            parts.append(f"nodes {f['nodes']}")
        if "rounds" in f:
            parts.append(f"z3 rounds {f['rounds']}")
        if "step" in f:
            parts.append(f"step {f['step']}" + (f"/{f['steps']}" if "steps" in f else ""))
        if "attained" in f or "upper" in f:
            parts.append(f"bracket [{_dec(f.get('attained'))}, {_dec(f.get('upper'))}]")
        if "note" in f:
            parts.append(str(f["note"]))
        return "  ".join(parts)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self.bar.close()


def _columns(stream) -> int:
    """The terminal's width. A fresh pseudo-terminal reports 0 x 0, with which tqdm prints nothing (its
    bar is "below the screen"), hence the explicit ``ncols`` and ``nrows``."""
    import os

    try:
        cols = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        cols = 0
    return cols if cols > 20 else 100


def _dec(v) -> str:
    if v is None:
        return "?"
    return f"{float(Fraction(v)):.6g}"


def report(**fields) -> None:
    """Tell the active bar (if any) what the current loop knows: ``piece=``/``pieces=`` (decomposition),
    ``nodes=`` (branch and bound), ``rounds=`` (z3 region hopping), ``step=``/``steps=`` (other loops),
    ``attained=``, ``upper=`` (the current bracket), ``note=``. A no-op without a bar."""
    bar = _CURRENT
    if bar is not None:
        bar.update(**fields)


def active() -> bool:
    """Whether a bar is open (loops may skip computing what they would report)."""
    return _CURRENT is not None


def enabled_for(args, stream=None) -> bool:
    """A bar is shown when the stream (stderr) is a terminal and ``--quiet`` was not given."""
    stream = stream or sys.stderr
    if getattr(args, "quiet", False):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def progress_for(args, desc: str, stream=None):
    """Open a bar for the duration of a command when :func:`enabled_for` says so (else nothing)."""
    global _CURRENT
    if not enabled_for(args, stream) or _CURRENT is not None:
        yield None
        return
    bar = Progress(desc, stream)
    _CURRENT = bar
    try:
        yield bar
    finally:
        _CURRENT = None
        bar.close()
