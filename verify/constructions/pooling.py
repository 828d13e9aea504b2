"""2-D max-pooling layers built from exact max trees (multi-output networks).

Inputs are an H x W image flattened row-major (pixel (r, c) is input ``r * W + c``). Each k x k window
at stride s gives one output, the max over its window, computed by its own tree; the network records
the windows, so exactness and error queries compare each output with the right max.
"""

from __future__ import annotations

from ..errors import VerifyError
from ..ir.graph import Network
from ..ir.builder import GraphBuilder
from ..limits import check_size, pool2d_nodes
from .gadgets import check_gadget
from .max_trees import tree_max_expr

__all__ = ["pool2d", "pool2d_windows"]


def pool2d_windows(height: int, width: int, kernel: int, stride: int) -> list[tuple[int, ...]]:
    """Row-major input indices of every k x k window at stride s (no padding)."""
    for name, v in (("height", height), ("width", width), ("kernel", kernel), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise VerifyError(f"{name} must be a positive integer, got {v!r}")
    if kernel > height or kernel > width:
        raise VerifyError(f"kernel {kernel} does not fit in a {height} x {width} input")
    windows = []
    for r in range(0, height - kernel + 1, stride):
        for c in range(0, width - kernel + 1, stride):
            windows.append(tuple((r + i) * width + (c + j) for i in range(kernel) for j in range(kernel)))
    return windows


def pool2d(height: int, width: int, kernel: int, stride: int, gadget: str = "A") -> Network:
    """A max-pooling layer as a ReLU network with one output per window.

    >>> net = pool2d(4, 4, kernel=2, stride=2)
    >>> net.n_outputs, net.hidden_layers
    (4, 2)
    """
    check_gadget(gadget)
    for name, v in (("height", height), ("width", width), ("kernel", kernel), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise VerifyError(f"{name} must be a positive integer, got {v!r}")
    check_size(pool2d_nodes(height, width, kernel, stride, gadget),
               f"pool2d {height}x{width} k={kernel} s={stride} gadget={gadget}")
    windows = pool2d_windows(height, width, kernel, stride)
    b = GraphBuilder(height * width)
    xs = b.input_exprs()
    for w in windows:
        b.output(tree_max_expr(b, [xs[i] for i in w], gadget))
    return b.build(windows=windows, name=f"pool2d {height}x{width} k={kernel} s={stride} gadget={gadget}")
