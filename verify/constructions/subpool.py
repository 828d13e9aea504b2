"""Subpool-max estimators of max pooling as ReLU networks (the paper's approximation class).

``f_beta(x) = beta_0 + sum_{k in R, k >= 1} beta_k A_k(x)`` with ``A_k(x) = C(d,k)^-1 sum_{|S|=k} max_S x``
(Matoba, Dimitriadis, Fleuret, arXiv:2203.01016; TMLR 2023). Every subset maximum is a balanced tree
of pairwise maxima (:func:`~verify.constructions.max_trees.tree_max_expr`, one of the gadgets "A", "B",
"skip"), all trees sit side by side in one stack of hidden layers, and the output is a linear readout.
With plain gadgets the network is layered: the weighted sum of the values that are ready below the top
level is carried up once per level (``relu(v) - relu(-v)``, 2 ReLUs), not each value separately.

Sizes: ``sum_{k in R, k >= 2} C(d,k)`` subset maxima (``2^d - d - 2`` for ``R = {0..d-1}``, LITERATURE.md
section 1); depth ``ceil(log2 max(R))`` hidden layers. ``share=True`` reuses the maxima of sub-subsets
(each subset's tree splits it into a first block of ``2^(L-1)`` indices and the rest), which keeps the
depth and cuts the ReLU count to one pairwise max per subset.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from math import comb
from typing import Iterable, Sequence

from ..errors import VerifyError
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from ..numbers import to_text
from .gadgets import carry, check_gadget, pair_max
from .max_trees import tree_max_expr

__all__ = ["normalise_R", "beta_tuple", "subpool_network", "subpool_size", "SubpoolSize", "n_subset_maxima", "describe_beta"]


def n_subset_maxima(d: int, R: Iterable[int]) -> int:
    """Number of nontrivial subset maxima (subsets of size >= 2) the network of ``(d, R)`` computes."""
    return sum(comb(d, k) for k in set(R) if k >= 2)


def _ceil_log2(n: int) -> int:
    return (n - 1).bit_length()


def normalise_R(d: int, R: Iterable[int]) -> tuple[int, ...]:
    """Validate ``d >= 2`` and the index set ``R`` (sizes in ``0..d-1``); return it sorted.

    Raises :class:`~verify.errors.VerifyError` naming the offending value.
    """
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise VerifyError(f"d must be an integer >= 2 (a window of at least two inputs), got {d!r}")
    out = set()
    for k in R:
        if isinstance(k, bool) or not isinstance(k, int):
            raise VerifyError(f"R must hold integers, got {k!r}")
        if not 0 <= k <= d - 1:
            raise VerifyError(f"R entry {k} out of range: sizes are 0 (intercept) or 1..{d - 1} for d = {d}")
        out.add(k)
    if not out:
        raise VerifyError("R must not be empty")
    return tuple(sorted(out))


def beta_tuple(R: Sequence[int], beta) -> tuple[Fraction, ...]:
    """Exact ``beta`` in the order of ``R`` from a dict ``k -> value`` or a sequence."""
    if isinstance(beta, dict):
        missing = [k for k in R if k not in beta]
        extra = [k for k in beta if k not in R]
        if missing or extra:
            raise VerifyError(f"beta keys {sorted(beta)} do not match R = {list(R)}")
        return tuple(Fraction(beta[k]) for k in R)
    beta = tuple(Fraction(b) for b in beta)
    if len(beta) != len(R):
        raise VerifyError(f"beta has {len(beta)} entries, R has {len(R)}")
    return beta


def _check(d: int, R, beta):
    R = normalise_R(d, R)
    return R, dict(zip(R, beta_tuple(R, beta)))


def subpool_network(d: int, R: Iterable[int], beta, gadget: str = "A", *, share: bool = False) -> Network:
    """The ReLU network of ``f_beta`` for window size ``d``, sizes ``R`` and exact ``beta``.

    Parameters
    ----------
    d : int
        Window size (inputs), ``d >= 2``.
    R : iterable of int
        Subpool sizes; ``0`` is the intercept, ``1..d-1`` the averages ``A_k``.
    beta : dict or sequence
        Exact coefficients (``k -> value``, or in the order of sorted ``R``); decimals/fractions accepted.
    gadget : {"A", "B", "skip"}
        Pairwise-max gadget (see :mod:`verify.constructions.gadgets`).
    share : bool
        Reuse sub-subset maxima across trees (fewer ReLUs, same depth and function).

    Returns
    -------
    Network
        One output, window = all inputs (so error queries compare it with ``max(x)``).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> net = subpool_network(3, [0, 1, 2], {0: F(1, 8), 1: F(-3, 4), 2: F(3, 2)})
    >>> net.hidden_layers, net.n_relus
    (1, 11)

    References
    ----------
    Matoba, Dimitriadis, Fleuret, arXiv:2203.01016 (TMLR 2023): the class of subpool-max estimators.
    """
    R, b = _check(d, R, beta)
    check_gadget(gadget)
    gb = GraphBuilder(d)
    xs = gb.input_exprs()
    terms: list[Expr] = []
    memo: dict[tuple[int, ...], Expr] = {}
    lifted: dict[tuple[tuple[int, ...], int], Expr] = {}

    def shared_max(S: tuple[int, ...]) -> Expr:
        if len(S) == 1:
            return xs[S[0]]
        if S not in memo:
            h = 1 << (_ceil_log2(len(S)) - 1)
            memo[S] = pair_max(gb, at_level(S[:h], _ceil_log2(len(S)) - 1), at_level(S[h:], _ceil_log2(len(S)) - 1), gadget)
        return memo[S]

    def at_level(S: tuple[int, ...], level: int) -> Expr:
        e = shared_max(S)
        if gadget == "skip" or e.level >= level:
            return e
        key = (S, level)
        if key not in lifted:
            lifted[key] = carry(gb, at_level(S, level - 1), gadget)
        return lifted[key]

    for k in R:
        if k == 0 or b[k] == 0:
            continue
        w = b[k] / comb(d, k)
        for S in combinations(range(d), k):
            m = shared_max(S) if share else tree_max_expr(gb, [xs[i] for i in S], gadget)
            terms.append(m * w)
    top = max((t.level for t in terms), default=0)
    # Linear readout from the top level: add the terms level by level, carrying the partial sum up
    # (the intercept needs no carrying: it is the output node's bias).
    acc = Expr()
    for level in range(top + 1):
        acc = acc + Expr.sum(t for t in terms if t.level == level)
        if level < top and gadget != "skip":
            acc = carry(gb, acc, gadget) if acc.coef else Expr(level=level + 1)
    gb.output(acc + b.get(0, Fraction(0)))
    name = f"subpool d={d} R={{{','.join(map(str, R))}}} gadget={gadget}" + (" shared" if share else "")
    return gb.build(windows=[list(range(d))], name=name)


@dataclass(frozen=True)
class SubpoolSize:
    """Size of a subpool network: depth in hidden layers, max width, ReLUs, parameters, subset maxima."""

    hidden_layers: int
    width: int
    relus: int
    parameters: int
    subset_maxima: int

    def to_json(self) -> dict:
        return {"hidden_layers": self.hidden_layers, "width": self.width, "relus": self.relus,
                "parameters": self.parameters, "subset_maxima": self.subset_maxima}


def subpool_size(net: Network, d: int, R: Iterable[int]) -> SubpoolSize:
    """Measured size of a network built by :func:`subpool_network` for ``(d, R)``."""
    widths = net.widths
    return SubpoolSize(net.hidden_layers, max(widths, default=0), net.n_relus, net.n_parameters,
                       n_subset_maxima(d, R))


def describe_beta(beta: dict) -> str:  # small helper for CLI text output
    return ", ".join(f"beta_{k} = {to_text(v)}" for k, v in beta.items())
