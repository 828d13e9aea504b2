#!/usr/bin/env python
"""Backpropagation through ReLU emulations of max at ties (Clarke subdifferential).

Run: python proofs/prove_gradients.py [--heavy] [--json FILE] [--markdown FILE]
"""

from _common import run_family

if __name__ == "__main__":
    run_family("gradients")
