"""A bias-free network with at most two hidden layers read back as a support-function sum.

Every such network is, exactly, ``sum_F b_F relu(F) + G`` (:func:`verify.analysis.arrangement.two_layer_form`)
with ``F = sum_h a_h relu(<h, x>) + <l, x>``. Scale ``F`` by ``s > 0`` so that every ``s a_h`` is an
integer; put the directions with ``a_h > 0`` into a zonotope ``Z1`` (generators ``s a_h h``) and those with
``a_h < 0`` into ``Z2`` (generators ``s |a_h| h``), with bases differing by ``s l``. Then
``s F = h_Z1 - h_Z2`` and ``b relu(F) = (b / s) (h_conv(Z1 u Z2) - h_Z2)`` since ``relu(p - q) = max(p, q) - q``.
What is left, ``G - sum (b / s) h_Z2``, is a first-layer function: a sum of segments ``c relu(<h, x>)`` and
a linear part. Each polytope is translated so that the componentwise minimum of its vertices is 0 and
divided by the gcd of its coordinates (both moves change the sum only by a linear term, which is kept),
so equal polytopes are recognised exactly by their vertex sets and merged, and orbits under coordinate
permutations are read off canonical vertex sets.

This is exact: it uses only ``relu(t u) = t relu(u)`` (``t > 0``), ``relu(-u) = relu(u) - u`` and the
identity above, and :func:`describe_network` re-evaluates the description against the network at random
rational points as a guard against bugs.

References
----------
.. [1] C. Haase, C. Hertrich, G. Loho. ICLR 2023, arXiv:2302.12553 (networks with k hidden layers and
   support functions of polytopes in P_k); K. Bakaev et al., arXiv:2505.14338.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction

from ..backends.evaluator import evaluate
from ..constructions.polytopes import canonical_vertices, convex_vertices, orbit_images
from ..constructions.support_sum import MAX_ORBIT_DIM, support_sum_value
from ..errors import ToolkitBugError, VerifyError
from ..io.support_sum import SupportSum, Term, Zonotope
from ..ir.graph import Network
from ..numbers import to_text
from .arrangement import two_layer_form

__all__ = ["OrbitClass", "Description", "describe_network"]


@dataclass
class OrbitClass:
    """The polytopes of one orbit under coordinate permutations that occur in the description."""

    representative: Term
    vertices: tuple
    orbit_size: int
    present: int
    coefficients: list

    @property
    def complete(self) -> bool:
        """Every member occurs, all with the same coefficient."""
        return self.present == self.orbit_size and len(set(self.coefficients)) == 1

    def weight(self) -> int | None:
        """The common coordinate sum of the vertices, if they share one."""
        sums = {sum(v) for v in self.vertices}
        return sums.pop() if len(sums) == 1 else None


@dataclass
class Description:
    """``N = sum_t c_t h_t + <linear, x>`` (terms with distinct polytopes) and its orbit structure."""

    dim: int
    hidden_layers: int
    terms: list
    linear: tuple
    orbits: list = field(default_factory=list)

    @property
    def symmetric(self) -> bool:
        """Invariant under permuting the inputs: every orbit complete and the linear part constant."""
        return bool(self.orbits) and all(o.complete for o in self.orbits) and len(set(self.linear)) <= 1

    def support_sum(self, *, orbits: bool | None = None) -> SupportSum:
        """As a ``support-sum/1`` object: one term per orbit when symmetric (``orbits=None``), else all."""
        use = self.symmetric if orbits is None else orbits
        if use and not self.symmetric:
            raise VerifyError("the description is not invariant under permuting the inputs")
        terms = [o.representative for o in self.orbits] if use else list(self.terms)
        return SupportSum(self.dim, tuple(terms), use, tuple(self.linear))

    def to_json(self) -> dict:
        return {
            "dim": self.dim, "hidden_layers": self.hidden_layers, "terms": len(self.terms),
            "two_block_terms": sum(1 for t in self.terms if len(t.blocks) == 2),
            "linear": [to_text(v) for v in self.linear], "symmetric": self.symmetric,
            "orbits": [{"coefficients": sorted({to_text(c) for c in o.coefficients}), "orbit_size": o.orbit_size,
                        "present": o.present, "complete": o.complete, "weight": o.weight(),
                        "vertices": [list(v) for v in o.vertices],
                        "blocks": [{"base": list(b.base), "generators": [list(g) for g in b.generators]}
                                   for b in o.representative.blocks]} for o in self.orbits],
        }


def _normalise(blocks: list[Zonotope]) -> tuple[list[Zonotope], tuple[int, ...], int]:
    """Translate so the componentwise min of all corners is 0, divide by the gcd; ``(blocks, t, g)``.

    The original polytope is ``g * P' + t`` with ``P'`` the returned one.
    """
    corners = set()
    for b in blocks:
        corners |= b.corners()
    d = len(blocks[0].base)
    t = tuple(min(c[i] for c in corners) for i in range(d))
    moved = [Zonotope(tuple(a - s for a, s in zip(b.base, t)), b.generators) for b in blocks]
    g = 0
    for b in moved:
        for v in (b.base,) + b.generators:
            for x in v:
                g = math.gcd(g, x)
    g = g or 1
    moved = [Zonotope(tuple(x // g for x in b.base), tuple(tuple(x // g for x in v) for v in b.generators))
             for b in moved]
    return moved, t, g


def describe_network(net: Network, *, check_points: int = 8) -> Description:
    """The support-function description of a bias-free one-output network with <= 2 hidden layers.

    Raises :class:`VerifyError` with the reason when the network does not have that shape.
    """
    if net.n_outputs != 1:
        raise VerifyError(f"describe needs one output, the network has {net.n_outputs}")
    forms = two_layer_form(net)
    if isinstance(forms, str):
        raise VerifyError(f"cannot describe this network: {forms}")
    form = forms[0]
    d = form.d
    dirs = form.directions
    rest_a: dict = {k: Fraction(v) for k, v in form.rest[0].items()}
    linear = [Fraction(v) for v in form.rest[1]]
    raw: list = []  # (coefficient, blocks)

    for b, a, l in form.units:
        vals = [Fraction(v) for v in a.values()] + [Fraction(v) for v in l]
        s = math.lcm(*(v.denominator for v in vals))
        pos = [(k, int(v * s)) for k, v in sorted(a.items()) if v > 0]
        neg = [(k, int(-v * s)) for k, v in sorted(a.items()) if v < 0]
        z1 = Zonotope(tuple(int(v * s) for v in l), tuple(tuple(m * t for t in dirs[k]) for k, m in pos))
        z2 = Zonotope((0,) * d, tuple(tuple(m * t for t in dirs[k]) for k, m in neg))
        (n1, n2), _t, g = _normalise([z1, z2])
        # s F = h_Z1 - h_Z2, so b relu(F) = c (h_R - h_Z2) with c = b / s and R = conv(Z1 u Z2).
        # With Z_i = g Z_i' + t, the translations cancel: b relu(F) = c g h_R' - c g h_Z2'.
        c = Fraction(b) / s
        raw.append((c * g, (n1, n2)))
        for i, p in enumerate(n2.base):
            linear[i] -= c * g * p
        for k, m in neg:  # the generators of g Z2' are m h_k
            rest_a[k] = rest_a.get(k, 0) - c * m
    for k, v in sorted(rest_a.items()):
        if v == 0:
            continue
        h = dirs[k]
        (seg,), t, g = _normalise([Zonotope((0,) * d, (tuple(h),))])
        raw.append((v * g, (seg,)))
        for i, x in enumerate(t):
            linear[i] += v * x
    # Merge equal polytopes (equal vertex sets), keeping the first decomposition.
    merged: dict = {}
    order: list = []
    for c, blocks in raw:
        pts = set()
        for blk in blocks:
            pts |= blk.corners()
        verts = convex_vertices(pts)
        if verts not in merged:
            merged[verts] = [Fraction(0), blocks]
            order.append(verts)
        merged[verts][0] += c
    terms = [Term(merged[v][0], merged[v][1]) for v in order if merged[v][0] != 0]
    verts_of = {id(t): v for t, v in zip(terms, [v for v in order if merged[v][0] != 0])}
    desc = Description(d, net.hidden_layers, terms, tuple(linear))
    if d <= MAX_ORBIT_DIM:
        classes: dict = {}
        for t in terms:
            key = canonical_vertices(verts_of[id(t)])
            classes.setdefault(key, []).append(t)
        for key, members in classes.items():
            rep = members[0]
            size = len(orbit_images(verts_of[id(rep)]))
            desc.orbits.append(OrbitClass(rep, tuple(sorted(verts_of[id(rep)])), size, len(members),
                                          [m.coeff for m in members]))
    _guard(net, desc, check_points)
    return desc


def _guard(net: Network, desc: Description, k: int) -> None:
    """The description must agree with the network at random rational points (a bug guard, not a proof)."""
    rnd = random.Random(11)
    s = SupportSum(desc.dim, tuple(desc.terms), False, tuple(desc.linear))
    for _ in range(k):
        x = tuple(Fraction(rnd.randint(-999, 999), rnd.randint(1, 60)) for _ in range(desc.dim))
        if support_sum_value(s, x) != evaluate(net, x)[0]:
            raise ToolkitBugError(f"describe: the support-sum description differs from the network at {x}")
