"""The intermediate representation: ops, the :class:`Network` graph, builders, layered views."""

from .builder import Expr, GraphBuilder
from .graph import Network, check_graph
from .layers import Layer, from_layers, to_layers
from .ops import Op

__all__ = ["Op", "Network", "check_graph", "Expr", "GraphBuilder", "Layer", "from_layers", "to_layers"]
