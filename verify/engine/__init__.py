"""The exact optimisation engine: exact sup of a ReLU network over a box (or a box cut by linear
constraints), by branch and bound on input and ReLU splits with linear bound propagation, every closed
node justified exactly (:mod:`verify.engine.search`), and the queries built on it
(:mod:`verify.engine.queries`). :mod:`verify.engine.recheck` re-checks a recorded tree independently.

Importing this package is light; numpy-heavy modules load on first use.
"""

from __future__ import annotations

__all__ = ["maximize", "MaxResult", "SearchConfig", "sup_difference", "both_sides", "worst_case_error",
           "check_equivalent", "check_exact", "recheck_tree"]


def __getattr__(name):
    if name == "maximize":
        from .entry import maximize

        return maximize
    if name in ("MaxResult", "SearchConfig", "TreeRecord"):
        from . import search

        return getattr(search, name)
    if name in ("sup_difference", "both_sides", "worst_case_error", "check_equivalent", "check_exact",
                "DifferenceResult"):
        from . import queries

        return getattr(queries, name)
    if name == "recheck_tree":
        from .recheck import recheck_tree

        return recheck_tree
    raise AttributeError(name)
