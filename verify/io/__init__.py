"""Reading and writing networks (JSON formats; ONNX/torch import and SMT-LIB export live beside)."""

from .files import atomic_write_bytes, atomic_write_text
from .json_format import (
    GRAPH_FORMAT,
    LAYERED_FORMAT,
    dumps_network,
    load_network,
    loads_network,
    network_from_mapping,
    network_hash,
    network_to_mapping,
    save_network,
)

__all__ = [
    "GRAPH_FORMAT",
    "LAYERED_FORMAT",
    "atomic_write_bytes",
    "atomic_write_text",
    "dumps_network",
    "load_network",
    "loads_network",
    "network_from_mapping",
    "network_hash",
    "network_to_mapping",
    "save_network",
]
