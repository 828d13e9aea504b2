"""``verify sweep GRID.toml``: run one query over a parameter grid, in parallel.

The grid file (TOML)::

    [sweep]
    query = "error"          # "error" (worst-case error on a box) or "exact"
    backend = "auto"         # auto | engine | z3 | milp
    box = "0,1"              # needed by "error"; "exact" defaults to all of R^d
    timeout = 60             # seconds per task

    [grid]
    construction = ["truncated_tree"]   # max_tree | max_chain | truncated_tree | mean | random
    d = [4, 8]
    level = [1, 2]
    gadget = ["A", "B"]
    # or: network = ["a.json", "b.json"]  (network files instead of constructions)

Every combination of the ``[grid]`` lists is one task (a scalar counts as a one-element list). Tasks
run on a local process pool (``--workers``, default 2) or on a Dask distributed cluster
(``--scheduler ADDRESS``, needs the extra ``verify[dask]``). A progress bar goes to stderr; the
results are written, in task order, as one JSON line per task (the task's parameters and the
query's result) to ``--out`` (default stdout). The grid is checked completely before anything runs.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed

from ..errors import MissingExtraError, VerifyError
from .common import (add_output_arg, timeout_arg)

__all__ = ["register", "run", "load_grid", "expand_grid", "run_task", "run_sweep", "check_scheduler_address",
           "SCHEDULER_TIMEOUT"]

CONSTRUCTIONS = {
    "max_tree": ("d", "gadget"),
    "max_chain": ("d", "gadget"),
    "truncated_tree": ("d", "level", "gadget"),
    "mean": ("d",),
    "random": ("widths", "seed"),
}
QUERIES = ("error", "exact")
# Seconds to wait for a Dask scheduler to answer before the sweep is refused (exit code 2).
SCHEDULER_TIMEOUT = 10
_ADDRESS = re.compile(r"(?:(tcp|tls|ws|wss|ucx|inproc)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})", re.ASCII)


def check_scheduler_address(address: str) -> str:
    """``tcp://HOST:PORT`` (or ``HOST:PORT``, ``tls://...``) or one line saying what is wrong with it."""
    m = _ADDRESS.fullmatch(address.strip())
    if not m or not 1 <= int(m.group(3)) <= 65535:
        hint = " (the port is missing)" if _ADDRESS.fullmatch(address.strip() + ":1") else ""
        raise VerifyError(f"--scheduler {address!r}: expected an address like tcp://HOST:PORT{hint}")
    return address.strip()


def _connect(address: str):
    from distributed import Client

    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise VerifyError(f"--scheduler {address}: cannot reach the Dask scheduler ({reason})") from None


def _toml():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise MissingExtraError("reading TOML on Python 3.10 needs tomli: pip install tomli") from None
    return tomllib


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a query over a parameter grid (process pool or Dask)")
    p.add_argument("grid", metavar="GRID.toml", help="the grid file")
    add_output_arg(p, "--out", metavar="FILE", default=None, help="write the JSON lines here (default: stdout)")
    p.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on this Dask distributed scheduler (tcp://host:port) instead of a local pool")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (shown only when stderr is a terminal)")
    p.add_argument("--quiet", action="store_true", help="the same as --no-progress")
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="seconds per task (overrides the grid's [sweep] timeout)")
    p.set_defaults(func=run)


def load_grid(path: str) -> dict:
    """Read and validate a grid file; raise :class:`VerifyError` naming the problem."""
    tomllib = _toml()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise VerifyError(f"{path}: cannot read the grid file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise VerifyError(f"{path}: not valid TOML ({exc})") from None
    sweep = data.get("sweep", {})
    grid = data.get("grid")
    if not isinstance(grid, dict) or not grid:
        raise VerifyError(f"{path}: missing a non-empty [grid] table")
    query = sweep.get("query", "error")
    if query not in QUERIES:
        raise VerifyError(f"{path}: [sweep] query must be one of {', '.join(QUERIES)}, got {query!r}")
    backend = sweep.get("backend", "auto")
    if backend not in ("auto", "engine", "z3", "milp"):
        raise VerifyError(f"{path}: [sweep] backend must be auto, engine, z3 or milp, got {backend!r}")
    if query == "error" and "box" not in sweep:
        raise VerifyError(f"{path}: [sweep] box = \"LO,HI\" is needed by the error query")
    timeout = sweep.get("timeout")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise VerifyError(f"{path}: [sweep] timeout must be a positive number")
    settings = {"query": query, "backend": backend, "box": sweep.get("box"), "timeout": timeout}
    tasks = expand_grid(grid, path)
    for t in tasks:  # build every network now: a bad grid fails before anything runs
        _network(t)
        if settings["box"] is not None:
            from ..domain import parse_box

            parse_box(settings["box"], _network(t).n_inputs)
    return {"settings": settings, "tasks": tasks}


def expand_grid(grid: dict, where: str = "grid") -> list[dict]:
    """All combinations of the grid's lists, in a fixed order (keys sorted, values as given)."""
    keys = sorted(grid)
    values = []
    for k in keys:
        v = grid[k]
        if k == "widths" and v and all(isinstance(w, int) for w in v):
            v = [v]  # a single widths list
        values.append(v if isinstance(v, list) else [v])
        if not values[-1]:
            raise VerifyError(f"{where}: [grid] {k} is an empty list")
    if "network" not in grid and "construction" not in grid:
        raise VerifyError(f"{where}: [grid] needs 'network' (files) or 'construction'")
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def _network(task: dict):
    from ..io.json_format import load_network

    if "network" in task:
        return load_network(task["network"])
    from .. import constructions as C
    from ..constructions.random_nets import random_relu_network

    name = task["construction"]
    if name not in CONSTRUCTIONS:
        raise VerifyError(f"unknown construction {name!r}: expected one of {', '.join(CONSTRUCTIONS)}")
    missing = [k for k in CONSTRUCTIONS[name] if k not in task and k != "gadget" and k != "seed"]
    if missing:
        raise VerifyError(f"construction {name!r} needs grid key(s) {', '.join(missing)}")
    gadget = task.get("gadget", "A")
    if name == "max_tree":
        return C.max_tree(task["d"], gadget)
    if name == "max_chain":
        return C.max_chain(task["d"], gadget)
    if name == "truncated_tree":
        return C.truncated_tree(task["d"], task["level"], gadget)
    if name == "mean":
        return C.mean_network(task["d"])
    return random_relu_network(task["widths"], seed=task.get("seed", 0))


def run_task(item: tuple) -> tuple:
    """Run one task (module-level, picklable): ``(index, settings, params) -> (index, json dict)``."""
    index, settings, params = item
    from ..analysis import check_exact, worst_case_error
    from ..domain import parse_box

    net = _network(params)
    if settings["query"] == "error":
        r = worst_case_error(net, parse_box(settings["box"], net.n_inputs), timeout=settings["timeout"],
                             backend=settings["backend"])
    else:
        domain = parse_box(settings["box"], net.n_inputs) if settings["box"] else None
        r = check_exact(net, domain, timeout=settings["timeout"], backend=settings["backend"])
    out = {"task": index, "params": params}
    out.update(r.to_json())
    return index, out


def run_sweep(spec: dict, *, workers: int = 2, scheduler=None, progress: bool = True) -> list[dict]:
    """Run every task of a loaded grid; return the result dicts in task order."""
    items = [(i, spec["settings"], t) for i, t in enumerate(spec["tasks"])]
    results: dict = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), file=sys.stderr, desc="sweep", unit="task")
    if scheduler is not None:
        try:
            from distributed import as_completed as dask_completed
        except ImportError:
            raise MissingExtraError("--scheduler needs Dask: pip install 'verify[dask]'") from None
        client = scheduler if hasattr(scheduler, "map") else _connect(check_scheduler_address(scheduler))
        try:
            futures = client.map(run_task, items, pure=False)
            for fut in dask_completed(futures):
                i, out = fut.result()
                results[i] = out
                if bar:
                    bar.update(1)
        finally:
            if client is not scheduler:
                client.close()
    else:
        import multiprocessing

        # "spawn": HiGHS keeps a thread pool that a forked child would inherit in a broken state.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx) as pool:
            for fut in as_completed([pool.submit(run_task, it) for it in items]):
                i, out = fut.result()
                results[i] = out
                if bar:
                    bar.update(1)
    if bar:
        bar.close()
    return [results[i] for i in range(len(items))]


def run(args) -> int:
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler)  # a bad address is refused before the grid is built
    if args.workers < 1:
        raise VerifyError(f"--workers must be at least 1, got {args.workers}")
    spec = load_grid(args.grid)
    if args.timeout is not None:
        spec["settings"]["timeout"] = args.timeout
    progress = not (args.no_progress or args.quiet) and sys.stderr.isatty()
    rows = run_sweep(spec, workers=args.workers, scheduler=args.scheduler, progress=progress)
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    if args.out:
        from .common import write_output

        write_output(args.out, text)
    else:
        sys.stdout.write(text)
    return 3 if any(r["status"] == "UNKNOWN" for r in rows) else 0
