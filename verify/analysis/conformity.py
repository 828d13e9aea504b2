"""Braid conformity: is every neuron's function linear on each braid chamber?

Grillo, Hertrich and Loho call a network *braid-conforming* when the function of every neuron is linear
on every cone of the braid fan (the closed chambers ``x_s(1) >= ... >= x_s(n)``); such networks need
three hidden layers already for max of 5, so a two-hidden-layer max_5 or max_6 cannot be one.

Units that only carry a linear function (``relu(y) - relu(-y) = y``) or that repeat another are not
intrinsic, so the check runs on the exact canonical form of a bias-free network with two hidden layers
(:func:`verify.analysis.arrangement.two_layer_form`): the second-layer units ``relu(F)`` that survive
merging, with their first-layer directions. A unit is shown not braid-conforming by an exact witness:
points ``p, q`` of one open chamber with ``f((p + q) / 2) != (f(p) + f(q)) / 2`` (an open chamber is
convex, so ``f`` is not affine on it).

References
----------
.. [1] M. Grillo, C. Hertrich, G. Loho. Depth-Bounds for Neural Networks via the Braid Arrangement.
   NeurIPS 2025, arXiv:2502.09324.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from ..errors import VerifyError
from ..ir.graph import Network

__all__ = ["ConformityWitness", "braid_nonconformity_witness"]


@dataclass(frozen=True)
class ConformityWitness:
    """Canonical unit ``unit`` (``layer`` 1: a direction, 2: a second-layer unit) is not affine on the
    open chamber containing ``p`` and ``q``; ``values`` = f(p), f(q), f((p + q) / 2)."""

    layer: int
    unit: int
    p: tuple
    q: tuple
    values: tuple


def _relu(v):
    return v if v > 0 else 0


def braid_nonconformity_witness(net: Network, *, tries: int = 200, seed: int = 0) -> ConformityWitness | None:
    """An exact witness that the canonical units of ``net`` are not braid-conforming, or None if none was
    found in ``tries`` pairs of points of the open sorted chamber (None is "not found", not "conforming")."""
    from .arrangement import two_layer_form

    forms = two_layer_form(net)
    if isinstance(forms, str):
        raise VerifyError(f"conformity check: {forms}")
    form = forms[0]
    dirs = form.directions
    rnd = random.Random(seed)
    d = net.n_inputs

    def layer1(x):
        return [_relu(sum(a * b for a, b in zip(h, x))) for h in dirs]

    def units(x):
        r = layer1(x)
        out = [(1, k, r[k]) for k in sorted(form.active_directions())]
        for u, (_b, a, l) in enumerate(form.units):
            out.append((2, u, _relu(sum(v * r[k] for k, v in a.items()) + sum(t * s for t, s in zip(l, x)))))
        return out

    for _ in range(tries):
        def point():
            x, acc = [], Fraction(rnd.randint(-200, 200))
            for _ in range(d):
                x.append(acc)
                acc -= rnd.randint(1, 50)
            return tuple(x)

        p, q = point(), point()
        m = tuple((a + b) / 2 for a, b in zip(p, q))
        for (lay, k, fp), (_, _, fq), (_, _, fm) in zip(units(p), units(q), units(m)):
            if 2 * fm != fp + fq:
                return ConformityWitness(lay, k, p, q, (Fraction(fp), Fraction(fq), Fraction(fm)))
    return None
