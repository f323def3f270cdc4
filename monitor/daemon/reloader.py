"""Config reloads off the main loop: the file is read and checked in a thread, with a deadline.

The loader bounds its own work (file size, YAML nodes, polygon points), but the main loop feeds
the watchdog and the alert state machines, so it never waits for a file: it asks for a reload,
keeps running, and takes the outcome when it is ready.  A load past the deadline counts as failed
(the running config stays); its thread is left to end by itself and its result is ignored, and
the next reload waits for it, so at most one file is ever being read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import ConfigError, MonitorConfig, load_config

log = logging.getLogger("monitor.daemon")
RELOAD_DEADLINE_S = 30.0


@dataclass(frozen=True)
class Loaded:
    """What one load gave: a config, or why there is none (``FILE:LINE: key.path: message`` lines)."""

    config: MonitorConfig | None
    error: str | None = None


class Reloader:
    """Loads ``path`` in a background thread on request; ``poll()`` from the main loop takes the outcome."""

    def __init__(self, path: str, load: Callable[[str], MonitorConfig] = load_config,
                 deadline_s: float = RELOAD_DEADLINE_S):
        self.path, self._load, self.deadline_s = path, load, deadline_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._result: Loaded | None = None
        self._started = 0.0
        self._abandoned = False  # the running thread is past its deadline: its result is ignored
        self._pending = False  # asked again while a load was running
        self._record: dict[str, Any] = {"ok": 0, "failed": 0, "last_error": None, "last_failed_at": None}

    @property
    def busy(self) -> bool:
        """A load is running (possibly one past its deadline)."""
        with self._lock:
            return self._thread is not None

    def request(self) -> None:
        """Start reading the file, or read it again once the load in progress ends."""
        with self._lock:
            if self._thread is not None:
                self._pending = True
                return
            self._start()

    def _start(self) -> None:
        """Start a load thread. Hold the lock."""
        self._result, self._abandoned, self._pending = None, False, False
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="config-reload", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            result = Loaded(self._load(self.path))
        except ConfigError as exc:
            result = Loaded(None, str(exc))
        except Exception as exc:  # MemoryError, RecursionError, a bug: never out of the daemon
            log.debug("config reload failed unexpectedly", exc_info=True)
            result = Loaded(None, f"{self.path}: cannot load the file: {type(exc).__name__}: {exc}")
        with self._lock:
            self._result = result

    def poll(self) -> Loaded | None:
        """The outcome of the load in progress once there is one (a timeout counts as a failure)."""
        with self._lock:
            if self._thread is None:
                return None
            if self._result is not None:
                result, abandoned = self._result, self._abandoned
                self._thread = None
                if self._pending:
                    self._start()
                return None if abandoned else result
            if self._abandoned or time.monotonic() - self._started < self.deadline_s:
                return None
            self._abandoned = True
        return Loaded(None, f"{self.path}: reading and checking the file took more than {self.deadline_s:g} s")

    def finished(self, error: str | None) -> None:
        """Record how a reload ended (after the main loop applied or rejected it)."""
        with self._lock:
            if error is None:
                self._record.update(ok=self._record["ok"] + 1, last_error=None)
            else:
                self._record.update(failed=self._record["failed"] + 1, last_error=error,
                                    last_failed_at=time.time())

    def status(self) -> dict[str, Any]:
        """Counts of applied and failed reloads, the latest failure (cleared by a success), in progress."""
        with self._lock:
            return {**self._record, "in_progress": self._thread is not None and not self._abandoned}
