#!/usr/bin/env python
"""Exact max by pairwise trees (gadgets A, B, skip) for d = 2..64 and chains; pass --heavy for gadget B at d = 33..64.

Run: python proofs/prove_trees.py [--heavy] [--json FILE] [--markdown FILE]
"""

from _common import run_family

if __name__ == "__main__":
    run_family("trees")
