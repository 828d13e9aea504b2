"""Queries built on the backends: exactness, worst-case error (regions, optimal approximations beside)."""

from .exactness import check_equivalent, check_exact
from ..constructions.reference import reference_network
from .results import ErrorResult, ExactnessResult, Status
from .worst_case import worst_case_error

__all__ = ["check_exact", "check_equivalent", "worst_case_error", "reference_network", "Status",
           "ExactnessResult", "ErrorResult"]
