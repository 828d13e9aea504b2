"""verify: exact verification of ReLU networks against max pooling.

ReLU networks are piecewise-linear graphs with exact rational weights (:mod:`verify.ir`); backends read
that graph (:mod:`verify.backends`); queries (:mod:`verify.analysis`) prove exactness, compute exact
worst-case errors and compare results with a catalogue of published theorems.
"""

from fractions import Fraction

from .analysis import (
    ErrorResult,
    ExactnessResult,
    Status,
    check_equivalent,
    check_exact,
    reference_network,
    worst_case_error,
)
from .backends import evaluate, evaluate_batch
from .constructions import max_chain, max_tree, mean_network, pool2d, truncated_tree
from .domain import Box, RealSpace, parse_box
from .errors import VerifyError
from .io import load_network, loads_network, save_network
from .ir import GraphBuilder, Network, Op

__version__ = "0.1.0"

__all__ = [
    "Fraction",
    "Network",
    "Op",
    "GraphBuilder",
    "Box",
    "RealSpace",
    "parse_box",
    "load_network",
    "loads_network",
    "save_network",
    "evaluate",
    "evaluate_batch",
    "max_tree",
    "max_chain",
    "pool2d",
    "mean_network",
    "truncated_tree",
    "check_exact",
    "check_equivalent",
    "worst_case_error",
    "reference_network",
    "Status",
    "ExactnessResult",
    "ErrorResult",
    "VerifyError",
]
