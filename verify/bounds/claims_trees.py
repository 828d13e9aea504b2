"""Catalogue family ``trees``: exact max by pairwise trees and chains (Arora et al. 2018)."""

from __future__ import annotations

from ..analysis.exactness import check_exact
from ..status import Status
from ..constructions import max_chain, max_tree
from ..constructions.gadgets import RELUS_PER_GADGET as RELUS_PER_PAIR
from .catalogue import Computed, claim
from .depth import tree_depth

__all__: list[str] = []  # the claims register themselves with the catalogue on import

TREE_D = range(2, 33)
TREE_D_LARGE = range(33, 65)
CHAIN_D = range(2, 11)
POWERS = (2, 4, 8, 16, 32, 64)


def _prove_all(make, ds, depth_of) -> Computed:
    # A timeout or a solver's unknown is no verdict: it makes the claim UNKNOWN, never FAIL.
    detail, bad, unknown = {}, [], []
    for d in ds:
        net = make(d)
        r = check_exact(net)
        detail[f"d={d}"] = f"{r.status.value} hidden_layers={net.hidden_layers} relus={net.n_relus}"
        if r.status is Status.UNKNOWN:
            unknown.append(d)
        elif r.status is not Status.PROVED or net.hidden_layers != depth_of(d):
            bad.append(d)
    n = len(list(ds))
    if bad:
        return Computed(f"fails for d in {bad}", detail)
    if unknown:
        return Computed(f"unknown for d in {unknown}", detail, unknown=True)
    return Computed(f"PROVED with the stated depth for all {n}", detail)


for _g in ("A", "B", "skip"):
    for _suffix, _ds in (("", TREE_D), ("-large", TREE_D_LARGE)):
        claim(
            id=f"trees.exact{_suffix}.{_g}",
            family="trees",
            statement=f"The balanced pairwise tree with gadget {_g} equals MAX_d on all of R^d with ceil(log2 d) "
                      f"hidden layers, d = {_ds.start}..{_ds.stop - 1}",
            source_key="arora2018",
            conditions="domain R^d; exact rational weights; depth = hidden ReLU layers",
            expected=f"PROVED with the stated depth for all {len(_ds)}",
            # z3 needs about 2 minutes for gadget B at d = 33..64 on 2 cores: run it in the heavy step.
            heavy=bool(_suffix) and _g == "B",
        )(lambda g=_g, ds=_ds: _prove_all(lambda d: max_tree(d, g), ds, tree_depth))

    claim(
        id=f"trees.size.{_g}",
        family="trees",
        statement=f"A gadget-{_g} tree on d = 2^L inputs has {RELUS_PER_PAIR[_g]}(d-1) ReLUs",
        source_key="arora2018" if _g == "skip" else "project",
        conditions="d = 2, 4, ..., 64",
        expected=lambda g=_g: ",".join(str(RELUS_PER_PAIR[g] * (d - 1)) for d in POWERS),
    )(lambda g=_g: Computed(",".join(str(max_tree(d, g).n_relus) for d in POWERS)))

    claim(
        id=f"trees.chain.{_g}",
        family="trees",
        statement=f"The sequential chain with gadget {_g} equals MAX_d on R^d with d - 1 hidden layers, d = 2..10",
        source_key="project",
        conditions="domain R^d",
        expected=f"PROVED with the stated depth for all {len(CHAIN_D)}",
    )(lambda g=_g: _prove_all(lambda d: max_chain(d, g), CHAIN_D, lambda d: d - 1))
