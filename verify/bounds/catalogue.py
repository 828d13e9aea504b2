"""The theorem catalogue: one executable entry per published or derived fact.

A :class:`Claim` has an id, a statement, a full citation, its conditions (domain, weight ring, depth
convention), a ``compute`` that runs the toolkit, an ``expected`` value from the formula, and a check
that compares them exactly. :func:`run_claims` runs them and returns :class:`ClaimResult` rows; the
snapshot (``verify/data/snapshot.json``) stores every computed value so that CI fails on any drift.

Entries are registered by the modules in ``verify/bounds/claims_*.py`` (one family each).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

from ..errors import SolverUnknownError, ToolkitBugError, VerifyError
from .citations import Source, source

__all__ = ["Claim", "ClaimResult", "Outcome", "Computed", "collect", "register", "all_claims", "select", "run_claim",
           "run_claims", "load_snapshot", "snapshot_path", "compare_snapshot", "write_snapshot"]


class Outcome(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"  # the computed value contradicts the claim, or drifted from the snapshot
    UNKNOWN = "UNKNOWN"  # a solver gave up: no verdict either way

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Computed:
    """What a claim's computation produced.

    ``value`` is a short exact text (shown in the table, compared with ``expected``); ``detail`` holds
    every exact number behind it (stored in the snapshot); ``unknown`` marks a solver that gave up.
    """

    value: str
    detail: dict = field(default_factory=dict)
    unknown: bool = False


def collect(rows: Iterable[tuple], sep: str = " ") -> Computed:
    """The :class:`Computed` of a claim that runs one query per case (the loop every family shares).

    ``rows`` yields ``(value text, detail key, detail value, unknown)`` per case: the texts are joined
    with ``sep`` into the value, the details kept under their keys (a key of ``None`` stores nothing),
    and the claim is UNKNOWN as soon as one case is (a solver gave up: no verdict either way).
    """
    values, detail, unknown = [], {}, False
    for text, key, value, case_unknown in rows:
        values.append(text)
        if key is not None:
            detail[key] = value
        unknown |= bool(case_unknown)
    return Computed(sep.join(values), detail, unknown)


@dataclass(frozen=True)
class Claim:
    id: str
    family: str
    statement: str
    source: Source
    conditions: str
    expected: Callable[[], str]
    compute: Callable[[], Computed]
    heavy: bool = False


@dataclass(frozen=True)
class ClaimResult:
    id: str
    family: str
    statement: str
    source: str
    citation: str
    conditions: str
    computed: str
    expected: str
    outcome: Outcome
    seconds: float
    detail: dict = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict:
        return {
            "id": self.id, "family": self.family, "statement": self.statement, "source": self.source,
            "citation": self.citation, "conditions": self.conditions, "computed": self.computed,
            "expected": self.expected, "status": self.outcome.value, "seconds": round(self.seconds, 3),
            "detail": self.detail, "note": self.note,
        }


_REGISTRY: dict[str, Claim] = {}

# Modules that register claims, one family each (imported on first use).
FAMILY_MODULES = (
    "claims_trees",
    "claims_depth",
    "claims_errors",
    "claims_optimal",
    "claims_one_hidden",
    "claims_gradients",
    "claims_max5",
    "claims_regions",
    "claims_frontier",
)


def register(claim: Claim) -> Claim:
    if claim.id in _REGISTRY:
        raise ToolkitBugError(f"duplicate catalogue id {claim.id}")
    _REGISTRY[claim.id] = claim
    return claim


def claim(*, id: str, family: str, statement: str, source_key: str, conditions: str, expected, heavy: bool = False):
    """Decorator form of :func:`register` for a compute function."""

    def wrap(fn):
        exp = expected if callable(expected) else (lambda v=expected: v)
        register(Claim(id, family, statement, source(source_key), conditions, exp, fn, heavy))
        return fn

    return wrap


def all_claims() -> list[Claim]:
    import importlib

    for name in FAMILY_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    return list(_REGISTRY.values())


def select(only: Iterable[str] | None = None, heavy: bool = False) -> list[Claim]:
    """Claims whose id equals, or whose id or family starts with, one of ``only`` (default all).

    Heavy claims run only with ``heavy=True`` or when named by their full id.
    """
    claims = all_claims()
    if only:
        only = list(only)
        chosen = [c for c in claims
                  if any(c.id == o or ((c.id.startswith(o + ".") or c.family == o) and (heavy or not c.heavy)) for o in only)]
        if not chosen:
            raise VerifyError(f"no catalogue entry matches {', '.join(only)} (see `verify prove --list`)")
        return chosen
    return [c for c in claims if heavy or not c.heavy]


def run_claim(c: Claim, snapshot: dict | None = None) -> ClaimResult:
    start = time.monotonic()
    note = ""
    try:
        computed = c.compute()
    except ToolkitBugError:
        raise
    except SolverUnknownError as exc:  # no verdict either way
        computed = Computed(value=f"unknown: {exc}", unknown=True)
        note = str(exc)
    except VerifyError as exc:
        computed = Computed(value=f"error: {exc}", unknown=False)
        note = str(exc)
    seconds = time.monotonic() - start
    expected = c.expected()
    if computed.unknown:
        outcome = Outcome.UNKNOWN
    else:
        outcome = Outcome.PASS if computed.value == expected else Outcome.FAIL
    if outcome is Outcome.PASS and snapshot is not None and c.id in snapshot:
        drift = compare_snapshot(snapshot[c.id], computed)
        if drift:
            outcome = Outcome.FAIL
            note = f"drift from snapshot: {drift}"
    return ClaimResult(c.id, c.family, c.statement, c.source.short(), c.source.cite(), c.conditions,
                       computed.value, expected, outcome, seconds, computed.detail, note)


def run_claims(claims: list[Claim], snapshot: dict | None = None, progress: bool = False,
               timeout: float | None = None) -> list[ClaimResult]:
    """Run ``claims`` in order; with ``timeout``, no claim is started after that many seconds (the
    results then cover the claims run, fewer than given)."""
    from ..deadline import Deadline

    deadline = Deadline(timeout)
    results = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(claims), unit="claim", leave=False)
    for c in claims:
        if deadline.expired():
            break
        if bar is not None:
            bar.set_description(c.id[:40])
        results.append(run_claim(c, snapshot))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return results


# -- snapshot -------------------------------------------------------------------------------------
def snapshot_path() -> Path:
    return Path(str(resources.files("verify") / "data" / "snapshot.json"))


def load_snapshot(path: Path | None = None) -> dict:
    path = path or snapshot_path()
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def compare_snapshot(stored: dict, computed: Computed) -> str:
    """Empty if ``computed`` equals the stored exact values, else a one-line description of the change."""
    if stored.get("computed") != computed.value:
        return f"computed {stored.get('computed')!r} -> {computed.value!r}"
    old, new = stored.get("detail", {}), json.loads(json.dumps(computed.detail))
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        k = changed[0]
        return f"{len(changed)} detail value(s) changed, e.g. {k}: {old.get(k)!r} -> {new.get(k)!r}"
    return ""


def write_snapshot(results: list[ClaimResult], path: Path | None = None) -> Path:
    """Store the computed values of PASS results (merged into the existing snapshot)."""
    from ..io.files import atomic_write_text

    path = path or snapshot_path()
    data = load_snapshot(path)
    for r in results:
        if r.outcome is Outcome.PASS:
            data[r.id] = {"computed": r.computed, "detail": r.detail}
    atomic_write_text(path, json.dumps(dict(sorted(data.items())), indent=1, sort_keys=True) + "\n")
    return path
