"""``python -m verify ...``: the same program as ``verify`` and ``python -m verify.cli``."""

from .cli import main

__all__: list = []

if __name__ == "__main__":
    raise SystemExit(main())
