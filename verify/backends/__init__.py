"""Backends: each reads the IR and nothing else, one walk (handler table) each.

The exact evaluator (the judge) and float batches, interval and sound bounds, affine forms under
activation patterns (:mod:`.patterns`), the z3 lowering, the LP relaxation, the MILP encoding and the
exact maximisation (:mod:`.milp`), sympy. Solvers are reached only through :mod:`.z3_session` and
:mod:`.highs_session`.
"""

from .evaluator import evaluate, evaluate_batch, evaluate_nodes, reference_max
from .intervals import interval_bounds, relu_phases

__all__ = ["evaluate", "evaluate_batch", "evaluate_nodes", "reference_max", "interval_bounds", "relu_phases"]
