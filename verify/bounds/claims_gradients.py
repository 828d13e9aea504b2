"""Catalogue family ``gradients``: backpropagation through ReLU emulations of max at ties.

Clarke subdifferential of max at x: conv{e_i : i in argmax x} (Clarke 1983). Autodiff through
relu(x) - relu(-x) with relu'(0) = 0 gives 0 at x = 0, outside the subdifferential {1} (LITERATURE.md
section 5; Bertoin et al. 2021 on the influence of relu'(0)). Values derived by hand in the comments.
"""

from __future__ import annotations

from fractions import Fraction

from ..analysis.gradients import autodiff_gradient, in_clarke_max
from ..constructions import max_tree
from ..ir.builder import GraphBuilder
from ..numbers import to_text
from .catalogue import Computed, claim

__all__: list[str] = []  # the claims register themselves with the catalogue on import

SLOPES = (Fraction(0), Fraction(1, 2), Fraction(1))


def _vec(g) -> str:
    return "(" + ", ".join(to_text(v) for v in g) + ")"


def _tie_gradients(gadget: str) -> Computed:
    """Autodiff of the two-input gadget at the tie (0, 0) for each relu'(0), and whether it is a subgradient."""
    net = max_tree(2, gadget)
    out = []
    for s in SLOPES:
        g = autodiff_gradient(net, [0, 0], s=s)
        out.append(f"s={to_text(s)}:{_vec(g)} {'valid' if in_clarke_max(g, [0, 0]) else 'invalid'}")
    return Computed(" ".join(out))


@claim(
    id="gradients.passthrough",
    family="gradients",
    statement="Autodiff of relu(x) - relu(-x) (= x) at x = 0 gives 2s: 0 for relu'(0) = 0, outside the subdifferential {1}",
    source_key="bertoin2021",
    conditions="relu'(0) = s in {0, 1/2, 1}; exact autodiff on the IR",
    # d/dx [relu(x) - relu(-x)] at 0 = s - s * (-1) = 2s: 0, 1, 2; only s = 1/2 gives the true slope 1.
    expected=lambda: "s=0:0 s=1/2:1 s=1:2",
)
def _passthrough():
    b = GraphBuilder(1)
    (x,) = b.input_exprs()
    b.output(b.relu(x) - b.relu(-x))
    net = b.build()
    return Computed(" ".join(f"s={to_text(s)}:{to_text(autodiff_gradient(net, [0], s=s)[0])}" for s in SLOPES))


@claim(
    id="gradients.gadget-a-tie",
    family="gradients",
    statement="Gadget A, max(a,b) = relu(a-b) + relu(b) - relu(-b), at the tie (0,0): autodiff gives (s, s); only "
              "s = 1/2 is a Clarke subgradient (the even split)",
    source_key="clarke1983",
    conditions="relu'(0) = s; subgradients of max at (0,0): conv{(1,0), (0,1)}",
    # relu(a-b): (s, -s); relu(b): (0, s); -relu(-b): -(0, -s) = (0, s). Sum: (s, s).
    expected=lambda: "s=0:(0, 0) invalid s=1/2:(1/2, 1/2) valid s=1:(1, 1) invalid",
)
def _gadget_a():
    return _tie_gradients("A")


@claim(
    id="gradients.skip-tie",
    family="gradients",
    statement="Skip gadget, max(a,b) = b + relu(a-b), at the tie (0,0): autodiff gives (s, 1-s), a Clarke subgradient "
              "for every s in [0,1]; s = 1 sends everything to the first input, as max pooling does",
    source_key="clarke1983",
    conditions="relu'(0) = s",
    # b: (0, 1); relu(a-b): (s, -s). Sum: (s, 1-s), in conv{(1,0),(0,1)} for 0 <= s <= 1.
    expected=lambda: "s=0:(0, 1) valid s=1/2:(1/2, 1/2) valid s=1:(1, 0) valid",
)
def _skip():
    return _tie_gradients("skip")
