"""Reductions that chain: rewrites of a problem with an inverse map on answers (DESIGN.md, habit 3).

:mod:`.base` (``Reduction``, ``Chain``); one reduction per module: :mod:`.homogeneous` (all of R^d to a
box for bias-free networks), :mod:`.symmetry` (a permutation-invariant network to the faces of the
sorted cone), :mod:`.difference` (a comparison of two networks to the maximisation of one ReLU network),
:mod:`.slice` (a network to a 2-D slice of its inputs); :mod:`.auto` holds the one ``auto`` chain of
every query. Submodules are imported on use, so that ``import verify`` stays light.
"""

from .base import Chain, Reduction

__all__ = ["Reduction", "Chain"]
