"""Run the README's Python and sympy sessions as doctests."""

import doctest
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "README.md"


def test_sympy_session_doctest():
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10  # the session was found and run
    assert result.failed == 0
