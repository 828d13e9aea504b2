"""The engine's entry point: :func:`maximize` runs the branch and bound of :mod:`verify.engine.search`
in this process, or farms its subtrees out (:mod:`verify.engine.parallel`) when asked to. It sits above
both so that neither imports the other's caller.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ..ir.graph import Network
from ..domain import Box
from .search import MaxResult, SearchConfig, maximize_serial

__all__ = ["maximize", "set_options", "OPTIONS"]

# What every maximisation does when its caller does not say: run on ``workers`` local processes (None or
# 1: this process) or a Dask ``scheduler``, and keep the closed trees (``record_trees``, for certificates,
# :mod:`verify.engine.certificate`). The CLI sets them once per command (``--workers``, ``--scheduler``,
# ``--certificate``), so every maximisation a query makes (both sides, every output, every argmax cone)
# behaves the same way without threading options through the reductions.
OPTIONS: dict = {"workers": None, "scheduler": None, "record_trees": False}


def set_options(**options) -> dict:
    """Update :data:`OPTIONS` (keys ``workers``, ``scheduler``, ``record_trees``); returns the previous
    options (pass them back as ``set_options(**previous)`` to restore them)."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise TypeError(f"unknown engine options: {', '.join(sorted(unknown))}")
    previous = dict(OPTIONS)
    OPTIONS.update(options)
    return previous


def maximize(net: Network, box: Box, constraints: Sequence = (), *, deadline=None, floor: Fraction | None = None,
             stop_above: Fraction | None = None, candidates: Sequence = (), node_limit: int | None = None,
             config: SearchConfig | None = None, record_tree: bool = False, seed: int = 0,
             workers: int | None = None, scheduler: str | None = None) -> MaxResult:
    """Exact ``sup { net(x) : x in box, sum_i a_i x_i <= b for (a, b) in constraints }``.

    Parameters
    ----------
    net : Network
        One output; ``max`` nodes are lowered to ReLUs, parallel ReLUs merged (exact rewrites).
    box : Box
    constraints : sequence of (dict input index -> rational, rational)
        Linear constraints ``sum_i a_i x_i <= b``; an argmax cone (``x_j - x_i <= 0``) gets an exact
        closed-form treatment in the bounds, other constraints are dualised.
    deadline : Deadline or float seconds, optional
    floor : Fraction, optional
        Only points strictly above it matter; if none exists the result is PROVED with ``value=None``.
    stop_above : Fraction, optional
        Stop (PROVED, ``stopped=True``) once an exactly evaluated point is above it.
    candidates : exact points tried first.
    node_limit : int, optional
        Stop with UNKNOWN after this many bounded nodes.
    record_tree : bool
        Keep the bounded tree (:class:`TreeRecord`) for :func:`verify.engine.recheck.recheck_tree`.
    workers, scheduler :
        Farm subtrees out to a local process pool (``workers > 1``) or a Dask scheduler
        (:mod:`verify.engine.parallel`); the answer is the same.

    Returns
    -------
    MaxResult
    """
    if workers is None and scheduler is None:
        workers, scheduler = OPTIONS["workers"], OPTIONS["scheduler"]
    # A recorded tree is built in this process (the farmed-out search does not keep one).
    if not record_tree and (workers is not None and workers > 1 or scheduler is not None):
        from .parallel import maximize_parallel

        return maximize_parallel(net, box, constraints, deadline=deadline, floor=floor, stop_above=stop_above,
                                 candidates=candidates, node_limit=node_limit, config=config, seed=seed,
                                 workers=workers, scheduler=scheduler)
    return maximize_serial(net, box, constraints, deadline=deadline, floor=floor, stop_above=stop_above,
                           candidates=candidates, node_limit=node_limit, config=config, record_tree=record_tree,
                           seed=seed)
