"""Soak test: 10^4 seeded differential-fuzzing cases; prints disagreements (goal: 0) and UNKNOWNs.

    PYTHONPATH=. python benchmarks/soak.py [--n 10000] [--seed 0] [--timeout 10] [--json FILE]

Cases cycle through four kinds (``verify.testing.CHECK_KINDS``): float vs exact evaluation and interval
bounds on random networks (depth 1..4, width 1..12, with and without skip connections); worst-case error
by every registered sup-error backend checked against exact evaluation at witnesses and sample points;
exactness of networks equal to max by construction (PROVED expected) or perturbed (REFUTED expected,
counterexample re-evaluated); the certificate SMT-LIB printer against exact evaluation, and a certificate
recheck. Each disagreement is printed with its reproducer (network JSON and box). Deterministic for a
given seed (the case list; solver times and hence UNKNOWNs near the timeout may vary).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify.testing import run_soak, sup_error_backends, exactness_backends  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per solver query")
    ap.add_argument("--json", metavar="FILE", help="also write the counts as JSON")
    args = ap.parse_args(argv)
    start = time.monotonic()

    def progress(i, report):
        if (i + 1) % 500 == 0:
            print(f"  {i + 1} cases, {len(report.disagreements)} disagreements, {report.unknowns} UNKNOWN, "
                  f"{time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)

    print(f"sup-error backends: {', '.join(sup_error_backends())}; exactness backends: {', '.join(exactness_backends())}")
    report = run_soak(args.n, seed=args.seed, timeout=args.timeout, progress=progress)
    seconds = time.monotonic() - start
    print(f"\n| check | cases | PROVED | REFUTED | UNKNOWN |")
    print("|---|---|---|---|---|")
    for kind, n in report.cases.items():
        s = report.statuses.get(kind, {})
        print(f"| {kind} | {n} | {s.get('PROVED', 0)} | {s.get('REFUTED', 0)} | {s.get('UNKNOWN', 0)} |")
    print(f"\ncases: {args.n}, seed {args.seed}, timeout {args.timeout} s, {seconds:.0f} s in all "
          f"({1000 * seconds / max(args.n, 1):.1f} ms per case)")
    print(f"disagreements: {len(report.disagreements)} (goal 0)")
    print(f"UNKNOWN verdicts: {report.unknowns}")
    for d in report.disagreements:
        print("\n" + str(d))
    if args.json:
        Path(args.json).write_text(json.dumps({"n": args.n, "seed": args.seed, "timeout": args.timeout,
                                               "seconds": round(seconds, 1), "cases": report.cases,
                                               "statuses": report.statuses,
                                               "disagreements": [str(d) for d in report.disagreements]}, indent=1))
    return 1 if report.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
