"""Counts of activation regions, distinct affine maps and linear pieces, beside the published bounds."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ...errors import ToolkitBugError
from ...ir.graph import Network
from ...status import Status
from .enumerate import RegionEnumerator
from .pieces import linear_pieces
from ...backends.patterns import Region

__all__ = ["RegionsResult", "count_regions"]


@dataclass(frozen=True)
class RegionsResult:
    """Counts of regions, maps and pieces, with the applicable published bounds.

    ``status`` is PROVED when the enumeration finished (the counts are exact), UNKNOWN when it was
    stopped (timeout, ``max_regions``): the counts are then lower bounds.
    """

    status: Status
    domain: Any
    activation_regions: int
    affine_maps: int
    linear_pieces: int | None
    bounds: list
    seconds: float
    lp_solves: int = 0
    z3_calls: int = 0
    exact_retries: int = 0
    reason: str = ""
    network: str = ""
    slice: dict | None = None
    regions: list | None = field(default=None, repr=False)  # kept regions (pieces=True), not in JSON

    def to_json(self) -> dict[str, Any]:
        return {
            "query": "regions",
            "status": self.status.value,
            "network": self.network,
            "domain": self.domain.to_json(),
            "slice": self.slice,
            "activation_regions": self.activation_regions,
            "affine_maps": self.affine_maps,
            "linear_pieces": self.linear_pieces,
            "bounds": self.bounds,
            "seconds": round(self.seconds, 6),
            "lp_solves": self.lp_solves,
            "z3_calls": self.z3_calls,
            "exact_retries": self.exact_retries,
            "reason": self.reason,
        }


def count_regions(net: Network, domain=None, *, pieces: bool = True, max_regions: int | None = None,
                  timeout: float | None = None, backend: str = "highs", progress: bool | None = None,
                  self_check: bool = True, check_bounds: bool = True) -> RegionsResult:
    """Count activation regions, distinct affine maps and linear pieces of ``net`` in ``domain``.

    Parameters
    ----------
    net : Network
    domain : Box or RealSpace, optional
    pieces : bool
        Also count linear pieces (keeps every region in memory; otherwise only the distinct maps).
    max_regions : int, optional
        Stop (status UNKNOWN, counts are lower bounds) once more regions than this are found.
    timeout : float, optional
    backend : {"highs", "z3"}
    progress : bool, optional
        Show a tqdm counter on stderr (``None``: only after 2 s on a terminal).
    check_bounds : bool
        Raise :class:`ToolkitBugError` if a complete count exceeds an applicable upper bound.

    References
    ----------
    Zaslavsky (1975); Cover (1965); Montufar et al. (NeurIPS 2014); Serra et al. (ICML 2018); Escobar
    et al. (arXiv:2209.14978) -- see :mod:`verify.bounds.regions`.

    >>> from verify.constructions import max_tree
    >>> from verify.domain import Box
    >>> r = count_regions(max_tree(3, "skip"), Box.cube(3, -1, 1))
    >>> (r.activation_regions, r.affine_maps, r.linear_pieces)
    (4, 3, 3)
    """
    from ...bounds.regions import applicable_bounds

    start = time.monotonic()
    enum = RegionEnumerator(net, domain, backend=backend, timeout=timeout, keep_constraints=pieces,
                            self_check=self_check)
    kept: list[Region] = []
    maps: set = set()
    count = 0
    bar = None
    show = progress
    stopped = ""
    try:
        for region in enum:
            count += 1
            maps.add(region.maps)
            if pieces:
                kept.append(region)
            if bar is None and (show or (show is None and sys.stderr.isatty() and time.monotonic() - start > 2.0)):
                from tqdm import tqdm

                bar = tqdm(desc="regions", unit=" regions", file=sys.stderr, initial=count)
            elif bar is not None:
                bar.update(1)
            if max_regions is not None and count > max_regions:
                stopped = f"stopped after more than --max-regions {max_regions} regions"
                break
    finally:
        if bar is not None:
            bar.close()
    complete = enum.complete and not stopped
    n_pieces = None
    reason = stopped or enum.reason
    if complete and pieces:
        n_pieces = linear_pieces(kept, enum, enum.deadline)
        if n_pieces is None:
            complete = False
            reason = f"timeout while counting linear pieces after {enum.deadline.elapsed():.1f} s"
    bounds = applicable_bounds(net, enum.domain, count if complete else None)
    if complete and check_bounds:
        for b in bounds:
            if b["kind"] == "upper" and b["applies"] and count > int(b["value"]):
                raise ToolkitBugError(
                    f"{count} activation regions exceed the {b['name']} upper bound {b['value']}: a bug in the toolkit"
                )
            if b["kind"] == "exact" and b["applies"] and count != int(b["value"]):
                raise ToolkitBugError(
                    f"{count} activation regions differ from the exact count {b['value']} ({b['name']}): a bug in the toolkit"
                )
    return RegionsResult(
        status=Status.PROVED if complete else Status.UNKNOWN,
        domain=enum.domain,
        activation_regions=count,
        affine_maps=len(maps),
        linear_pieces=n_pieces,
        bounds=bounds,
        seconds=time.monotonic() - start,
        lp_solves=enum.lp_solves,
        z3_calls=enum.z3_calls,
        exact_retries=enum.exact_retries,
        reason=reason,
        network=net.name,
        regions=kept if pieces and complete else None,
    )
