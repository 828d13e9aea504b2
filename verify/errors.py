"""One exception tree for the whole toolkit.

Every error the toolkit raises on purpose derives from :class:`VerifyError`, so a caller (and the CLI)
can catch one class. Messages name the offending place (file, layer, row, node) so that the CLI can
print them as a single line.
"""

from __future__ import annotations

__all__ = [
    "VerifyError",
    "NetworkFormatError",
    "GraphError",
    "DomainError",
    "UnsupportedOpError",
    "MissingExtraError",
    "ResourceLimitError",
    "OutputPathError",
    "FloatRangeError",
    "SolverUnknownError",
    "DeadlineExpired",
    "ToolkitBugError",
]


class VerifyError(Exception):
    """Root of every error raised on purpose by the toolkit."""


class NetworkFormatError(VerifyError, ValueError):
    """A network file or mapping does not follow its declared format.

    ``where`` is a human-readable place ("layer 2, row 3"), ``source`` the file name if known.
    """

    def __init__(self, message: str, *, where: str | None = None, source: str | None = None):
        self.message = message
        self.where = where
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [p for p in (self.source, self.where) if p]
        return ": ".join(parts + [self.message])

    def located(self, source: str) -> "NetworkFormatError":
        """The same error with the file name filled in (when it was not known where it was raised)."""
        return NetworkFormatError(self.message, where=self.where, source=self.source or source)


class GraphError(VerifyError, ValueError):
    """An IR graph breaks an invariant checked by :func:`verify.ir.check_graph`."""


class DomainError(VerifyError, ValueError):
    """A domain (box) is malformed: wrong syntax, LO > HI, non-finite ends, wrong dimension."""


class UnsupportedOpError(VerifyError, ValueError):
    """An operator that the IR (or an importer) does not support."""


class MissingExtraError(VerifyError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class ResourceLimitError(VerifyError):
    """A requested object would exceed a stated size limit (stated before anything is built)."""


class OutputPathError(VerifyError, ValueError):
    """An output path the command cannot write to (checked before any work is done)."""


class FloatRangeError(VerifyError, ValueError):
    """Numbers beyond what a float-guided route can use (weights, box ends or node values above
    :data:`verify.backends.float_range.FLOAT_LIMIT`); the exact routes take them."""


class SolverUnknownError(VerifyError):
    """A solver gave no answer (``unknown`` or a timeout) where a computation needed one: no verdict.

    The CLI exits with code 3 (unknown), the catalogue reports UNKNOWN, never FAIL.
    """


class DeadlineExpired(SolverUnknownError):
    """The budget of a query ran out inside a long computation (raised by
    :meth:`verify.deadline.Deadline.check`): no verdict, exit code 3. Queries catch it where they can
    still report what they know (lower bounds attained at witnesses, sound upper bounds)."""


class ToolkitBugError(VerifyError, AssertionError):
    """An internal consistency check failed: a result contradicts exact evaluation or a theorem.

    This is never a property of the user's input; it means the toolkit itself is wrong.
    """
