"""Replacing the worker's engine while it runs: offered from any thread, adopted between batches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from engines.base import Engine

log = logging.getLogger("monitor.pipeline")


class EngineSwap:
    """At most one engine waiting to replace the worker's; the worker adopts it before its next batch.

    The worker alone closes the engine it replaces, after the batch in flight: no call ever runs on
    a closed engine, and every batch runs on one engine from start to end.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: Engine | None = None
        self._adopted: Callable[[], None] | None = None
        self.swaps = 0

    def offer(self, engine: Engine, on_adopted: Callable[[], None] | None = None) -> None:
        """Run the worker's later batches on ``engine`` (an engine offered before and not adopted is
        closed); ``on_adopted`` is called once the worker runs on it, so reports never run ahead."""
        with self._lock:
            stale, self._next, self._adopted = self._next, engine, on_adopted
        if stale is not None:
            stale.close()

    def adopt(self, current: Engine) -> Engine:
        """The engine to run the next batch on: the offered one (``current`` is then closed), else ``current``."""
        with self._lock:
            new, adopted, self._next, self._adopted = self._next, self._adopted, None, None
        if new is None:
            return current
        self.swaps += 1
        log.info("engine switched from %s to %s between batches", current.name, new.name)
        current.close()
        if adopted is not None:
            adopted()
        return new

    def discard(self) -> None:
        """Close an engine offered but never adopted (the worker has stopped)."""
        with self._lock:
            stale, self._next, self._adopted = self._next, None, None
        if stale is not None:
            stale.close()
