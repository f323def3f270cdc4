"""The daemon: wires sources -> worker -> engine -> aggregator -> publisher and owns their life cycle."""

from .service import Daemon

__all__ = ["Daemon"]
