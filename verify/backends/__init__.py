"""Backends: each reads the IR and nothing else (evaluator, intervals, z3; MILP and sympy beside)."""

from .evaluator import evaluate, evaluate_batch, evaluate_nodes, reference_max
from .intervals import interval_bounds, relu_phases

__all__ = ["evaluate", "evaluate_batch", "evaluate_nodes", "reference_max", "interval_bounds", "relu_phases"]
