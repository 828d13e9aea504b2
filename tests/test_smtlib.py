"""SMT-LIB export: re-checked by z3 (parsing the text) and by cvc5, with the toolkit's verdicts."""

from fractions import Fraction as F

import pytest

from verify.analysis import Status, check_exact, reference_network, worst_case_error
from verify.backends.evaluator import evaluate
from verify.backends.z3_backend import z3
from verify.constructions import max_tree, mean_network, pool2d, truncated_tree
from verify.domain import Box
from verify.io.smtlib import equivalence_query, exactness_query, smt_number, threshold_query
from verify.ir.builder import GraphBuilder


def z3_answer(text):
    s = z3.Solver()
    s.add(z3.parse_smt2_string(text))
    return str(s.check())


def perturbed_tree(d=4, gadget="A", eps=F(1, 64)):
    """The max tree with one extra output bias: wrong everywhere by eps."""
    b = GraphBuilder(d)
    from verify.constructions.max_trees import tree_max_expr
    b.output(tree_max_expr(b, b.input_exprs(), gadget) + eps)
    return b.build(name="perturbed tree")


def test_numbers_are_exact():
    for q in [F(0), F(3), F(-3), F(1, 3), F(-7, 12), F(10 ** 30 + 1, 3)]:
        text = f"(declare-const v Real)(assert (= v {smt_number(q)}))"
        s = z3.Solver()
        s.add(z3.parse_smt2_string(text))
        assert s.check() == z3.sat
        from verify.backends.z3_backend import from_z3
        assert from_z3(s.model().eval(z3.Real("v"))) == q


IDS = ["tree4A-reals", "tree5B-box", "pool3x3-skip", "max-node-reals", "perturbed-reals", "mean3-box"]
CASES = [
    (max_tree(4, "A"), None, "unsat"),
    (max_tree(5, "B"), Box.cube(5, -1, 1), "unsat"),
    (pool2d(3, 3, 2, 1, "skip"), Box.cube(9), "unsat"),
    (reference_network(max_tree(3)), None, "unsat"),  # max nodes exported as ite chains
    (perturbed_tree(), None, "sat"),
    (mean_network(3), Box.cube(3), "sat"),
]


@pytest.mark.parametrize("net,domain,verdict", CASES, ids=IDS)
def test_exactness_query_verdicts_z3(net, domain, verdict):
    ours = check_exact(net, domain).status
    assert (ours is Status.PROVED) == (verdict == "unsat")
    assert z3_answer(exactness_query(net, domain)) == verdict


@pytest.mark.parametrize("net,domain,verdict", CASES, ids=IDS)
def test_exactness_query_verdicts_cvc5(net, domain, verdict):
    pytest.importorskip("cvc5")
    from verify.io.smtlib import run_cvc5
    assert run_cvc5(exactness_query(net, domain)) == verdict


def test_exported_definitions_evaluate_like_the_network():
    # Meaning, not strings: pin the inputs to a rational point and assert the exported output differs
    # from the exact evaluator's value; unsat means the exported function takes exactly that value.
    net = truncated_tree(5, 1, "B")
    text = exactness_query(net)
    out_name = next(l.split()[1] for l in text.splitlines() if l.endswith("output y0"))
    for p in [(F(1, 3), F(-2, 7), 5, 0, F(9, 4)), (0, 0, 0, 0, 0), (-1, 2, -3, 4, -5)]:
        v = evaluate(net, p)[0]
        pins = "".join(f"(assert (= x{i} {smt_number(F(c))}))" for i, c in enumerate(p))
        body = text.replace("(check-sat)", pins + f"(assert (distinct {out_name} {smt_number(v)}))\n(check-sat)")
        assert z3_answer(body) == "unsat"


def test_threshold_query_brackets_the_exact_error():
    # mean of 3 on [0,1]^3: sup(max - mean) = 2/3 exactly (seed paper, R = {0}: (d-1)/d).
    net, box = mean_network(3), Box.cube(3)
    e = worst_case_error(net, box).sup_under
    assert e == F(2, 3)
    assert z3_answer(threshold_query(net, box, e, "under")) == "unsat"
    assert z3_answer(threshold_query(net, box, e - F(1, 1000), "under")) == "sat"
    assert z3_answer(threshold_query(net, box, 0, "over")) == "unsat"  # the mean never exceeds the max
    pytest.importorskip("cvc5")
    from verify.io.smtlib import run_cvc5
    assert run_cvc5(threshold_query(net, box, e, "abs")) == "unsat"
    assert run_cvc5(threshold_query(net, box, e - F(1, 1000), "abs")) == "sat"


def test_equivalence_query():
    a, b = max_tree(4, "A"), max_tree(4, "skip")
    assert z3_answer(equivalence_query(a, b)) == "unsat"
    assert z3_answer(equivalence_query(a, perturbed_tree())) == "sat"


def test_every_op_has_an_smt_printer():
    from verify.io.smtlib import SMT_HANDLED_OPS
    from verify.ir.ops import Op
    assert SMT_HANDLED_OPS == frozenset(Op)
