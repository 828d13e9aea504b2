"""Published counts and bounds for the number of linear (activation) regions, as plain functions.

Every function states which architecture it is about; :func:`applicable_bounds` picks the ones that
hold for a given network and domain. Region counts inside a box are at most the counts in R^d, so an
upper bound for R^d holds in any box. Lower bounds (Montufar et al.) are about the *maximum over all
weights* of an architecture and say nothing about one network; they are reported for information.

References
----------
.. [Z] T. Zaslavsky, "Facing up to arrangements: face-count formulas for partitions of space by
   hyperplanes", Memoirs of the AMS 154 (1975).
.. [C] T. M. Cover, "Geometrical and statistical properties of systems of linear inequalities with
   applications in pattern recognition", IEEE Trans. Electronic Computers EC-14 (1965).
.. [M] G. Montufar, R. Pascanu, K. Cho, Y. Bengio, "On the number of linear regions of deep neural
   networks", NeurIPS 2014.
.. [S] T. Serra, C. Tjandraatmadja, S. Ramalingam, "Bounding and counting linear regions of deep neural
   networks", ICML 2018 (arXiv:1711.02114).
.. [E] Escobar, Montufar et al., "Enumeration of max-pooling responses with generalized permutohedra",
   arXiv:2209.14978.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import comb, prod
from typing import Sequence

from ..domain import Box
from ..errors import VerifyError
from ..ir.graph import Network
from ..ir.layers import to_layers
from ..ir.ops import Op

__all__ = [
    "zaslavsky_bound",
    "central_arrangement_bound",
    "montufar_lower_bound",
    "serra_upper_bound",
    "maxpool_1d_overlapping_regions",
    "maxpool_disjoint_regions",
    "applicable_bounds",
    "CITATIONS",
]

CITATIONS = {
    "zaslavsky": "Zaslavsky, Memoirs AMS 154 (1975)",
    "cover": "Cover, IEEE Trans. Electronic Computers EC-14 (1965)",
    "montufar": "Montufar, Pascanu, Cho, Bengio, NeurIPS 2014",
    "serra": "Serra, Tjandraatmadja, Ramalingam, ICML 2018 (arXiv:1711.02114)",
    "escobar": "Escobar et al., arXiv:2209.14978",
}


def _check_nonneg(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise VerifyError(f"{name} must be a non-negative integer, got {v!r}")
    return v


def zaslavsky_bound(m: int, d: int) -> int:
    """At most ``sum_{j=0}^{d} C(m, j)`` regions for ``m`` hyperplanes in R^d; equality in general position [Z].

    >>> zaslavsky_bound(3, 2)
    7
    """
    _check_nonneg("m", m), _check_nonneg("d", d)
    return sum(comb(m, j) for j in range(d + 1))


def central_arrangement_bound(m: int, d: int) -> int:
    """At most ``2 sum_{j=0}^{d-1} C(m-1, j)`` regions for ``m >= 1`` hyperplanes through the origin of R^d [C].

    >>> central_arrangement_bound(3, 2)
    6
    """
    _check_nonneg("m", m), _check_nonneg("d", d)
    if m == 0 or d == 0:
        return 1
    return 2 * sum(comb(m - 1, j) for j in range(d))


def montufar_lower_bound(n0: int, widths: Sequence[int]) -> int | None:
    """``(prod_{l<L} floor(n_l/n_0)^{n_0}) * sum_{j<=n_0} C(n_L, j)``: some choice of weights of the
    architecture ``n0 -> widths`` has at least this many regions [M] (needs ``n_l >= n_0``; else None).

    >>> montufar_lower_bound(2, [4, 4])
    44
    """
    _check_nonneg("n0", n0)
    if not widths or n0 == 0 or any(w < n0 for w in widths):
        return None
    head = prod((w // n0) ** n0 for w in widths[:-1])
    return head * sum(comb(widths[-1], j) for j in range(n0 + 1))


def serra_upper_bound(n0: int, widths: Sequence[int]) -> int:
    """``sum_{(j_1..j_L) in J} prod_l C(n_l, j_l)`` with
    ``J = {0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}`` [S].

    For one hidden layer this is Zaslavsky's bound; for ``n0 = 1`` it is ``prod_l (n_l + 1)`` when the
    hidden widths before the last are at least 2 (a width-1 layer caps the dimension: ``1 -> 1 -> 5``
    gives 7, not 12).

    >>> serra_upper_bound(1, [3, 2])
    12
    """
    _check_nonneg("n0", n0)
    widths = tuple(_check_nonneg("width", w) for w in widths)

    @lru_cache(maxsize=None)
    def rest(l: int, cap: int) -> int:
        # cap = min(n_0, n_k - j_k for k < l)
        if l == len(widths):
            return 1
        n = widths[l]
        return sum(comb(n, j) * rest(l + 1, min(cap, n - j)) for j in range(min(cap, n) + 1))

    return rest(0, n0)


def maxpool_1d_overlapping_regions(n: int) -> int:
    """Regions of 1-D max pooling with window 2 and stride 1 on ``n`` inputs: ``2^(n-1)`` [E].

    Each of the n-1 windows picks one of its two inputs, and the picks are the signs of the n-1
    consecutive differences, which are independent.
    """
    _check_nonneg("n", n)
    return 2 ** max(n - 1, 0)


def maxpool_disjoint_regions(window_sizes: Sequence[int]) -> int:
    """Regions of max pooling over pairwise disjoint windows: ``prod k_i`` (``k^(#windows)``) [E]."""
    return prod(_check_nonneg("window size", k) for k in window_sizes)


# -- which bounds hold for a network ----------------------------------------------------------

def _pure_maxpool_windows(net: Network):
    """If the network is a max-pooling layer on its inputs (output = max of inputs), its windows."""
    if net.relu_nodes:
        return None
    windows = []
    for o in net.outputs:
        node = net.single_pred(o)
        while net.op(node) is Op.AFFINE:  # outputs are materialised affine copies of the max node
            terms = net.affine_terms(node)
            if len(terms) != 1 or terms[0][1] != 1 or net.bias(node) != 0:
                return None
            node = terms[0][0]
        if net.op(node) is not Op.MAX:
            return None
        window = []
        for p in net.preds(node):
            src = p
            while net.op(src) is Op.AFFINE:
                terms = net.affine_terms(src)
                if len(terms) != 1 or terms[0][1] != 1 or net.bias(src) != 0:
                    return None
                src = terms[0][0]
            if net.op(src) is not Op.INPUT:
                return None
            window.append(net.graph.nodes[src]["index"])
        if len(set(window)) != len(window):
            return None
        windows.append(tuple(window))
    return windows


def _entry(name, kind, value, count, applies=True, note=""):
    ratio = None
    if count is not None and value not in (None, 0):
        ratio = float(Fraction(count, value))
    return {
        "name": name,
        "kind": kind,
        "value": None if value is None else str(value),
        "ratio": None if ratio is None else round(ratio, 6),
        "applies": applies,
        "citation": CITATIONS.get(name.split()[0], ""),
        "note": note,
    }


def applicable_bounds(net: Network, domain, count: int | None) -> list[dict]:
    """The bounds (and exact counts) that hold for ``net`` on ``domain``, with ``count / bound``.

    Layered ReLU networks (no skip connections, no ``max`` nodes) get Serra et al.'s upper bound and,
    with one hidden layer, Zaslavsky's (Cover's when every first-layer bias is 0); Montufar et al.'s
    lower bound is listed as a statement about the architecture. Networks with skip connections are
    not covered by these layered bounds (the dimension argument of Serra et al. fails when inputs
    reach later layers directly), so none is reported. A max-pooling layer gets Escobar et al.'s count.
    """
    out: list[dict] = []
    d = net.n_inputs
    in_box = isinstance(domain, Box)
    where = "in a box: at most the count in R^d" if in_box else "in R^d"
    windows = _pure_maxpool_windows(net) if net.max_nodes else None
    if windows is not None:
        flat = [i for w in windows for i in w]
        cube = (not in_box) or (len(set(domain.lo)) == 1 and len(set(domain.hi)) == 1)
        disjoint = len(set(flat)) == len(flat)
        path = all(len(w) == 2 for w in windows) and sorted(tuple(sorted(w)) for w in windows) == [
            (i, i + 1) for i in range(d - 1)
        ]
        note = "exact count in R^d" + ("; a cube holds all of them" if cube else "; a box holds at most this many")
        if path:
            out.append(_entry("escobar 1-D window 2 stride 1", "exact" if cube else "upper",
                              maxpool_1d_overlapping_regions(d), count, note=note))
        elif disjoint:
            out.append(_entry("escobar disjoint windows", "exact" if cube else "upper",
                              maxpool_disjoint_regions([len(w) for w in windows]), count, note=note))
        return out
    layers = to_layers(net) if net.relu_nodes else None
    if net.relu_nodes and layers is None:
        note = "not a layered ReLU network (skip connections or max nodes): the layered bounds do not apply"
        out.append(_entry("serra", "upper", None, None, applies=False, note=note))
        return out
    if layers is None:
        return out
    widths = [ly.width for ly in layers if ly.activation == "relu"]
    out.append(_entry("serra", "upper", serra_upper_bound(d, widths), count, note=f"activation regions {where}"))
    if len(widths) == 1:
        m = widths[0]
        out.append(_entry("zaslavsky", "upper", zaslavsky_bound(m, d), count,
                          note=f"{m} hyperplanes in R^{d}; equality in general position; {where}"))
        if all(b == 0 for b in layers[0].bias):
            out.append(_entry("cover", "upper", central_arrangement_bound(m, d), count,
                              note=f"central arrangement (no first-layer biases); {where}"))
    lower = montufar_lower_bound(d, widths)
    if lower is not None:
        out.append(_entry("montufar", "lower", lower, count, applies=False,
                          note="the maximum over all weights of this architecture is at least this; not a bound on this network"))
    return out
