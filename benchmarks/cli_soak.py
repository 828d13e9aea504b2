"""Soak of the whole CLI (issue 16, item 6): many random command lines and files, counts of what broke.

Each case is drawn from its seed by ``tests/cli_cases.py`` (the generator of the CLI fuzz harness,
tests/test_cli_fuzz.py), run in a child forked from a preloaded server (address space capped at
``MEMORY_CAP``), and checked against the promises of docs/reliability.md. Printed: the counts of
tracebacks, overruns, partial files, internal errors (exit 4), outputs written on failure, extra
stderr lines and hangs, the histogram of exit codes, per-command case counts and times, and the seeds
of failed cases (replay one with ``--replay SEED``).

Usage::

    PYTHONPATH=. python benchmarks/cli_soak.py --cases 10000 --workers 2 [--seed 0] [--stop-at HH:MM]
    PYTHONPATH=. python benchmarks/cli_soak.py --replay 1234
"""

from __future__ import annotations

import argparse
import collections
import datetime
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.cli_cases import MEMORY_CAP, RandomPicker, check_outcome, make_case, make_pool, run_case  # noqa: E402

KINDS = ("traceback", "overrun", "partial file", "internal error", "output written on failure", "lines on stderr",
         "hung", "exit code")


def _kind(problem: str) -> str:
    return next((k for k in KINDS if k in problem), problem)


def _one(seed: int, pool, root: Path):
    case_dir = root / f"case{seed}"
    case_dir.mkdir()
    try:
        case = make_case(RandomPicker(seed), pool, case_dir)
        outcome = run_case(case)
        return case, outcome, check_outcome(outcome)
    finally:
        shutil.rmtree(case_dir, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="first seed (cases use seed, seed+1, ...)")
    ap.add_argument("--stop-at", default=None, metavar="HH:MM", help="stop drawing new cases at this UTC time")
    ap.add_argument("--replay", type=int, default=None, metavar="SEED", help="run one case and show it")
    ap.add_argument("--every", type=int, default=500, help="print a progress line every this many cases")
    args = ap.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="verify-soak-"))
    pool = make_pool(root / "pool", seed=16)
    before = pool.fingerprint()
    if args.replay is not None:
        case, outcome, problems = _one(args.replay, pool, root)
        print("argv:", case.argv)
        print(f"exit {outcome.code} after {outcome.seconds:.2f} s; problems: {problems or 'none'}")
        print("stdout:", outcome.stdout[-2000:])
        print("stderr:", outcome.stderr[-4000:])
        shutil.rmtree(root, ignore_errors=True)
        return 1 if problems else 0

    stop = None
    if args.stop_at:
        h, m = map(int, args.stop_at.split(":"))
        now = datetime.datetime.now(datetime.timezone.utc)
        stop = now.replace(hour=h, minute=m, second=0, microsecond=0)
    lock = threading.Lock()
    codes: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    per_command: dict = collections.defaultdict(lambda: [0, 0.0])
    failures: list = []
    heaviest: list = []  # (peak RSS kB, seed, argv) of the largest cases
    done = [0]
    stopped = threading.Event()
    t0 = time.monotonic()

    def work(seed: int) -> None:
        case, outcome, problems = _one(seed, pool, root)
        with lock:
            done[0] += 1
            codes["killed" if outcome.code is None else outcome.code] += 1
            per_command[case.command][0] += 1
            per_command[case.command][1] += outcome.seconds
            if outcome.rss_kb is not None:
                heaviest.append((outcome.rss_kb, seed, case.argv))
                heaviest.sort(reverse=True, key=lambda h: h[0])
                del heaviest[5:]
            for p in problems:
                kinds[_kind(p)] += 1
            if problems:
                failures.append((seed, problems, case.argv, outcome.stderr.strip().splitlines()[-1:] or [""]))
                print(f"FAIL seed {seed}: {', '.join(problems)}: verify {' '.join(case.argv)}"[:600], flush=True)
            if done[0] % args.every == 0:
                print(f"[{done[0]} cases, {time.monotonic() - t0:.0f} s] codes {dict(sorted(codes.items(), key=str))} "
                      f"failures {len(failures)}", flush=True)

    # SIGTERM or Ctrl-C: finish the cases under way, then print the counts so far
    signal.signal(signal.SIGTERM, lambda *a: stopped.set())
    signal.signal(signal.SIGINT, lambda *a: stopped.set())
    seeds = iter(range(args.seed, args.seed + args.cases))
    with ThreadPoolExecutor(args.workers) as ex:
        running: set = set()
        while True:  # the main thread waits with a timeout, so that a signal stops the drawing at once
            if stop and datetime.datetime.now(datetime.timezone.utc) >= stop:
                stopped.set()
            while len(running) < 2 * args.workers and not stopped.is_set():
                seed = next(seeds, None)
                if seed is None:
                    break
                running.add(ex.submit(work, seed))
            if not running:
                break
            finished, running = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
            for f in finished:
                f.result()  # a bug of the harness itself surfaces here
    wall = time.monotonic() - t0
    changed = pool.fingerprint() != before
    shutil.rmtree(root, ignore_errors=True)

    print()
    print(f"cases run: {done[0]} of {args.cases} in {wall:.0f} s ({args.workers} workers)"
          + (" (stopped early: --stop-at time or a signal)" if stopped.is_set() else ""))
    print(f"tracebacks:      {kinds['traceback']}")
    print(f"overruns:        {kinds['overrun']}")
    print(f"partial files:   {kinds['partial file']}")
    print(f"internal errors: {kinds['internal error']}")
    print(f"written on fail: {kinds['output written on failure']}")
    print(f"stderr not 1 line on failure: {kinds['lines on stderr']}")
    print(f"hung (no --timeout, over the cap): {kinds['hung']}")
    print(f"input pool changed: {changed}")
    print(f"peak RSS of a case: {heaviest[0][0] / 1024:.0f} MB (seed {heaviest[0][1]}); the address space of "
          f"each is capped at {MEMORY_CAP / 2**30:.0f} GB" if heaviest else "peak RSS: not measured")
    print("exit codes:", ", ".join(f"{k}: {v}" for k, v in sorted(codes.items(), key=str)))
    print()
    print(f"{'command':<18}{'cases':>7}{'mean s':>9}")
    for name, (n, secs) in sorted(per_command.items()):
        print(f"{name:<18}{n:>7}{secs / n:>9.2f}")
    print("\nheaviest cases (peak RSS):")
    for rss, seed, argv in heaviest:
        print(f"  {rss / 1024:7.0f} MB  seed {seed}: {' '.join(argv)[:160]}")
    if failures:
        print("\nfailed seeds (replay with --replay SEED):")
        for seed, problems, argv, last in failures[:50]:
            print(f"  {seed}: {', '.join(problems)} | {' '.join(argv)[:200]} | {last[0][:200]}")
    return 1 if failures or changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
