#!/usr/bin/env python
"""Max of five in two hidden layers: the shipped network, its rebuild from the support-function description.

Run: python proofs/prove_max5.py [--heavy] [--json FILE] [--markdown FILE]
"""

from _common import run_family

if __name__ == "__main__":
    run_family("max5")
