"""The subcommands of ``verify``, one module each (``register(subparsers)``), and :mod:`.render`."""

__all__: list[str] = []
