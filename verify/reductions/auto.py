"""``backend="auto"``: one chain of steps for every query, with its rules in one place.

Every query of the toolkit is one of two problems (:mod:`verify.reductions.problems`): an
:class:`Equivalence` (``check_exact``, ``check_equivalent``) or a difference supremum (``worst_case_error``
and ``worst_case_difference``, one side each). ``auto`` tries the :data:`STEPS` that apply to the problem,
in order, each chain with its share of the budget, until one gives a verdict (anything but UNKNOWN) or
the time is up:

=============  ===================================================  ==========================================
step           applies to                                           chain (reductions -> solver), budget
=============  ===================================================  ==========================================
arrangement    exactness on R^d of a bias-free network              -> rays of its hyperplane arrangement
                                                                    (UNKNOWN at once beyond two hidden
                                                                    layers); half the time left
symmetry       exactness on R^d, one output = max of all inputs     SymmetryToConeFaces -> z3 on the cone's
                                                                    faces; all the time left
z3-only        an equivalence or supremum with numbers beyond       -> z3 (one query per output, or region
               float range (:func:`floats_can_guide`)               hopping); all the time left (the
                                                                    float-guided steps below are left out)

"Beyond float range": :func:`floats_can_guide` (a weight, box end or node value above
:data:`verify.backends.float_range.FLOAT_LIMIT`).
=======
z3             an equivalence of hand-built networks (every weight  -> one z3 query per output; all the
               and bias a fraction with denominator at most         time (three quarters of a timeout)
               ``HAND_BUILT_DENOMINATOR``)
z3-short       any other equivalence                                -> one z3 query per output; at most
                                                                    ``Z3_FIRST_SECONDS`` (a quarter of the
                                                                    time left when a timeout is given)
engine         every equivalence                                    [homogeneous reduction on R^d] -> the
                                                                    exact engine (:mod:`verify.engine`),
                                                                    both sides of every output; the rest
z3-hopping     a supremum of hand-built networks, any size          -> region hopping with z3; all the time
                                                                    (three quarters of a timeout)
engine         every supremum                                       -> the exact engine, max references
                                                                    kept as argmax cones; the rest
=============  ===================================================  ==========================================

Why z3 goes first, briefly: the constructions of the catalogue (max trees, truncated trees, pooling
emulations, optimal approximations) meet their reference exactly, on whole regions or along the tie
set, where z3 proves ``unsat`` at once while a branch and bound must reach every fully stable leaf to
show a bound of exactly 0 (docs/engine.md, "The default route"). Such networks are written by hand or
built by the toolkit, with small exact weights; trained networks arrive as float32 or 17-digit decimals
(denominators of 2^10 and far more): a supremum of theirs goes to the engine at once (z3 region hopping
gave UNKNOWN after 120 s on a trained 4-16-1 window MLP, where the engine needs well under a second), an
equivalence gets a short z3 turn first (z3 finds a counterexample, or proves a re-exported copy equal,
fast) and then the engine (benchmarks/engine_bench.py). The weights only choose the order of the steps, never a verdict.

The last step of every optimisation chain is pluggable: :data:`MAXIMIZER` is any callable
``(problem: Maximize, deadline) -> MaxResult`` (``sup`` of one output of a ReLU network over a box cut by
linear constraints, with ``floor`` / ``stop_above``) used by the ``"milp"`` backend; today the MILP-guided
branch and bound (:func:`verify.backends.milp.maximize`), replaceable with :func:`set_maximizer`.

The named backends of the queries are single chains of the same table: ``"engine"``, ``"z3"`` and
``"milp"`` (the maximisation chains; on R^d without a homogeneous reduction they fall back to z3 and say
so), and ``"arrangement"`` for exactness on R^d.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from ..deadline import Deadline
from ..domain import Box
from ..backends.evaluator import evaluate
from ..errors import DeadlineExpired, ToolkitBugError
from ..ir.graph import Network
from ..status import Status
from .base import Chain, NotApplicable
from .difference import DifferenceNetwork
from .homogeneous import HomogeneousToBox, homogeneous_box
from .problems import Equivalence, Maximize, Supremum
from .symmetry import SymmetryToConeFaces, is_max_of_all_on_rd, solve_cone_faces

__all__ = ["Step", "STEPS", "Difference", "solve", "solve_with", "MAXIMIZER", "set_maximizer", "maximizer",
           "Z3_FIRST_SECONDS", "HAND_BUILT_DENOMINATOR", "HAND_BUILT_Z3_SHARE", "BACKENDS",
           "hand_built", "floats_can_guide"]

# The rules, in one place.
Z3_FIRST_SECONDS = 10.0  # z3 decides structured constructions (trees, pooling) fast; then the maximiser
Z3_FIRST_SHARE = 0.25  # ... or this share of the time left, when a timeout is given
MIN_LAST_SECONDS = 0.1  # the last step always gets at least this much
HAND_BUILT_DENOMINATOR = 256  # weights with denominators up to this were written by hand (1/2, 1/9, 1/255)
HAND_BUILT_Z3_SHARE = 0.75  # z3's share of a timeout on hand-built networks (all of it without one)
BACKENDS = ("auto", "engine", "z3", "milp", "arrangement")
ARRANGEMENT_SHARE = 0.5  # the arrangement route gives up (UNKNOWN) within this share of the time left


@dataclass(frozen=True)
class Difference:
    """``sup_{x in box} max_o (f_o(x) - g_o(x))``, answered by a :class:`~verify.analysis.results.SupResult`.

    ``relus``: the size of the network under test (both sides of one query pass the same one); the
    rules of :data:`STEPS` read the weights (:func:`hand_built`), not the size.
    """

    f: Network
    g: Network
    box: Box
    samples: int = 512
    seed: int = 0
    relus: int | None = None


# -- the pluggable last step ----------------------------------------------------------------------------
def _milp_maximize(problem: Maximize, deadline: Deadline):
    from ..backends.milp import maximize

    return maximize(problem.net, problem.box, problem.constraints, deadline=deadline, floor=problem.floor,
                    stop_above=problem.stop_above, samples=problem.samples, seed=problem.seed)


MAXIMIZER: Callable = _milp_maximize


def set_maximizer(fn: Callable) -> Callable:
    """Make ``fn(problem: Maximize, deadline) -> MaxResult`` the last step of every optimisation chain;
    returns the previous one."""
    global MAXIMIZER
    previous, MAXIMIZER = MAXIMIZER, fn
    return previous


def maximizer(problem: Maximize, deadline: Deadline):
    """The current :data:`MAXIMIZER` (looked up at call time, so :func:`set_maximizer` takes effect)."""
    return MAXIMIZER(problem, deadline)


def supremum_chain() -> Chain:
    """``Supremum -> DifferenceNetwork -> MAXIMIZER`` (the witness re-checked on both networks)."""
    return Chain([DifferenceNetwork()], maximizer, name="milp")


# -- solvers built on the maximiser ---------------------------------------------------------------------
def equivalence_by_maximization(problem: Equivalence, deadline: Deadline):
    """``f == g`` on a box: for every output both ``sup (f_o - g_o)`` and ``sup (g_o - f_o)`` are <= 0."""
    from ..analysis.results import ExactnessResult

    f, g, box, query = problem.f, problem.g, problem.domain, problem.query
    stats = {}
    chain = supremum_chain()
    for o in range(f.n_outputs):
        for sign in (1, -1):
            try:
                r = chain.solve(Supremum(f, g, box, o, sign, floor=Fraction(0), stop_above=Fraction(0)), deadline)
            except DeadlineExpired as exc:
                return ExactnessResult(Status.UNKNOWN, box, deadline.elapsed(), output_index=o,
                                       reason=f"MILP search did not finish on output {o} (timeout: {exc})",
                                       backend="milp", query=query)
            stats[f"output{o}_{'over' if sign == 1 else 'under'}"] = r.stats
            if r.value is not None and r.value > 0:
                # The reduction re-evaluated the witness on f and g: they differ there by r.value > 0.
                x = r.witness
                v1, v2 = evaluate(f, x)[o], evaluate(g, x)[o]
                return ExactnessResult(Status.REFUTED, box, deadline.elapsed(), counterexample=x, output_index=o,
                                       network_value=v1, reference_value=v2, backend="milp", query=query)
            if r.status is not Status.PROVED:
                return ExactnessResult(Status.UNKNOWN, box, deadline.elapsed(), output_index=o,
                                       reason=f"MILP search did not finish on output {o} "
                                              f"({r.stats.get('reason', 'timeout')})", backend="milp", query=query)
    return ExactnessResult(Status.PROVED, box, deadline.elapsed(), backend="milp", query=query, stats=stats)


def _is_exact_on_rd(problem) -> bool:
    return isinstance(problem, Equivalence) and problem.query == "exact" and not isinstance(problem.domain, Box) \
        and problem.f.is_bias_free


def _arrangement(problem: Equivalence, deadline: Deadline):
    """``N == max`` on R^d by the rays of the network's hyperplane arrangement (bias-free, at most two
    hidden layers; :mod:`verify.analysis.arrangement`); UNKNOWN at once when it does not apply."""
    from ..analysis.arrangement import check_exact_arrangement

    return check_exact_arrangement(problem.f, timeout=deadline.remaining())


def _z3_equivalence(problem: Equivalence, deadline: Deadline):
    from ..analysis.equivalence import z3_equivalence

    return z3_equivalence(problem, deadline)


def _maximise_equivalence(problem: Equivalence, deadline: Deadline):
    """The maximisation route: needs a box, so on R^d the homogeneous reduction first; if that does not
    apply, z3 decides and the reason says so."""
    from ..analysis.equivalence import z3_equivalence

    if isinstance(problem.domain, Box):
        return equivalence_by_maximization(problem, deadline)
    if HomogeneousToBox().accepts(problem):
        return Chain([HomogeneousToBox()], equivalence_by_maximization, name="milp").solve(problem, deadline)
    _, why = homogeneous_box(problem.f, problem.g, problem.domain)
    return z3_equivalence(problem, deadline, reason=f"z3 used: the MILP backend needs a box and {why}")


def sup_by_maximization(problem: Difference, deadline: Deadline):
    """One maximisation per output on the difference network ``f_o - g_o``; the best value of earlier
    outputs is the floor of later ones. Every value is attained at its witness (re-checked on ``f`` and
    ``g`` themselves by the reduction)."""
    from ..analysis.results import SupResult

    from ..backends.patterns import output_values

    status, best, best_x, best_o, upper = Status.PROVED, None, None, 0, None
    stats: dict = {}
    chain = supremum_chain()
    upper_known, reason = True, ""
    # The box centre, evaluated exactly first (cheap): a witness however soon the time runs out.
    centre = problem.box.center()
    diffs = [a - b for a, b in zip(output_values(problem.f, centre), output_values(problem.g, centre))]
    for o in range(problem.f.n_outputs):
        try:
            r = chain.solve(Supremum(problem.f, problem.g, problem.box, o, floor=best, samples=problem.samples,
                                     seed=problem.seed), deadline)
        except DeadlineExpired as exc:  # inside a rewrite or an encoding: what is known so far stands
            status, upper_known, reason = Status.UNKNOWN, False, f"timeout ({exc})"
            break
        stats[f"output{o}"] = r.stats
        if r.value is not None and (best is None or r.value > best):
            best, best_x, best_o = r.value, r.witness, o
        if r.status is not Status.PROVED:
            status = Status.UNKNOWN
        if r.upper is not None:
            upper = r.upper if upper is None else max(upper, r.upper)
        else:
            upper_known = False
    if best is None:  # the time ran out before any point: the box centre is one
        best_x, best_o = centre, max(range(len(diffs)), key=diffs.__getitem__)
        best = diffs[best_o]
    if not upper_known:
        upper = None
    elif upper is None or upper < best:
        upper = best
    return SupResult(status, best, best_x, best_o, upper, stats,
                     reason="" if status is Status.PROVED else (reason or "timeout"))


def _z3_hopping(problem: Difference, deadline: Deadline):
    from ..analysis.region_hopping import sup_difference

    return sup_difference(problem.f, problem.g, problem.box, deadline=deadline, samples=problem.samples,
                          seed=problem.seed)


# -- the exact engine -----------------------------------------------------------------------------------
def _engine_equivalence(problem: Equivalence, deadline: Deadline):
    """``f == g`` by the engine (:func:`verify.engine.queries.check_equivalent`): on a box directly, on R^d
    through positive homogeneity; when that does not apply, z3 decides and the reason says so."""
    from ..analysis.equivalence import z3_equivalence
    from ..engine.queries import check_equivalent

    if not isinstance(problem.domain, Box):
        box, why = homogeneous_box(problem.f, problem.g, problem.domain)
        if box is None:
            return z3_equivalence(problem, deadline, reason=f"z3 used: the engine needs a box and {why}")
    return check_equivalent(problem.f, problem.g, problem.domain, timeout=deadline.remaining(), query=problem.query)


def _engine_difference(problem: Difference, deadline: Deadline):
    """``sup (f - g)`` by the engine (:func:`verify.engine.queries.sup_difference`); a max reference stays
    max (argmax cones), never lowered to ReLUs. The witness is re-evaluated on ``f`` and ``g`` there."""
    from ..analysis.results import SupResult
    from ..engine.queries import sup_difference

    r = sup_difference(problem.f, problem.g, problem.box, deadline=deadline, seed=problem.seed)
    if r.witness is None:  # pragma: no cover - without a floor the engine always evaluates a point
        raise ToolkitBugError("the engine returned no witness")
    upper = r.value if r.status is Status.PROVED else r.upper
    reason = "" if r.status is Status.PROVED else (
        "timeout" if upper is not None else "timeout (no finite upper bound was reached)")
    proof = None
    if r.trees is not None and r.status is Status.PROVED:
        from ..engine.certificate import SideTrees

        proof = SideTrees(r.trees, "lifted")
    return SupResult(r.status, r.value, r.witness, r.output, upper, r.stats, reason=reason, proof=proof)


# -- the table of steps ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One step of ``auto``: when it applies, its chain, and its budget from the seconds left."""

    name: str
    backend: str  # the named backend this step is ("z3", "milp"), or "" if only auto uses it
    applies: Callable
    chain: Callable[[], Chain]
    budget: Callable[[float | None], float | None]


def _all_left(left):
    return left


def _z3_first(left):
    return Z3_FIRST_SECONDS if left is None else min(Z3_FIRST_SECONDS, left * Z3_FIRST_SHARE)


def _the_rest(left):
    return None if left is None else max(MIN_LAST_SECONDS, left)


_FLOAT_CHECKS: dict = {}


def floats_can_guide(problem) -> bool:
    """Whether the float-guided steps (the engine's LP bounds, the maximiser) may run: no weight, box end
    or node value of either network beyond :data:`verify.backends.float_range.FLOAT_LIMIT` (on R^d: on
    the homogeneous reduction's box [-1, 1]^d). Otherwise ``auto`` takes the exact z3 steps only."""
    from ..backends.float_range import float_range_issue

    domain = problem.box if isinstance(problem, Difference) else problem.domain
    key = (id(problem.f), id(problem.g), id(domain))
    hit = _FLOAT_CHECKS.get(key)
    if hit is None or hit[0] is not problem.f or hit[1] is not problem.g:
        ok = float_range_issue(problem.f, domain) is None and float_range_issue(problem.g, domain) is None
        _FLOAT_CHECKS.clear()  # one problem at a time: the steps of one solve ask about the same networks
        _FLOAT_CHECKS[key] = hit = (problem.f, problem.g, ok)
    return hit[2]


def _z3_only_equivalence(p) -> bool:
    return isinstance(p, Equivalence) and not floats_can_guide(p)


def _z3_only_difference(p) -> bool:
    return isinstance(p, Difference) and not floats_can_guide(p)


def _guided(premise):
    """The premise of a float-guided step, left out for numbers beyond float range."""
    return lambda p: premise(p) and floats_can_guide(p)


def _hand_built_z3(left):
    # Without a timeout z3 keeps the whole budget, as before the engine: on a construction the engine
    # would search without end where z3 eventually answers.
    return None if left is None else left * HAND_BUILT_Z3_SHARE


def hand_built(*nets: Network) -> bool:
    """Are all weights and biases of ``nets`` fractions with denominators at most
    :data:`HAND_BUILT_DENOMINATOR` (a construction, not trained float weights)?"""
    return all(max(net.weight_denominators, default=1) <= HAND_BUILT_DENOMINATOR for net in nets)


def _difference_of_hand_built(problem) -> bool:
    return isinstance(problem, Difference) and hand_built(problem.f, problem.g)


def _equivalence_of_hand_built(problem) -> bool:
    return isinstance(problem, Equivalence) and hand_built(problem.f, problem.g)


def _arrangement_share(left):
    return None if left is None else left * ARRANGEMENT_SHARE


STEPS: tuple[Step, ...] = (
    Step("arrangement", "arrangement", _is_exact_on_rd, lambda: Chain([], _arrangement, name="arrangement"),
         _arrangement_share),
    Step("symmetry", "", is_max_of_all_on_rd,
         lambda: Chain([SymmetryToConeFaces()], solve_cone_faces, name="z3+symmetry"), _all_left),
    # numbers beyond float range: z3 alone, with all the time
    Step("z3-only", "z3", _z3_only_equivalence, lambda: Chain([], _z3_equivalence, name="z3"), _all_left),
    Step("z3-only", "z3", _z3_only_difference, lambda: Chain([], _z3_hopping, name="z3"), _all_left),
    Step("z3", "z3", _guided(_equivalence_of_hand_built), lambda: Chain([], _z3_equivalence, name="z3"), _hand_built_z3),
    Step("z3-short", "z3", _guided(lambda p: isinstance(p, Equivalence) and not _equivalence_of_hand_built(p)),
         lambda: Chain([], _z3_equivalence, name="z3"), _z3_first),
    Step("engine", "engine", _guided(lambda p: isinstance(p, Equivalence)),
         lambda: Chain([], _engine_equivalence, name="engine"), _the_rest),
    Step("z3-hopping", "z3", _guided(_difference_of_hand_built), lambda: Chain([], _z3_hopping, name="z3"),
         _hand_built_z3),
    Step("engine", "engine", _guided(lambda p: isinstance(p, Difference)),
         lambda: Chain([], _engine_difference, name="engine"), _the_rest),
)

# A named backend is the one chain of its kind for the problem, whatever its size.
_NAMED = {
    ("arrangement", Equivalence): lambda: Chain([], _arrangement, name="arrangement"),
    ("engine", Equivalence): lambda: Chain([], _engine_equivalence, name="engine"),
    ("engine", Difference): lambda: Chain([], _engine_difference, name="engine"),
    ("z3", Equivalence): lambda: Chain([], _z3_equivalence, name="z3"),
    ("milp", Equivalence): lambda: Chain([], _maximise_equivalence, name="milp"),
    ("z3", Difference): lambda: Chain([], _z3_hopping, name="z3"),
    ("milp", Difference): lambda: Chain([], sup_by_maximization, name="milp"),
}


def solve_with(backend: str, problem, deadline: Deadline):
    """Solve ``problem`` with a named backend (``"engine"``, ``"z3"``, ``"milp"``, ``"arrangement"``: one
    chain) within ``deadline``."""
    return _NAMED[backend, type(problem)]().solve(problem, deadline)


def solve(problem, deadline: Deadline):
    """``auto``: the steps of :data:`STEPS` that apply, in order, until a verdict or the end of ``deadline``.

    Returns ``(answer, step)``. An UNKNOWN answer is kept only if no later step runs; its ``reason`` then
    says what every step that ran found, which steps had no time left, and (for an equivalence) which
    outputs were proved before the time was up. An answer with ``seconds`` reports the time of the whole
    chain of steps.
    """
    answer, used = None, None
    steps = [s for s in STEPS if s.applies(problem)]
    tried: list = []
    for step in steps:
        try:
            answer = step.chain().solve(problem, Deadline(step.budget(deadline.remaining())))
        except NotApplicable:
            continue  # the step's premise could not be shown: no verdict from it, go on
        except DeadlineExpired:
            if answer is None and deadline.expired():
                raise  # nothing known at all: the command reports the timeout (exit code 3)
            if deadline.expired():
                break
            continue  # the step's own budget ran out: the next step gets the rest
        used = step
        tried.append((step, answer))
        if answer.status is not Status.UNKNOWN or deadline.expired():
            break
    if answer is None:  # pragma: no cover - every problem has a last step that always applies
        raise ToolkitBugError(f"no auto step for {type(problem).__name__}")
    if answer.status is Status.UNKNOWN and hasattr(answer, "reason"):
        answer = dataclasses.replace(answer, reason=_unknown_reason(steps, tried, answer))
    if hasattr(answer, "seconds"):
        answer = dataclasses.replace(answer, seconds=deadline.elapsed())
    return answer, used


def _unknown_reason(steps, tried, answer) -> str:
    """Every step's account of an UNKNOWN: what each one that ran said, and which had no time left."""
    parts = [f"{step.name}: {a.reason or 'no answer'}" for step, a in tried]
    ran = {id(step) for step, _ in tried}
    skipped = [step.name for step in steps if id(step) not in ran]
    if skipped:
        parts.append(f"no time left for {', '.join(skipped)}")
    text = "; ".join(parts)
    if hasattr(answer, "proved_outputs") and "proved" not in text:
        best = max((a.proved_outputs for _, a in tried if hasattr(a, "proved_outputs")), key=len, default=())
        text += "; no output proved" if not best else f"; outputs {', '.join(map(str, best))} proved equal"
    return text
