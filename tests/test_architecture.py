"""The shape of the code, checked on its source (issue 12): one session per solver, no dispatch chains
over ops, no import cycle, no module over 800 lines.

Everything is read with ``ast`` from the files of ``verify/``, so the checks do not depend on what a test
happens to import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PKG = Path(__file__).resolve().parents[1] / "verify"
FILES = sorted(p for p in PKG.rglob("*.py"))


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in FILES}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path, *, module_level_only: bool) -> set[str]:
    """Modules of verify that ``module`` imports (at module level only, or anywhere, inside functions too)."""
    out = set()
    is_pkg = path.name == "__init__.py"
    tree = _tree(path)
    if module_level_only:
        nodes = []
        for node in tree.body:
            nodes += list(ast.walk(node)) if isinstance(node, (ast.If, ast.Try)) else [node]
    else:
        nodes = list(ast.walk(tree))
    for st in nodes:
        if isinstance(st, ast.Import):
            out |= {a.name for a in st.names if a.name.startswith("verify")}
        elif isinstance(st, ast.ImportFrom):
            target = _resolve(module, is_pkg, st)
            if not target.startswith("verify"):
                continue
            for a in st.names:  # "from . import x" imports the submodule x
                sub = f"{target}.{a.name}"
                out.add(sub if sub in MODULES else target)
    return {m for m in out if m in MODULES}


def _import_graph(module_level_only: bool) -> nx.DiGraph:
    g = nx.DiGraph()
    for module, path in MODULES.items():
        g.add_node(module)
        for target in _imports(module, path, module_level_only=module_level_only):
            # importing a.b.c also runs the package a.b first; a package importing its own submodules
            # is the usual shape and not a cycle of topics, so edges into a parent package are skipped
            if module.startswith(target + "."):
                continue
            g.add_edge(module, target)
    return g


@pytest.mark.parametrize("module_level_only", [True, False], ids=["module-level", "with-lazy-imports"])
def test_no_import_cycle_inside_verify(module_level_only):
    # Data flows one way (DESIGN.md): not even a lazy import inside a function may go back up.
    cycles = list(nx.simple_cycles(_import_graph(module_level_only)))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles[:5])


def test_no_module_over_800_lines():
    long = {m: len(p.read_text().splitlines()) for m, p in MODULES.items() if len(p.read_text().splitlines()) > 800}
    assert not long, long


Z3_MAKERS = {"Context", "Solver", "Optimize", "SolverFor", "SimpleSolver", "Fixedpoint"}


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node


@pytest.mark.parametrize("module", sorted(MODULES))
def test_z3_contexts_and_solvers_are_made_in_one_module(module):
    if module == "verify.backends.z3_session":
        return
    for call in _calls(_tree(MODULES[module])):
        f = call.func
        if f.attr in Z3_MAKERS and isinstance(f.value, ast.Name) and f.value.id in ("z3", "_z3"):
            pytest.fail(f"{module} line {call.lineno}: z3.{f.attr}(...) outside verify.backends.z3_session")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_highs_is_driven_from_one_module(module):
    if module == "verify.backends.highs_session":
        return
    text = MODULES[module].read_text()
    for node in ast.walk(_tree(MODULES[module])):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for n in names:
            assert not n.startswith("highspy") and not n.startswith("scipy.optimize"), \
                f"{module} line {node.lineno}: imports {n} (HiGHS is driven by verify.backends.highs_session)"
    assert "__import__(\"highspy\")" not in text


def _compares_op(test) -> bool:
    """Does an ``if`` test compare something with a member of ``Op`` (``x is Op.RELU``, ``op == Op.MAX``)?"""
    for node in ast.walk(test):
        if isinstance(node, ast.Compare):
            for side in [node.left] + node.comparators:
                if isinstance(side, ast.Attribute) and isinstance(side.value, ast.Name) and side.value.id == "Op":
                    return True
    return False


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_if_elif_dispatch_over_ops(module):
    # A walk dispatches through a handler table (verify.ir.walk), never through an if/elif chain on ops
    # (which would silently send a new op to whichever branch comes last).
    for node in ast.walk(_tree(MODULES[module])):
        if isinstance(node, ast.If) and _compares_op(node.test) and node.orelse:
            nxt = node.orelse[0] if len(node.orelse) == 1 else None
            if isinstance(nxt, ast.If) and _compares_op(nxt.test):
                pytest.fail(f"{module} line {node.lineno}: an if/elif chain over ops (use a handler table)")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_states_its_public_names(module):
    import importlib

    m = importlib.import_module(module)
    assert hasattr(m, "__all__"), f"{module} has no __all__"
    missing = [n for n in m.__all__ if not hasattr(m, n)]
    assert not missing, f"{module}.__all__ names undefined {missing}"
