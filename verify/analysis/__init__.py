"""Queries and their engines: exactness, worst-case error and difference (regions, gradients, one hidden
layer, optimal approximations beside).

The engines (:mod:`.equivalence`, :mod:`.region_hopping`, :mod:`.symmetry`, :mod:`.regions`, ...) read the
backends; the queries (:mod:`.exactness`, :mod:`.worst_case`, :mod:`.compare`) build a problem and solve it
with a chain of :mod:`verify.reductions`.
"""

from ..constructions.reference import reference_network
from ..status import Status
from .exactness import check_equivalent, check_exact
from .results import ErrorResult, ExactnessResult
from .worst_case import worst_case_error

__all__ = ["check_exact", "check_equivalent", "worst_case_error", "reference_network", "Status",
           "ExactnessResult", "ErrorResult"]
