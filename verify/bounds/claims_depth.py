"""Catalogue family ``depth``: published depth bounds for exact max, checked on concrete networks."""

from __future__ import annotations

from importlib import resources

from ..analysis.exactness import check_exact_by_symmetry
from ..status import Status
from ..constructions import max_tree
from ..errors import ToolkitBugError
from ..io.json_format import load_network
from ..ir.layers import to_layers
from .catalogue import Computed, claim
from .depth import (
    arora_cpwl_depth,
    averkov_decimal_lower_bound,
    bakaev_upper_bound,
    haase_integer_lower_bound,
    is_decimal_fraction,
    tree_depth,
)

__all__ = ["load_max5"]  # the claims register themselves with the catalogue on import

D_RANGE = range(2, 65)


def load_max5():
    """The shipped 5-61-602-1 network computing max(x1..x5) with two hidden layers (verify/data)."""
    return load_network(resources.files("verify") / "data" / "max5_depth2.json")


@claim(
    id="depth.haase.integer-trees-tight",
    family="depth",
    statement="Integer-weight MAX_d networks need ceil(log2 d) hidden layers; the integer gadget-A tree meets it, d = 2..64",
    source_key="haase2023",
    conditions="integer weights; depth = hidden ReLU layers; domain R^d",
    expected=lambda: "tight for all 63",
)
def _haase_tight():
    bad = []
    for d in D_RANGE:
        net = max_tree(d, "A")
        if not net.is_integer_weighted or net.hidden_layers != haase_integer_lower_bound(d):
            bad.append(d)
    return Computed("tight for all 63" if not bad else f"not tight for {bad}")


@claim(
    id="depth.averkov.decimal-trees",
    family="depth",
    statement="Decimal-fraction-weight MAX_d networks need ceil(log3 d) hidden layers; the gadget-B tree (weights 1/2) respects it",
    source_key="averkov2025",
    conditions="decimal-fraction weights (denominators 2^a 5^b); d = 2..64",
    expected=lambda: ",".join(str(tree_depth(d) - averkov_decimal_lower_bound(d)) for d in (2, 3, 4, 9, 10, 27, 28, 64)),
)
def _averkov():
    out = []
    for d in (2, 3, 4, 9, 10, 27, 28, 64):
        net = max_tree(d, "B")
        if not all(is_decimal_fraction(w) for w in net.weights()):
            raise ToolkitBugError("gadget B weights are expected to be decimal fractions")
        out.append(str(net.hidden_layers - averkov_decimal_lower_bound(d)))
    return Computed(",".join(out))


@claim(
    id="depth.arora.cpwl",
    family="depth",
    statement="ceil(log2(n+1)) hidden layers suffice for CPWL functions on R^n; MAX_{n+1} = x_{n+1} + F_n(x - x_{n+1}) so "
              "the tree depth ceil(log2(n+1)) for MAX_{n+1} matches, n = 1..63",
    source_key="arora2018",
    conditions="domain R^n",
    expected=lambda: "equal for all 63",
)
def _arora():
    bad = [n for n in range(1, 64) if max_tree(n + 1, "A").hidden_layers != arora_cpwl_depth(n)]
    return Computed("equal for all 63" if not bad else f"differs for n in {bad}")


@claim(
    id="depth.bakaev.max5-shape",
    family="depth",
    statement="Two hidden layers suffice for MAX_5 (ceil(log3(5-2)) + 1 = 2): the shipped network is 5-61-602-1 with 2 hidden layers",
    source_key="bakaev2025",
    conditions="the network verify/data/max5_depth2.json (this project's own)",
    expected=lambda: f"hidden_layers={bakaev_upper_bound(5)} widths=[61, 602]",
)
def _max5_shape():
    net = load_max5()
    return Computed(f"hidden_layers={net.hidden_layers} widths={net.widths}")


@claim(
    id="depth.haase.max5-non-integer",
    family="depth",
    statement="Integer weights would need ceil(log2 5) = 3 hidden layers for MAX_5, so a 2-hidden-layer MAX_5 network has non-integer weights",
    source_key="haase2023",
    conditions="the shipped max-of-5 network",
    expected=lambda: f"integer=False (lower bound for integer weights: {haase_integer_lower_bound(5)})",
)
def _max5_weights():
    net = load_max5()
    return Computed(f"integer={net.is_integer_weighted} (lower bound for integer weights: {haase_integer_lower_bound(5)})",
                    {"denominators": net.weight_denominators})


@claim(
    id="depth.grillo.max5-not-braid",
    family="depth",
    statement="Braid-conforming networks need 3 hidden layers for MAX_5 (and Hertrich et al.'s MIP excludes 2 for F_4), so a "
              "2-hidden-layer MAX_5 network has first-layer breakpoints off the braid hyperplanes x_i = 0, x_i = x_j",
    source_key="grillo2025",
    conditions="first-layer hyperplanes of the shipped max-of-5 network",
    expected=lambda: "not braid-conforming",
)
def _max5_braid():
    layers = to_layers(load_max5())
    off = []
    for r, row in enumerate(layers[0].weights):
        nonzero = [w for w in row if w != 0]
        braid = len(nonzero) == 1 or (len(nonzero) == 2 and nonzero[0] == -nonzero[1])
        if not braid:
            off.append(r)
    return Computed("not braid-conforming" if off else "braid-conforming",
                    {"rows_off_braid": len(off), "first_layer_rows": len(layers[0].weights)})


@claim(
    id="depth.bakaev.max5-exact",
    family="depth",
    statement="The shipped 2-hidden-layer network equals max(x1..x5) on all of R^5: invariance under permuting the "
              "inputs proved exactly (support-function decomposition), then z3 on the sorted cone's faces x1 = 1 and "
              "x5 = -1 (the network is bias-free, hence positively homogeneous), four queries on two processes",
    source_key="bakaev2025",
    conditions="domain R^5; exact rational weights; no symmetry assumed (it is proved)",
    expected=lambda: "PROVED",
    heavy=True,
)
def _max5_exact():
    r = check_exact_by_symmetry(load_max5(), timeout=1800)
    return Computed(r.status.value, {"reason": r.reason}, unknown=r.status is Status.UNKNOWN)
