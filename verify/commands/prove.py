"""``verify prove``: run the theorem catalogue and compare with the committed snapshot."""

from __future__ import annotations

import json
import sys

from ..bounds.catalogue import Outcome, all_claims, load_snapshot, run_claims, select, write_snapshot
from .common import (add_output_arg, timeout_arg, write_output)

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("prove", help="run the theorem catalogue (claim | source | computed | expected | status)",
                       description="Run every catalogue entry, compare each computed value with its published or "
                                   "derived formula and with the committed snapshot; exit 1 on any failure or drift.")
    p.add_argument("--only", action="append", metavar="ID", help="run only this claim id or family (repeatable)")
    p.add_argument("--heavy", action="store_true", help="include the heavy claims (long proofs)")
    p.add_argument("--list", action="store_true", help="list the claims and exit")
    p.add_argument("--details", action="store_true", help="print every exact value behind each claim")
    add_output_arg(p, "--json", metavar="FILE", help="write the results as JSON")
    add_output_arg(p, "--markdown", metavar="FILE", help="write the results as a markdown table")
    p.add_argument("--update-snapshot", action="store_true", help="store the computed values as the new snapshot")
    p.add_argument("--no-snapshot", action="store_true", help="do not compare with the snapshot")
    p.add_argument("--progress", action=argparse_bool(), default=None, help="show a progress bar (default: on a terminal)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="start no claim after this many seconds (the claims not run are listed, exit 3)")
    p.set_defaults(func=run)


def argparse_bool():
    import argparse

    return argparse.BooleanOptionalAction


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def table_lines(results) -> list[str]:
    rows = [("claim", "source", "computed", "expected", "status", "seconds")]
    for r in results:
        rows.append((r.id, r.source, _cut(r.computed, 38), _cut(r.expected, 38), r.outcome.value, f"{r.seconds:.2f}"))
    widths = [max(len(row[k]) for row in rows) for k in range(6)]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def markdown(results) -> str:
    lines = ["| claim | statement | source | computed | expected | status | seconds |", "|---|---|---|---|---|---|---|"]
    for r in results:
        cells = [r.id, r.statement, r.citation, r.computed, r.expected, r.outcome.value, f"{r.seconds:.2f}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    if args.list:
        for c in all_claims():
            print(f"{c.id:40s} {'heavy ' if c.heavy else ''}{c.statement}")
        return 0
    claims = select(args.only, heavy=args.heavy)
    snapshot = None if (args.no_snapshot or args.update_snapshot) else load_snapshot()
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    results = run_claims(claims, snapshot, progress=progress and not args.quiet, timeout=args.timeout)
    not_run = [c.id for c in claims[len(results):]]
    for line in table_lines(results):
        print(line)
    if args.details:
        for r in results:
            print(f"\n{r.id}: {r.statement}\n  source: {r.citation}\n  conditions: {r.conditions}")
            for key, value in r.detail.items():
                print(f"  {key}: {value}")
    failed = [r for r in results if r.outcome is Outcome.FAIL]
    unknown = [r for r in results if r.outcome is Outcome.UNKNOWN]
    total = sum(r.seconds for r in results)
    print(f"\n{len(results) - len(failed) - len(unknown)} passed, {len(failed)} failed, {len(unknown)} unknown "
          f"({total:.1f} s)")
    for r in failed:
        print(f"FAILED {r.id}: computed {r.computed!r}, expected {r.expected!r}" + (f"; {r.note}" if r.note else ""))
    if snapshot is not None:
        missing = [r.id for r in results if r.id not in snapshot]
        if missing:
            print(f"note: {len(missing)} claim(s) not in the snapshot yet: {', '.join(missing[:5])}"
                  + (" ..." if len(missing) > 5 else ""))
    if args.json:  # an unwritable path is bad input: one line and exit code 2, as for every command
        write_output(args.json, json.dumps([r.to_json() for r in results], indent=1) + "\n")
    if args.markdown:
        write_output(args.markdown, markdown(results))
    if args.update_snapshot and not failed and not not_run:
        path = write_snapshot(results)
        print(f"snapshot updated: {path}")
    elif args.update_snapshot:
        print("snapshot not updated: " + ("some claims failed" if failed else "some claims were not run"))
    if not_run:
        print(f"timeout: {len(not_run)} claim(s) not run: {', '.join(not_run[:5])}" + (" ..." if len(not_run) > 5 else ""))
    if failed:
        return 1
    if unknown or not_run:
        return 3
    return 0
