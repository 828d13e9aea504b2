#!/usr/bin/env python
"""Published depth bounds for exact max (Arora, Haase, Averkov, Bakaev, Grillo) checked on concrete networks; --heavy adds the max-of-5 proof on R^5.

Run: python proofs/prove_depth.py [--heavy] [--json FILE] [--markdown FILE]
"""

from _common import run_family

if __name__ == "__main__":
    run_family("depth")
