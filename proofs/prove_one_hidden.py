#!/usr/bin/env python
"""One hidden layer computes MAX_2 but not MAX_d, d = 3..6 (Mukherjee & Basu), with exact certificates.

Run: python proofs/prove_one_hidden.py [--heavy] [--json FILE] [--markdown FILE]
"""

from _common import run_family

if __name__ == "__main__":
    run_family("one-hidden")
