"""Depth facts for exact max: formulas and the consistency check of PROVED results.

Depth is counted in hidden ReLU layers. MAX_d(x) = max(x_1..x_d).

References
----------
Arora et al. 2018 (arXiv:1611.01491): MAX_d in ceil(log2 d) hidden layers (binary tree); every CPWL
function on R^n in ceil(log2(n+1)).
Haase, Hertrich, Loho 2023 (arXiv:2302.12553): with integer weights MAX_n needs ceil(log2 n) hidden layers.
Averkov, Hojny, Merkert 2025 (arXiv:2502.06283): with decimal-fraction weights MAX_n needs ceil(log3 n).
Bakaev et al. 2025 (arXiv:2505.14338): two hidden layers compute MAX_5; ceil(log3(n-2)) + 1 suffice for
MAX_n, n >= 4.
Mukherjee & Basu (arXiv:1711.03073, as cited by Hertrich et al.): one hidden layer cannot compute MAX_3.
"""

from __future__ import annotations

from fractions import Fraction

from ..errors import ToolkitBugError

__all__ = [
    "ceil_log",
    "tree_depth",
    "arora_cpwl_depth",
    "haase_integer_lower_bound",
    "averkov_decimal_lower_bound",
    "bakaev_upper_bound",
    "is_decimal_fraction",
    "depth_lower_bound",
    "check_depth_consistency",
    "check_proved_exactness",
]


def ceil_log(n: int, base: int) -> int:
    """``ceil(log_base n)`` in exact integer arithmetic (n >= 1)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    k, p = 0, 1
    while p < n:
        p *= base
        k += 1
    return k


def tree_depth(d: int) -> int:
    """Hidden layers of the balanced pairwise tree for MAX_d: ceil(log2 d) (Arora et al. 2018)."""
    return ceil_log(d, 2)


def arora_cpwl_depth(n: int) -> int:
    """ceil(log2(n+1)) hidden layers suffice for every CPWL function on R^n (Arora et al. 2018)."""
    return ceil_log(n + 1, 2)


def haase_integer_lower_bound(n: int) -> int:
    """With integer weights MAX_n needs ceil(log2 n) hidden layers (Haase, Hertrich, Loho 2023)."""
    return ceil_log(n, 2)


def averkov_decimal_lower_bound(n: int) -> int:
    """With decimal-fraction weights MAX_n needs ceil(log3 n) hidden layers (Averkov et al. 2025)."""
    return ceil_log(n, 3)


def bakaev_upper_bound(n: int) -> int:
    """ceil(log3(n-2)) + 1 hidden layers suffice for MAX_n, n >= 4 (Bakaev et al. 2025)."""
    if n < 4:
        raise ValueError("the bound is stated for n >= 4")
    return ceil_log(n - 2, 3) + 1


def is_decimal_fraction(q: Fraction) -> bool:
    """A decimal fraction: denominator of the form 2^a 5^b."""
    den = q.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def depth_lower_bound(d: int, weights) -> tuple[int, str]:
    """The best depth lower bound the catalogue knows for MAX_d given the network's weights.

    Returns ``(bound, reason)``. Applies to networks equal to MAX_d on all of R^d.
    """
    weights = list(weights)
    best, why = (1, "MAX_d is not affine for d >= 2") if d >= 2 else (0, "MAX_1 is affine")
    if d >= 3 and best < 2:
        best, why = 2, "one hidden layer cannot compute MAX_3 or more (Mukherjee & Basu)"
    if all(w.denominator == 1 for w in weights):
        b = haase_integer_lower_bound(d)
        if b > best:
            best, why = b, "integer weights: ceil(log2 d) (Haase, Hertrich, Loho 2023)"
    elif all(is_decimal_fraction(w) for w in weights):
        b = averkov_decimal_lower_bound(d)
        if b > best:
            best, why = b, "decimal-fraction weights: ceil(log3 d) (Averkov, Hojny, Merkert 2025)"
    return best, why


def check_depth_consistency(hidden_layers: int, weights, d: int) -> None:
    """Raise :class:`ToolkitBugError` if a network PROVED equal to MAX_d on R^d is shallower than a known bound.

    Such a result would contradict a theorem, so it means a bug in the toolkit, never a discovery.
    """
    bound, why = depth_lower_bound(d, weights)
    if hidden_layers < bound:
        raise ToolkitBugError(
            f"toolkit bug: a network with {hidden_layers} hidden layers was PROVED equal to max of {d} "
            f"on R^{d}, below the lower bound {bound} ({why})"
        )


def check_proved_exactness(net, result) -> None:
    """Check a PROVED exactness result on all of R^d against the depth lower bounds that apply to it.

    For every output, the weights and ReLU depth of the part of the network it reads are compared
    with :func:`depth_lower_bound` for the max of its window (outputs that read a ``max`` node are
    skipped: the bounds speak of ReLU networks, and a max node computes max in depth 0). A proof below
    a bound contradicts a theorem: :class:`ToolkitBugError`. Results on a box, or not PROVED, pass.
    """
    import networkx as nx

    from ..domain import RealSpace
    from ..ir.ops import Op
    from ..status import Status

    if result.status is not Status.PROVED or not isinstance(result.domain, RealSpace):
        return
    for output, window in zip(net.outputs, net.windows):
        ancestors = nx.ancestors(net.graph, output)
        if any(net.op(n) is Op.MAX for n in ancestors):
            continue
        weights = [w for n in ancestors if net.op(n) is Op.AFFINE
                   for w in [net.bias(n)] + [w for _, w in net.affine_terms(n)]]
        check_depth_consistency(net.relu_level[output], weights, len(window))

