"""``--workers`` / ``--scheduler``: where the exact engine's branch and bound runs (issue 13, item 5), and
whether it keeps its closed trees (for ``--certificate``).

Shared by the query commands whose default route ends in the engine (``exact``, ``error``, ``diff``).
The default is this process: measured on this project's 2-core machine, farming the tree out gave no
gain beyond noise (docs/engine.md, "Parallel"), and a query that ends in under two seconds never starts
a worker. ``--workers N`` farms subtrees out to ``N`` local processes, ``--scheduler ADDRESS`` to a Dask
cluster (extra ``verify[dask]``); the exact answer is the same.
"""

from __future__ import annotations

import argparse
import contextlib

__all__ = ["add_engine_args", "engine_options_of"]


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers needs a whole number of processes, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--workers needs at least 1 process, got {n}")
    return n


def add_engine_args(p) -> None:
    p.add_argument("--workers", type=_workers, metavar="N", default=None,
                   help="farm the engine's branch and bound out to N local processes (default: this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="farm it out to this Dask scheduler (tcp://host:port; extra verify[dask])")


@contextlib.contextmanager
def engine_options_of(args):
    """Within the block every engine maximisation runs where ``args`` says, and keeps its closed tree when
    a certificate is asked for (``--certificate``: the engine's certificate is its trees)."""
    from ..engine.entry import set_options

    workers, scheduler = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if scheduler is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            from ..errors import MissingExtraError

            raise MissingExtraError("--scheduler needs Dask: pip install 'verify[dask]'") from None
    previous = set_options(workers=workers, scheduler=scheduler,
                           record_trees=getattr(args, "certificate", None) is not None)
    try:
        yield
    finally:
        set_options(**previous)
