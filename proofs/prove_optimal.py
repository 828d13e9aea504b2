#!/usr/bin/env python
"""The seed paper's optimal subpool approximations: closed forms, d = 9 numbers, width, z3 cross-check (--heavy: d = 5, 6).

Run: python proofs/prove_optimal.py [--heavy] [--json FILE] [--markdown FILE]
"""

from _common import run_family

if __name__ == "__main__":
    run_family("optimal")
