"""Imported once by the fork server of the CLI fuzz harness (tests/cli_cases.py), so that each forked
case starts with the heavy modules loaded (a fresh interpreter would spend about a second on them)."""

import networkx  # noqa: F401
import numpy  # noqa: F401
import scipy.sparse  # noqa: F401
import sympy  # noqa: F401
import z3  # noqa: F401

import verify.analysis.exactness  # noqa: F401
import verify.analysis.worst_case  # noqa: F401
import verify.backends.milp  # noqa: F401
import verify.certificates  # noqa: F401
import verify.cli

verify.cli.build_parser()  # imports every command module

__all__: list = []
