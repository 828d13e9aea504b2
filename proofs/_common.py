"""Shared runner of the proof scripts: each script is one claim family of the catalogue.

A proof script never re-implements a query: it runs the library's catalogue entries (`verify prove`)
for its family, prints their table and every exact value behind them, and exits non-zero on failure.
"""

import sys

from verify.cli import main


def run_family(*families: str) -> None:
    args = ["prove", "--details", "--no-snapshot"]
    for f in families:
        args += ["--only", f]
    sys.exit(main(args + sys.argv[1:]))
