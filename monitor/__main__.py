"""``python -m monitor`` is the ``crowd-monitor`` command."""

from .cli import main

raise SystemExit(main())
