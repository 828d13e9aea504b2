"""One walker over the IR graph, and the registry of every handler table.

Every backend that reads a network (exact and float evaluation, intervals, sound bounds, the z3, MILP
and LP encodings, sympy, SMT-LIB, rewrites, gradients, activation patterns, regions, certificates,
writers and exporters) is a table ``{Op: handler}`` walked by :func:`walk` in topological order
(DESIGN.md, habit 2; the shape of pysmt's ``DagWalker``). A :class:`Handlers` table is checked when it
is built: it must have exactly one callable per op of the closed vocabulary, so adding an op to
:class:`~verify.ir.ops.Op` makes every table that lacks it fail at import time, not at the first
network that uses the op (pysmt's ``is_complete``). Nothing dispatches on ops by ``if``/``elif``, by
integer codes or by string kinds, and no ``else`` branch silently takes an op nobody handled.

A handler is called as ``handler(ctx, net, node, values)``: ``ctx`` is whatever the walk carries (a
point, a solver context, a builder; ``self`` for class-based walkers), ``values`` the dict of the
results of the nodes visited so far (a node's predecessors are always among them). Its return value
becomes ``values[node]``. Hot paths compile a *plan* once per network with a walk (each handler
returns a step) and then run the plan; the plan is cached on the network (:meth:`Network.memo`).

Every table registers itself by name in :data:`REGISTRY`; :func:`all_tables` imports the modules that
define them (:data:`TABLE_MODULES`), which ``tests/test_ops_coverage.py`` iterates.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any, Callable, Iterable

from ..errors import ToolkitBugError
from .ops import Op

__all__ = ["Handlers", "MissingHandlerError", "walk", "walk_reverse", "plan", "REGISTRY", "TABLE_MODULES",
           "all_tables", "VOCABULARY"]

# The ops every table must cover. Only tests change it (to show that a new op breaks every table).
VOCABULARY: tuple = tuple(Op)

# Every module that defines a handler table (imported by all_tables(); a test checks the list is complete).
TABLE_MODULES = (
    "verify.ir.graph",
    "verify.ir.layers",
    "verify.ir.canonical",
    "verify.backends.evaluator",
    "verify.backends.intervals",
    "verify.backends.float_range",
    "verify.backends.bounds",
    "verify.backends.lp_relax",
    "verify.backends.milp_encoding",
    "verify.backends.z3_backend",
    "verify.backends.sympy_backend",
    "verify.backends.patterns",
    "verify.constructions.emulate",
    "verify.reductions.slice",
    "verify.analysis.gradients",
    "verify.analysis.gradient_encoding",
    "verify.analysis.regions.enumerate",
    "verify.analysis.pool_replacement",
    "verify.io.smtlib",
    "verify.io.json_format",
    "verify.io.vnnlib",
    "verify.certificates",
    "verify.engine.recheck",
)

REGISTRY: dict[str, "Handlers"] = {}


class MissingHandlerError(ToolkitBugError):
    """A handler table does not cover the op vocabulary exactly (a missing op, or an unknown key)."""


class Handlers(Mapping):
    """A complete, immutable table ``op -> handler``, registered by ``name``.

    Parameters
    ----------
    name : str
        Unique name, ``"<module topic>.<walk>"`` (e.g. ``"evaluator.exact"``).
    handlers : mapping
        One callable per op (for a class-based walker, functions of the class body taking ``self``).
    vocabulary : iterable, optional
        The ops to cover (default :data:`VOCABULARY`).
    register : bool
        Put the table in :data:`REGISTRY` (default True).

    Raises
    ------
    MissingHandlerError
        If an op has no handler, a key is not an op of the vocabulary, or a handler is not callable.
    """

    __slots__ = ("name", "module", "_table")

    def __init__(self, name: str, handlers: Mapping, *, vocabulary: Iterable | None = None, register: bool = True,
                 module: str | None = None):
        vocab = VOCABULARY if vocabulary is None else tuple(vocabulary)
        missing = [op for op in vocab if op not in handlers]
        unknown = [k for k in handlers if k not in vocab]
        if missing or unknown:
            parts = []
            if missing:
                parts.append("no handler for " + ", ".join(str(getattr(op, "value", op)) for op in missing))
            if unknown:
                parts.append("unknown key(s) " + ", ".join(map(repr, unknown)))
            raise MissingHandlerError(f"handler table {name!r}: {'; '.join(parts)} (every op needs one handler)")
        for op, fn in handlers.items():
            if not callable(fn):
                raise MissingHandlerError(f"handler table {name!r}: the handler of {op} is not callable")
        self.name = name
        self.module = module if module is not None else sys._getframe(1).f_globals.get("__name__", "?")
        self._table = {op: handlers[op] for op in vocab}
        if register:
            old = REGISTRY.get(name)
            if old is not None and old.module != self.module:
                raise ToolkitBugError(f"two handler tables are named {name!r} ({old.module}, {self.module})")
            REGISTRY[name] = self

    def __getitem__(self, op) -> Callable:
        return self._table[op]

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f"<Handlers {self.name!r} from {self.module}>"

    def extended(self, name: str, **handlers) -> "Handlers":
        """A new registered table ``name``: this one with some handlers replaced (keyword = op name,
        e.g. ``RELU=fn``)."""
        table = dict(self._table)
        for key, fn in handlers.items():
            table[Op[key]] = fn
        return Handlers(name, table, module=sys._getframe(1).f_globals.get("__name__", "?"))


def walk(net, handlers: Handlers, ctx: Any = None, *, nodes: Iterable | None = None, values: dict | None = None,
         deadline=None, doing: str = "") -> dict:
    """Visit every node of ``net`` in topological order and store ``handler(ctx, net, node, values)``.

    ``nodes`` restricts the walk to some nodes (given in topological order); ``values`` continues a walk.
    ``deadline`` (a :class:`~verify.deadline.Deadline`) is checked before every node: a walk over a large
    network is a loop that can run long; its :class:`~verify.errors.DeadlineExpired` says ``doing``.
    Returns the ``values`` dict (node -> what its handler returned).

    >>> from verify.constructions import max_tree
    >>> from verify.ir.ops import Op
    >>> count = Handlers("doc.count", {op: (lambda c, n, v, vals: 1 + sum(vals[p] for p in n.preds(v)))
    ...                               for op in Op}, register=False)
    >>> net = max_tree(2, "skip")
    >>> walk(net, count)[net.outputs[0]] > 1
    True
    """
    table = handlers._table
    values = {} if values is None else values
    check = deadline.check if deadline is not None and deadline.seconds is not None else None
    what = doing or f"walking the network ({handlers.name})"
    if nodes is None:
        for node, op in net.ops:
            if check is not None:
                check(what)
            values[node] = table[op](ctx, net, node, values)
    else:
        op_of = net.op
        for node in nodes:
            if check is not None:
                check(what)
            values[node] = table[op_of(node)](ctx, net, node, values)
    return values


def walk_reverse(net, handlers: Handlers, ctx: Any = None) -> Any:
    """Visit every node in reverse topological order, calling ``handler(ctx, net, node, None)`` (reverse-mode
    walks such as autodiff accumulate into ``ctx``); returns ``ctx``."""
    table = handlers._table
    for node, op in reversed(net.ops):
        table[op](ctx, net, node, None)
    return ctx


def plan(net, handlers: Handlers, ctx: Any = None) -> list:
    """The steps a compiling table returns for every node, in topological order (nodes whose handler
    returns ``None`` contribute no step)."""
    values = walk(net, handlers, ctx)
    return [values[n] for n in net.order if values[n] is not None]


def all_tables() -> dict[str, Handlers]:
    """Every handler table of the toolkit, by name (imports :data:`TABLE_MODULES` first)."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return dict(REGISTRY)
