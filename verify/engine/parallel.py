"""Farming the branch-and-bound tree out to worker processes or a Dask cluster.

The master runs the search alone until it has enough open nodes (or a few seconds have passed), then
hands chunks of the frontier out as tasks. A task is a self-contained search from its nodes with the
master's best value as floor and a node budget; it returns its best exactly evaluated point, whether it
finished, and, when the budget ran out, its open nodes, which the master hands out again (so no worker
idles behind one big subtree). Every node a worker closes is closed by the same exact arguments as in
the sequential search, and the master re-evaluates every returned witness exactly, so the answer (the
exact supremum and the verdict) is the same whichever way the tree was farmed out; only the witness
may differ when several points attain the supremum.

Local workers use the ``spawn`` start method (HiGHS's threads do not survive ``fork``); with
``scheduler="tcp://host:port"`` the tasks go to that Dask scheduler (``pip install 'verify[dask]'``).
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from ..deadline import Deadline
from ..status import Status

__all__ = ["maximize_parallel", "solve_chunk"]

_FIELDS = ("lo", "hi", "L", "U", "split", "alpha", "key", "depth", "nid", "fresh")
_CACHE: dict = {}


def _problem(net, box, constraints):
    from .problem import Problem, prepare_network

    key = (id(net), box, repr(constraints))
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not net:
        _CACHE.clear()
        hit = _CACHE[key] = (net, Problem(prepare_network(net), box, constraints))
    return hit[1]


def solve_chunk(payload):
    """One task: search from the given open nodes. Returns a plain dict (picklable)."""
    from .search import Frontier, SearchConfig, _Search

    net, box, constraints, cfg, floor, stop_above, seconds, nodes, budget, seed = payload
    prob = _problem(net, box, constraints)
    s = _Search(prob, cfg or SearchConfig(), Deadline(seconds), floor, stop_above, False, seed)
    fr = Frontier(prob.d, prob.lv.N, cap=max(16, len(nodes["key"])))
    fr.push(**nodes)
    res = s.run(budget, fr=fr, incumbents=False)
    left = None
    if res.status is not Status.PROVED and s.fr.n:
        n = s.fr.n
        left = {k: getattr(s.fr, k)[:n].copy() for k in _FIELDS}
    return {"status": res.status.value, "value": res.value, "witness": res.witness, "upper": res.upper,
            "stopped": res.stopped, "stats": res.stats, "left": left, "reason": res.reason}


def _chunks(nodes: dict, k: int):
    n = len(nodes["key"])
    order = np.argsort(-nodes["key"])  # deal the best nodes round-robin: similar work per chunk
    for c in range(k):
        sel = order[c::k]
        if len(sel):
            yield {f: nodes[f][sel] for f in _FIELDS}


class _Pool:
    def __init__(self, workers, scheduler):
        self.client = None
        self.pool = None
        if scheduler is not None:
            try:
                from distributed import Client
            except ImportError as exc:  # pragma: no cover - dask is in the test extra
                raise ImportError("a Dask scheduler needs dask.distributed: pip install 'verify[dask]'") from exc
            self.client = Client(scheduler)
            self.width = max(1, sum(self.client.nthreads().values()))
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
            self.width = workers

    def submit(self, payload):
        if self.client is not None:
            return self.client.submit(solve_chunk, payload, pure=False)
        return self.pool.submit(solve_chunk, payload)

    def wait_one(self, futures):
        if self.client is not None:
            from distributed import wait

            done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
            return done
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
        return done

    def result(self, fut):
        return fut.result()

    def close(self):
        if self.client is not None:
            self.client.close()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def maximize_parallel(net, box, constraints=(), *, deadline=None, floor=None, stop_above=None, candidates=(),
                      node_limit=None, config=None, seed=0, workers=None, scheduler=None, seq_seconds=2.0,
                      chunk_budget=4000, min_open=None):
    """:func:`verify.engine.entry.maximize` with the tree farmed out (see the module docstring)."""
    from .problem import Problem, prepare_network
    from .search import MaxResult, SearchConfig, _Search

    if not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    cfg = config or SearchConfig()
    workers = workers or 2
    t0 = time.monotonic()
    prob = Problem(prepare_network(net), box, constraints)
    s = _Search(prob, cfg, deadline, floor, stop_above, False, seed)
    for pt in candidates:
        s.inc.offer(tuple(Fraction(v) for v in pt))
    # The master alone first: small problems end here, without starting any worker.
    target = 8 * workers if min_open is None else min_open
    res = s.run(node_limit, handoff=lambda se: (time.monotonic() - t0 > seq_seconds and se.fr.n >= target))
    if res is not None:
        res.stats["workers"] = 0
        return _checked(net, box, res)
    pool = _Pool(workers, scheduler)
    stats = dict(s.stats)
    stats["tasks"] = 0
    stats["workers"] = pool.width
    open_keys = []
    unknown = None
    try:
        fr = s.fr
        n = fr.n
        nodes = {k: getattr(fr, k)[:n].copy() for k in _FIELDS}
        queue = list(_chunks(nodes, 2 * pool.width))
        running = {}
        total_nodes = stats["nodes"]

        def launch():
            while queue and len(running) < 2 * pool.width:
                chunk = queue.pop(0)
                budget = chunk_budget
                if node_limit is not None:
                    budget = max(1, min(budget, node_limit - total_nodes))
                payload = (net, box, constraints, cfg, s.thr(), stop_above, deadline.remaining(), chunk, budget,
                           seed + stats["tasks"])
                running[pool.submit(payload)] = chunk
                stats["tasks"] += 1

        launch()
        while running:
            for fut in pool.wait_one(running):
                running.pop(fut)
                out = pool.result(fut)
                total_nodes += out["stats"].get("nodes", 0)
                for k in ("nodes", "closed_bound", "closed_lp", "closed_empty", "closed_parent"):
                    stats[k] = stats.get(k, 0) + out["stats"].get(k, 0)
                if out["witness"] is not None:
                    s.inc.offer(tuple(out["witness"]), polish=False)
                if s.done():
                    queue.clear()
                    return _checked(net, box, s.result(Status.PROVED, s.inc.value, stopped=True), stats)
                if out["left"] is not None:
                    over = deadline.expired() or (node_limit is not None and total_nodes >= node_limit)
                    if over:
                        open_keys.append(float(out["left"]["key"].max()))
                        unknown = out["reason"] or "timeout"
                    else:
                        queue.extend(_chunks(out["left"], 2 * pool.width))
                elif out["status"] != Status.PROVED.value:
                    unknown = out["reason"] or "unknown"
                    if out["upper"] is None:
                        open_keys.append(np.inf)
                    else:
                        open_keys.append(float(out["upper"]))
            launch()
    finally:
        pool.close()
    if unknown is not None:
        up = max(open_keys) if open_keys else -np.inf
        upper = None if up == np.inf else max([Fraction(up)] + ([s.thr()] if s.thr() is not None else []))
        return _checked(net, box, s.result(Status.UNKNOWN, upper, reason=unknown), stats)
    return _checked(net, box, s.result(Status.PROVED, s.thr()), stats)


def _checked(net, box, res, stats=None):
    from ..backends.evaluator import evaluate

    if stats is not None:
        res.stats.update(stats)
    if res.witness is not None:
        v = evaluate(net, res.witness)[0]
        if v != res.value or not box.contains(res.witness):  # pragma: no cover
            raise AssertionError("parallel engine witness does not reproduce")
    return res
