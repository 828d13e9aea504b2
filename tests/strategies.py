"""Hypothesis strategies for the fuzz tests, on the shared generators of :mod:`verify.testing`.

The generators draw every choice through a :class:`~verify.testing.Source`; here each choice is a
hypothesis integer draw, so a failing case shrinks to a small network, box and point set.
"""

from __future__ import annotations

from hypothesis import strategies as st

from verify.testing import FuzzCase, exactness_case, random_box, random_network, random_points


class DrawSource:
    """A :class:`verify.testing.Source` whose choices are hypothesis draws."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))


@st.composite
def network_cases(draw, n_points: int = 8, **shape) -> FuzzCase:
    """A random network (``shape``: keywords of :func:`random_network`), a random box and points in it."""
    src = DrawSource(draw)
    net = random_network(src, **shape)
    box = random_box(src, net.n_inputs)
    return FuzzCase(net, box, points=random_points(src, box, n_points))


@st.composite
def exactness_cases(draw, n_points: int = 4, **kw) -> FuzzCase:
    """A network equal to max by construction (rewritten) or a perturbed one, with its known answer."""
    src = DrawSource(draw)
    case = exactness_case(src, **kw)
    box = case.domain if hasattr(case.domain, "lo") else random_box(src, case.net.n_inputs)
    case.points = random_points(src, box, n_points)
    return case
