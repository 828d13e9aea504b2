"""Exact activation regions, affine maps and linear pieces of a network in a box (or in R^d).

One module per topic: :mod:`.enumerate` (the depth-first enumerator and :class:`Region`), :mod:`.exact`
(exact strict points and emptiness certificates), :mod:`.pieces` (linear pieces), :mod:`.count` (the
counts beside the published bounds), :mod:`.plot` (region maps of 2-D slices). The 2-D slice of a network
is the input-slice reduction, :func:`verify.reductions.slice.slice_network`.
"""

from ...backends.patterns import Region
from ...reductions.slice import slice_network
from .count import RegionsResult, count_regions
from .enumerate import RegionEnumerator, iter_regions
from .exact import motzkin_certificate, z3_strict_point
from .pieces import linear_pieces

__all__ = ["Region", "RegionEnumerator", "RegionsResult", "iter_regions", "count_regions", "slice_network",
           "linear_pieces", "z3_strict_point", "motzkin_certificate"]
