"""Published or project-built networks shipped as package data.

``max5_depth2.json``: a bias-free ReLU network 5 -> 61 -> 602 -> 1 with rational weights computing
max(x1, ..., x5) exactly on all of R^5 (two hidden layers suffice for the max of five numbers:
Bakaev, Brunck, Hertrich, Stade and Yehudayoff, arXiv:2505.14338; their network is not public, this
one was built for the project, see the data README).
"""

from __future__ import annotations

from importlib import resources

from ..io.json_format import loads_network
from ..ir.graph import Network

__all__ = ["load_max5", "DATA_FILES"]

DATA_FILES = {"max5_depth2": "max5_depth2.json"}


def load_max5() -> Network:
    """The max-of-5 network with two hidden layers (widths 61 and 602, no biases).

    References
    ----------
    K. Bakaev, F. Brunck, C. Hertrich, J. Stade, A. Yehudayoff, arXiv:2505.14338 (2025): two hidden
    layers suffice for the maximum of five numbers.
    """
    text = resources.files("verify").joinpath("data", DATA_FILES["max5_depth2"]).read_text()
    return loads_network(text)
