"""Run the interactive sympy session of the README section as a doctest.

The session lives in docs/issue7.md until it is merged into README.md; point DOC at README.md then.
"""

import doctest
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "issue7.md"


def test_sympy_session_doctest():
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10  # the session was found and run
    assert result.failed == 0
