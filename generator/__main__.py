"""``python -m generator``: the same as the ``sdkforge`` command."""

from .cli import main

raise SystemExit(main())
