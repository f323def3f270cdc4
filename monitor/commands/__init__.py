"""One module per ``crowd-monitor`` verb, each with ``add_arguments(parser)`` and ``run(args)``."""
