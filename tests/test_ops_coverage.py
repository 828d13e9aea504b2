"""Every op of the closed vocabulary has a handler in every backend (DESIGN.md, habit 2)."""

from verify.backends.evaluator import EXACT_HANDLERS
from verify.backends.z3_backend import Z3Lowering
from verify.ir import Op


def test_evaluator_handles_every_op():
    assert set(EXACT_HANDLERS) == set(Op)


def test_z3_lowering_handles_every_op():
    assert set(Z3Lowering.HANDLERS) == set(Op)
    for name in Z3Lowering.HANDLERS.values():
        assert callable(getattr(Z3Lowering, name))
