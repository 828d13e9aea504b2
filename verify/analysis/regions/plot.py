"""Region maps: a PNG of the activation regions on a 2-D slice, with the pieces of max drawn over it.

The slice ``x = base`` with coordinates ``i`` and ``j`` free is itself a network with two inputs
(:func:`~verify.reductions.slice.slice_network`), so its regions come from the exact enumerator;
polygons are only drawn in floats (clipping the box by each region's half-planes).

References
----------
Humayun, Balestriero, Balakrishnan, Baraniuk, "SplineCam: exact visualization and characterization of
deep network geometry and decision boundaries", CVPR 2023.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ...backends.patterns import Region
from ...domain import Box
from ...errors import DomainError, ResourceLimitError
from ...io.figures import save_figure
from ...ir.graph import Network
from ...reductions.slice import slice_network
from ...constructions.reference import reference_network
from .enumerate import iter_regions

__all__ = ["slice_box", "region_polygon", "plot_region_map"]


def slice_box(box: Box, i: int, j: int) -> Box:
    """The 2-D box of the slice coordinates ``(x_i, x_j)``."""
    return Box((box.lo[i], box.lo[j]), (box.hi[i], box.hi[j]))


def region_polygon(region: Region, box: Box) -> list[tuple[float, float]]:
    """Float vertices of a 2-D region: the box clipped by each half-plane (Sutherland-Hodgman)."""
    lo, hi = [float(v) for v in box.lo], [float(v) for v in box.hi]
    poly = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
    for a0, a1, c in region.constraints:
        scale = max(abs(a0), abs(a1), abs(c)) or 1
        fa0, fa1, fc = a0 / scale, a1 / scale, c / scale

        def side(p):
            return fa0 * p[0] + fa1 * p[1] + fc

        out = []
        for k, p in enumerate(poly):
            q = poly[(k + 1) % len(poly)]
            sp, sq = side(p), side(q)
            if sp >= 0:
                out.append(p)
            if (sp >= 0) != (sq >= 0):
                t = sp / (sp - sq)
                out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
        poly = out
        if not poly:
            break
    return poly


def plot_region_map(net: Network, box: Box, i: int, j: int, path: str, base: Sequence | None = None,
                    max_regions: int | None = 20000, timeout: float | None = None, title: str | None = None,
                    regions: list | None = None) -> dict:
    """Draw the activation regions of ``net`` on the slice through ``base`` along inputs ``i``, ``j``.

    Regions are coloured by activation pattern; the boundaries of the pieces of the max reference
    (one max per output window) on the same slice are drawn in black. Returns the slice's counts.
    ``regions`` may pass the slice network's regions when they are already known (with constraints).
    The file is written atomically (no partial PNG on failure).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    if not isinstance(box, Box):
        raise DomainError("a region map needs a box (--box LO,HI)")
    base = tuple(Fraction(v) for v in (base if base is not None else box.center()))
    sl = slice_network(net, i, j, base)
    sbox = slice_box(box, i, j)
    if regions is None:  # else: the slice's regions, already enumerated by the caller
        regions = []
        enum = iter_regions(sl, sbox, timeout=timeout, self_check=False)
        for r in enum:
            regions.append(r)
            if max_regions is not None and len(regions) > max_regions:
                raise ResourceLimitError(f"the slice has more than {max_regions} regions: too many to draw")
        if not enum.complete:
            raise ResourceLimitError(f"region map not finished: {enum.reason}")
    pieces = []
    if net.windows is not None:
        ref = slice_network(reference_network(net), i, j, base)
        pieces = list(iter_regions(ref, sbox, timeout=timeout, self_check=False))
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    cmap = plt.get_cmap("tab20")
    polys, colours = [], []
    for r in regions:
        poly = region_polygon(r, sbox)
        if len(poly) >= 3:
            polys.append(poly)
            colours.append(cmap((hash(r.pattern) * 2654435761 % 2 ** 32) % 20))
    ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="white", linewidths=0.4))
    outline = [region_polygon(r, sbox) for r in pieces]
    ax.add_collection(PolyCollection([p for p in outline if len(p) >= 3], facecolors="none",
                                     edgecolors="black", linewidths=1.4))
    ax.set_xlim(float(sbox.lo[0]), float(sbox.hi[0]))
    ax.set_ylim(float(sbox.lo[1]), float(sbox.hi[1]))
    ax.set_aspect("equal")
    ax.set_xlabel(f"x{i}")
    ax.set_ylabel(f"x{j}")
    title = title or net.name or "network"
    base_text = ", ".join(str(v) for v in base)
    title = f"{title}, slice (x{i}, x{j}) through ({base_text})" if net.n_inputs > 2 else title
    ax.set_title(f"{title}\n{len(regions)} activation regions on the slice; black: pieces of max", fontsize=9)
    save_figure(fig, path)
    return {"activation_regions": len(regions), "max_pieces": len(pieces)}
