"""The reference a network is compared with: the max over each output's window, as an IR network (one
``max`` node per window)."""

from __future__ import annotations

from ..errors import VerifyError
from ..ir.builder import GraphBuilder
from ..ir.graph import Network

__all__ = ["reference_network"]


def reference_network(net: Network) -> Network:
    """A network of ``max`` nodes computing, for each output of ``net``, the max over its window."""
    windows = net.windows
    if windows is None:
        raise VerifyError(
            "the network has several outputs but no 'windows': say which inputs each output should be the max of"
        )
    b = GraphBuilder(net.n_inputs)
    xs = b.input_exprs()
    for w in windows:
        b.output(b.max([xs[i] for i in w]))
    return b.build(windows=windows, name=f"max reference of {net.name or 'network'}")
