#!/usr/bin/env python
"""Linear regions and pieces: max has d pieces; Escobar et al. pooling counts; Zaslavsky and Serra et al. bounds.

Run: python proofs/prove_regions.py [--heavy] [--json FILE] [--markdown FILE]
"""

from _common import run_family

if __name__ == "__main__":
    run_family("regions")
