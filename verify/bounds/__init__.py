"""The theorem catalogue: :mod:`.catalogue` (claims, snapshot), one family per ``claims_*.py``, the
formulas of :mod:`.depth` and :mod:`.regions`, and :mod:`.citations`."""

__all__: list[str] = []
