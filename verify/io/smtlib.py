"""SMT-LIB 2 export of the toolkit's queries, so that another solver can re-check them.

Each query is written in the logic ``QF_LRA`` (linear real arithmetic with ``ite``): one
``define-fun`` per IR node, walked in topological order with one printer per op (table
``smtlib.define-fun``; a ReLU is ``(ite (> p 0) p 0)``, a max node a chain of ``(ite (>= a b) a b)``),
the domain as bounds on the inputs, and one assertion whose satisfiability is the *negation* of the
claim:

- :func:`exactness_query`: ``exists x in D, o: N_o(x) != max_{i in window_o} x_i``; ``unsat`` proves
  the network equals max pooling on ``D`` (the query of :func:`verify.analysis.check_exact`);
- :func:`equivalence_query`: ``exists x in D, o: N_o(x) != M_o(x)``;
- :func:`threshold_query`: ``exists x in box, o: max - N_o(x) > t`` (``side="under"``), ``N_o - max > t``
  (``"over"``) or either (``"abs"``); ``unsat`` proves the worst-case error is at most ``t``.

Numbers are exact: ``(/ 1.0 3.0)``, ``(- 2.0)``. The printer shares nothing with the z3 lowering of
:mod:`verify.backends.z3_backend`, so a solver that agrees with the toolkit's verdict is an independent
check (``tests/test_smtlib.py`` runs cvc5). :func:`run_cvc5` solves a query with cvc5's Python API
(optional extra ``cvc5``).
"""

from __future__ import annotations

from fractions import Fraction

from ..domain import Box, RealSpace
from ..errors import MissingExtraError, VerifyError
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk
from ..numbers import smt_number, to_text

__all__ = ["smt_number", "network_definitions", "exactness_query", "equivalence_query", "threshold_query",
           "run_cvc5", "SMT_HANDLED_OPS"]


def _max_chain(sym: str, args: list[str], lines: list[str], note: str) -> str:
    """Define ``sym`` as the max of ``args`` through named partial maxima (no term is copied twice)."""
    acc = args[0]
    for j, t in enumerate(args[1:], start=1):
        name = sym if j == len(args) - 1 else f"{sym}_p{j}"
        lines.append(f"(define-fun {name} () Real (ite (>= {acc} {t}) {acc} {t})){note if name == sym else ''}")
        acc = name
    if len(args) == 1:
        lines.append(f"(define-fun {sym} () Real {acc}){note}")
    return sym


class _Printer:
    """What the walk carries: the input names, the symbol prefix, the lines written so far."""

    def __init__(self, net: Network, prefix: str, inputs: list[str]):
        self.prefix, self.inputs, self.lines = prefix, inputs, []
        self.position = {n: k for k, n in enumerate(net.order)}

    def define(self, node, op, body: str) -> str:
        sym = f"{self.prefix}_{self.position[node]}"
        self.lines.append(f"(define-fun {sym} () Real {body}) ; {op.value} {node}")
        return sym


def _input(pr: _Printer, net, node, name):
    return pr.inputs[net.graph.nodes[node]["index"]]


def _affine(pr: _Printer, net, node, name):
    terms = []
    for p, w in net.affine_terms(node):
        terms.append(name[p] if w == 1 else f"(* {smt_number(w)} {name[p]})")
    b = net.bias(node)
    if b != 0 or not terms:
        terms.append(smt_number(b))
    return pr.define(node, Op.AFFINE, terms[0] if len(terms) == 1 else f"(+ {' '.join(terms)})")


def _relu(pr: _Printer, net, node, name):
    p = name[net.single_pred(node)]
    return pr.define(node, Op.RELU, f"(ite (> {p} 0.0) {p} 0.0)")


def _max(pr: _Printer, net, node, name):
    sym = f"{pr.prefix}_{pr.position[node]}"
    return _max_chain(sym, [name[p] for p in net.preds(node)], pr.lines, f" ; max {node}")


def _output(pr: _Printer, net, node, name):
    return pr.define(node, Op.OUTPUT, name[net.single_pred(node)])


SMTLIB_DEFINITIONS = Handlers("smtlib.define-fun", {Op.INPUT: _input, Op.AFFINE: _affine, Op.RELU: _relu,
                                                    Op.MAX: _max, Op.OUTPUT: _output})
SMT_HANDLED_OPS = frozenset(SMTLIB_DEFINITIONS)


def network_definitions(net: Network, prefix: str, inputs: list[str]) -> tuple[list[str], list[str]]:
    """``define-fun`` lines for every node of ``net`` and the names of its outputs.

    Node names are ``{prefix}_{k}`` (k the position in topological order), whatever ids the graph uses;
    a comment names the original node id. Inputs are the given names; a max node is a chain of named
    partial maxima.
    """
    pr = _Printer(net, prefix, inputs)
    name = walk(net, SMTLIB_DEFINITIONS, pr)
    return pr.lines, [name[o] for o in net.outputs]


def _header(comment: str, d: int) -> list[str]:
    lines = [f"; {line}" for line in comment.splitlines()]
    lines += ["(set-info :smt-lib-version 2.6)", "(set-logic QF_LRA)"]
    lines += [f"(declare-const x{i} Real)" for i in range(d)]
    return lines


def _domain_lines(domain, d: int) -> list[str]:
    if domain is None or isinstance(domain, RealSpace):
        return []
    if domain.dim != d:
        raise VerifyError(f"domain has dimension {domain.dim}, the network has {d} inputs")
    return [f"(assert (and (>= x{i} {smt_number(lo)}) (<= x{i} {smt_number(hi)})))"
            for i, (lo, hi) in enumerate(zip(domain.lo, domain.hi))]


def _describe(domain, d) -> str:
    return (domain or RealSpace(d)).describe()


def _reference_lines(net: Network, inputs: list[str]) -> tuple[list[str], list[str]]:
    windows = net.windows
    if windows is None:
        raise VerifyError("the network has several outputs but no 'windows': say which inputs each output should be the max of")
    lines, names = [], []
    for o, w in enumerate(windows):
        names.append(_max_chain(f"ref_{o}", [inputs[i] for i in w], lines, f" ; max over window {o}"))
    return lines, names


def _either(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"(or {' '.join(parts)})"


def exactness_query(net: Network, domain: Box | RealSpace | None = None) -> str:
    """SMT-LIB text, ``unsat`` iff ``net`` equals max over each output's window on ``domain``.

    >>> from verify.constructions import max_tree
    >>> "(check-sat)" in exactness_query(max_tree(2, "skip"))
    True
    """
    d = net.n_inputs
    xs = [f"x{i}" for i in range(d)]
    defs, outs = network_definitions(net, "n", xs)
    ref, refs = _reference_lines(net, xs)
    lines = _header(f"verify: exactness of {net.name or 'network'} against max pooling on {_describe(domain, d)}\n"
                    f"sat: a point where an output differs from the max of its window; unsat: exact", d)
    lines += defs + ref + _domain_lines(domain, d)
    lines.append(f"(assert {_either([f'(distinct {a} {b})' for a, b in zip(outs, refs)])})")
    lines += ["(check-sat)", "(exit)"]
    return "\n".join(lines) + "\n"


def equivalence_query(net1: Network, net2: Network, domain: Box | RealSpace | None = None) -> str:
    """SMT-LIB text, ``unsat`` iff the two networks agree on every output everywhere on ``domain``."""
    if net1.n_inputs != net2.n_inputs or net1.n_outputs != net2.n_outputs:
        raise VerifyError("networks have different shapes")
    d = net1.n_inputs
    xs = [f"x{i}" for i in range(d)]
    d1, o1 = network_definitions(net1, "a", xs)
    d2, o2 = network_definitions(net2, "b", xs)
    lines = _header(f"verify: equivalence of {net1.name or 'network 1'} and {net2.name or 'network 2'} on "
                    f"{_describe(domain, d)}\nsat: a point where they differ; unsat: equal", d)
    lines += d1 + d2 + _domain_lines(domain, d)
    lines.append(f"(assert {_either([f'(distinct {a} {b})' for a, b in zip(o1, o2)])})")
    lines += ["(check-sat)", "(exit)"]
    return "\n".join(lines) + "\n"


def threshold_query(net: Network, box: Box, threshold, side: str = "abs") -> str:
    """SMT-LIB text, ``unsat`` iff the worst-case error on ``box`` is at most ``threshold``.

    ``side="under"``: max - N > t somewhere; ``"over"``: N - max > t; ``"abs"``: either. With the exact
    worst-case error ``e`` of :func:`verify.analysis.worst_case_error`, the query is ``unsat`` for
    ``t = e`` and ``sat`` for any ``t < e`` (the supremum is attained).
    """
    if side not in ("under", "over", "abs"):
        raise VerifyError(f"unknown side {side!r} (choose under, over or abs)")
    if not isinstance(box, Box):
        raise VerifyError("a threshold query needs a box")
    t = Fraction(threshold)
    d = net.n_inputs
    xs = [f"x{i}" for i in range(d)]
    defs, outs = network_definitions(net, "n", xs)
    ref, refs = _reference_lines(net, xs)
    lines = _header(f"verify: worst-case error of {net.name or 'network'} against max pooling on {box.describe()}\n"
                    f"sat: a point where the error ({side}) exceeds {to_text(t)}; unsat: the error is at most {to_text(t)}", d)
    lines += defs + ref + _domain_lines(box, d)
    parts = []
    for y, r in zip(outs, refs):
        if side in ("under", "abs"):
            parts.append(f"(> (- {r} {y}) {smt_number(t)})")
        if side in ("over", "abs"):
            parts.append(f"(> (- {y} {r}) {smt_number(t)})")
    lines.append(f"(assert {_either(parts)})")
    lines += ["(check-sat)", "(exit)"]
    return "\n".join(lines) + "\n"


def run_cvc5(text: str, timeout: float | None = None) -> str:
    """Solve SMT-LIB text with cvc5 (Python API); returns ``"sat"``, ``"unsat"`` or ``"unknown"``."""
    try:
        import cvc5
    except ImportError:
        raise MissingExtraError("cvc5 is not installed: pip install 'verify[cvc5]'") from None
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    if timeout is not None:
        solver.setOption("tlimit-per", str(max(1, int(timeout * 1000))))
    parser = cvc5.InputParser(solver)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, text, "verify-query")
    sm = parser.getSymbolManager()
    answers = []
    while True:
        cmd = parser.nextCommand()
        if cmd.isNull():
            break
        out = cmd.invoke(solver, sm).strip()
        if out in ("sat", "unsat", "unknown"):
            answers.append(out)
    if len(answers) != 1:
        raise VerifyError(f"expected one check-sat answer from cvc5, got {answers}")
    return answers[0]
