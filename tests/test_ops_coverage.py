"""Every op of the closed vocabulary has a handler in every handler table (DESIGN.md, habit 2).

The tables are found through the walker's registry (``verify.ir.walk.all_tables``), not listed here, so a
new table is covered as soon as it exists; a fake op shows that an incomplete table cannot be built.
"""

import importlib
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import verify
from verify.backends.evaluator import EXACT_HANDLERS
from verify.backends.z3_backend import Z3_LOWERING
from verify.ir import Op
from verify.ir.walk import REGISTRY, TABLE_MODULES, Handlers, MissingHandlerError, all_tables

ROOT = Path(__file__).resolve().parents[1]


def _all_verify_modules():
    out = []
    for info in pkgutil.walk_packages(verify.__path__, "verify."):
        out.append(info.name)
    return out


TABLES = all_tables()


def test_evaluator_handles_every_op():
    assert set(EXACT_HANDLERS) == set(Op)


def test_z3_lowering_handles_every_op():
    assert set(Z3_LOWERING) == set(Op)
    for fn in Z3_LOWERING.values():
        assert callable(fn)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_covers_every_op(name):
    table = TABLES[name]
    assert set(table) == set(Op), name
    assert all(callable(table[op]) for op in Op)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_new_op_makes_every_table_fail_to_build(name):
    with pytest.raises(MissingHandlerError, match=f"{name}.*no handler for fake-op"):
        Handlers(name, dict(TABLES[name]), vocabulary=tuple(Op) + ("fake-op",), register=False)


def test_adding_an_op_breaks_the_toolkit_at_import():
    # In a fresh interpreter, extend the vocabulary before any table is built (the walker is loaded with
    # stub parent packages, so that verify/__init__ has not run yet): importing the toolkit must then
    # fail, because tables are checked when they are built, not when they are used.
    code = textwrap.dedent(f"""
        import sys, types
        for name, path in (("verify", {str(ROOT / "verify")!r}), ("verify.ir", {str(ROOT / "verify" / "ir")!r})):
            stub = types.ModuleType(name)
            stub.__path__ = [path]
            sys.modules[name] = stub
        import verify.ir.walk as w
        w.VOCABULARY = tuple(w.VOCABULARY) + ("fake-op",)
        del sys.modules["verify"], sys.modules["verify.ir"]
        try:
            import verify.cli
        except w.MissingHandlerError as exc:
            print("REFUSED:", exc)
        else:
            print("IMPORTED")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert "REFUSED:" in out.stdout and "no handler for fake-op" in out.stdout, out.stdout + out.stderr


def test_incomplete_and_unknown_keys_are_refused():
    handlers = dict(EXACT_HANDLERS)
    del handlers[Op.MAX]
    with pytest.raises(MissingHandlerError, match="max"):
        Handlers("test.incomplete", handlers, register=False)
    with pytest.raises(MissingHandlerError, match="unknown key"):
        Handlers("test.extra", {**dict(EXACT_HANDLERS), "relu6": lambda *a: 0}, register=False)
    with pytest.raises(MissingHandlerError, match="not callable"):
        Handlers("test.callable", {**dict(EXACT_HANDLERS), Op.RELU: "relu"}, register=False)


def test_every_table_lives_in_a_listed_module_and_every_listed_module_has_one():
    for name in _all_verify_modules():
        importlib.import_module(name)
    modules = {t.module for t in REGISTRY.values()}
    assert modules <= set(TABLE_MODULES), sorted(modules - set(TABLE_MODULES))
    assert set(TABLE_MODULES) <= modules, sorted(set(TABLE_MODULES) - modules)
