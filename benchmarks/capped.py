"""One benchmark run in a fresh child process with a wall-clock cap (shared by the benchmark scripts).

The child is started with ``spawn`` (a fresh interpreter: no solver state inherited through fork), puts
one item on the queue it is given, and is killed with its whole process group at the cap (the target
calls ``os.setpgrp()`` first, so that what it started dies with it).
"""

from __future__ import annotations

import multiprocessing as mp

__all__ = ["run_child"]


def run_child(target, args: tuple, cap: float):
    """Run ``target(*args, queue)`` in a child; returns ``("ok", item)``, ``("killed", None)`` at the cap, or
    ``("failed", exit code)`` when the child ended without putting an item."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    p.join(cap)
    if p.is_alive():
        import os
        import signal

        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            p.kill()
        p.join()
        return "killed", None
    try:
        return "ok", q.get(timeout=5)
    except Exception:
        return "failed", p.exitcode
