#!/usr/bin/env python
"""Exact worst-case errors of average pooling and truncated trees.

Run: python proofs/prove_errors.py [--heavy] [--json FILE] [--markdown FILE]
"""

from _common import run_family

if __name__ == "__main__":
    run_family("errors")
