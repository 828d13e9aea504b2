"""One z3 session per query: the only module that makes z3 contexts, solvers and optimizers.

A :class:`Z3Session` is one query's fresh :class:`z3.Context` and its :class:`~verify.deadline.Deadline`.
Every solver it makes (:meth:`Z3Session.solver`, :meth:`Z3Session.optimizer`) lives in that context, so
an answer (a model, a witness) never depends on what other queries ran before it in the process, and
every ``check`` is given what is left of the deadline as z3's ``timeout``. A check returns one frozen
:class:`Z3Answer`:

* ``Status.PROVED``: z3 answered ``unsat`` -- no point satisfies the assertions (every query of the
  toolkit asserts the negation of a claim, so the claim is proved);
* ``Status.REFUTED``: ``sat`` -- ``point`` holds the exact rational values of the query's variables in
  z3's model (for an optimizer: an optimal point). Callers re-run it through the exact evaluator
  before it counts;
* ``Status.UNKNOWN``: ``unknown`` or a timeout -- never a verdict; ``reason`` is z3's reason and
  ``timed_out`` says whether the budget ran out.

z3 is imported lazily (``import verify`` does not need it); a missing z3 raises
:class:`~verify.errors.MissingExtraError`.

References
----------
L. de Moura, N. Bjorner, "Z3: an efficient SMT solver", TACAS 2008.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..deadline import Deadline
from ..errors import ToolkitBugError
from ..status import Status
from .z3_backend import from_z3, rational, z3

__all__ = ["Z3Session", "Z3Solver", "Z3Answer", "WATCHDOG_GRACE"]

# Seconds past the deadline after which a z3 check still running is interrupted.
WATCHDOG_GRACE = 0.5


@dataclass(frozen=True)
class Z3Answer:
    """The answer of one z3 check (see the module docstring for what each status means)."""

    status: Status
    point: tuple[Fraction, ...] | None = None
    reason: str = ""
    timed_out: bool = False

    @property
    def sat(self) -> bool:
        return self.status is Status.REFUTED

    @property
    def unsat(self) -> bool:
        return self.status is Status.PROVED

    @property
    def unknown(self) -> bool:
        return self.status is Status.UNKNOWN


class Z3Session:
    """A fresh z3 context for one query, with the query's deadline.

    Parameters
    ----------
    deadline : Deadline, optional
        Shared by every check of every solver of the session (default: unlimited).
    """

    def __init__(self, deadline: Deadline | None = None):
        self.deadline = deadline if deadline is not None else Deadline(None)
        self.ctx = z3.Context()
        self.inputs: list = []

    def reals(self, n: int, prefix: str = "x") -> list:
        """``n`` real variables ``{prefix}0 ..`` of this context; the first call names the query's inputs
        (the variables whose model values an answer's ``point`` holds)."""
        xs = [z3.Real(f"{prefix}{i}", self.ctx) for i in range(n)]
        if not self.inputs:
            self.inputs = xs
        return xs

    def real(self, name: str):
        return z3.Real(name, self.ctx)

    def rational(self, value):
        """An exact z3 rational constant of this context."""
        return rational(value, self.ctx)

    def linear(self, coefs, xs=None, const=0):
        """``sum_i coefs[i] x_i + const`` as a z3 term (``coefs``: a sequence, or a dict index -> value)."""
        xs = self.inputs if xs is None else xs
        items = coefs.items() if isinstance(coefs, dict) else enumerate(coefs)
        terms = [self.rational(a) * xs[i] for i, a in items if a != 0]
        if const != 0 or not terms:
            terms.append(self.rational(const))
        return terms[0] if len(terms) == 1 else z3.Sum(terms)

    def maximize_affine(self, objective, rows, box=None) -> Z3Answer:
        """Exact LP: maximise ``objective = (coefs, const)`` over ``{x : a . x <= b for (a, b) in rows}``
        (and ``box``) with a new optimizer on the session's inputs; a REFUTED answer holds an optimal point."""
        xs = self.inputs
        opt = self.optimizer()
        if box is not None:
            for x, lo, hi in zip(xs, box.lo, box.hi):
                opt.add(x >= self.rational(lo), x <= self.rational(hi))
        for a, b in rows:
            opt.add(self.linear(a, xs) <= self.rational(b))
        opt.maximize(self.linear(objective[0], xs, objective[1]))
        return opt.check()

    def solver(self) -> "Z3Solver":
        """A new ``Solver`` in this context."""
        return Z3Solver(self, z3.Solver(ctx=self.ctx))

    def optimizer(self) -> "Z3Solver":
        """A new ``Optimize`` (exact LP/MILP over the rationals) in this context."""
        return Z3Solver(self, z3.Optimize(ctx=self.ctx))

    def parse_smtlib(self, text: str) -> list:
        """The assertions of SMT-LIB 2 text, in this context (raises ``z3.Z3Exception`` on bad text)."""
        return z3.parse_smt2_string(text, ctx=self.ctx)


class Z3Solver:
    """A z3 ``Solver`` or ``Optimize`` of a :class:`Z3Session`; :meth:`check` applies the deadline."""

    def __init__(self, session: Z3Session, raw):
        self.session = session
        self.raw = raw
        self._model = None

    def add(self, *constraints) -> None:
        deadline = self.session.deadline
        for k, c in enumerate(constraints):
            if k % 4096 == 4095:
                deadline.check("building the z3 query")
            self.raw.add(c)

    def push(self) -> None:
        self.raw.push()

    def pop(self) -> None:
        self.raw.pop()

    def maximize(self, term):
        """Maximise ``term`` (an optimizer); returns z3's handle of the objective (see :meth:`bound`)."""
        return self.raw.maximize(term)

    def minimize(self, term):
        return self.raw.minimize(term)

    def bound(self, handle, upper: bool = True):
        """The optimum of an objective after a sat check: a z3 value, possibly infinite (unbounded)."""
        return self.raw.upper(handle) if upper else self.raw.lower(handle)

    def from_string(self, text: str) -> None:
        """Add the assertions of SMT-LIB 2 text (z3 parses it much faster than terms are built in Python)."""
        self.raw.from_string(text)

    def to_smt2(self) -> str:
        return self.raw.to_smt2()

    def check(self, point_of: Sequence | None = None) -> Z3Answer:
        """Check the assertions within what is left of the session's deadline.

        ``point_of``: the terms whose exact model values make the answer's ``point`` (default: the
        session's inputs). The model itself stays available as :meth:`model` until the next check.
        """
        ms = self.session.deadline.z3_ms()
        watchdog = None
        if ms is not None:
            self.raw.set("timeout", ms)
            # z3's own timeout is not always honoured promptly (an Optimize, a long preprocessing step):
            # past it by a grace period, the context is interrupted from a timer thread (the way z3 is
            # meant to be stopped from outside), and the check returns unknown.
            watchdog = threading.Timer(ms / 1000 + WATCHDOG_GRACE, self.session.ctx.interrupt)
            watchdog.daemon = True
            watchdog.start()
        try:
            answer = self.raw.check()
        finally:
            if watchdog is not None:
                watchdog.cancel()
        self._model = None
        if answer == z3.unsat:
            return Z3Answer(Status.PROVED)
        if answer == z3.sat:
            self._model = self.raw.model()
            terms = self.session.inputs if point_of is None else point_of
            point = tuple(from_z3(self._model.eval(t, model_completion=True)) for t in terms)
            return Z3Answer(Status.REFUTED, point)
        reason = self.raw.reason_unknown()
        timed_out = self.session.deadline.expired() or "timeout" in reason or "canceled" in reason
        return Z3Answer(Status.UNKNOWN, reason=reason, timed_out=timed_out)

    def model(self):
        """z3's model of the last ``sat`` check (for reading other variables, e.g. pattern Booleans)."""
        if self._model is None:
            raise ToolkitBugError("no z3 model: the last check was not sat")
        return self._model
