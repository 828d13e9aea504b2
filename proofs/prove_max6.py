#!/usr/bin/env python
"""Two hidden layers for max of 5 and 6, and the weight-2 obstruction at 7 (catalogue family ``frontier``).

Runs every frontier claim, the heavy ones included (about two minutes on two cores): the public max_6
construction (msun170/relu-max6) compiled from its support-sum description and proved equal to max on
all of R^6 by the arrangement route, with its certificate re-checked independently; the search
rediscovering max_5 and max_6 in the weight-2 family; the exact certificate that max_7 is not in that
family; the consistency checks with the depth lower bounds.

Run: python proofs/prove_max6.py [--json FILE] [--markdown FILE]
"""

import sys

from _common import run_family

if __name__ == "__main__":
    sys.argv.append("--heavy")
    run_family("frontier")
