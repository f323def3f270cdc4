"""A camera's state, reason and counters, kept by its reader thread and read by anyone."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import fields, replace
from typing import Callable

from ..types import CameraCounters, CameraState, CameraStatus
from .redact import redact_text

log = logging.getLogger("monitor.sources")

COUNTER_NAMES = tuple(f.name for f in fields(CameraCounters))


class StatusTracker:
    """Thread-safe status of one camera; calls ``on_status`` when the state or reason changes."""

    def __init__(self, camera: str, on_status: Callable[[CameraStatus], None] | None = None):
        self.camera = camera
        self._on_status = on_status
        self._lock = threading.Lock()
        self._status = CameraStatus(camera, CameraState.RECONNECTING, "connecting", time.time())
        self._counts = dict.fromkeys(COUNTER_NAMES, 0)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to one counter (no callback: counters change on every frame)."""
        with self._lock:
            self._counts[name] += n

    def set_counter(self, name: str, value: int) -> None:
        """Set a counter that another object counts (the slot's drops)."""
        with self._lock:
            self._counts[name] = value

    def snapshot(self) -> CameraStatus:
        """The current status with up-to-date counters."""
        with self._lock:
            return replace(self._status, counters=CameraCounters(**self._counts))

    @property
    def state(self) -> CameraState:
        """The current state."""
        return self._status.state

    @property
    def since(self) -> float:
        """Wall-clock time of the last state change."""
        return self._status.since

    def set(self, state: CameraState, reason: str) -> None:
        """Change state and/or reason; reports it (logged, ``on_status``) only when it changed."""
        reason = redact_text(reason)
        with self._lock:
            old = self._status
            if old.state is state and old.reason == reason:
                return
            since = old.since if old.state is state else time.time()
            self._status = CameraStatus(self.camera, state, reason, since)
            current = replace(self._status, counters=CameraCounters(**self._counts))
        level = logging.INFO if state is CameraState.ONLINE or old.state is state else logging.WARNING
        log.log(level, "camera %s: %s (%s)", self.camera, state.value, reason)
        if self._on_status is not None:
            try:
                self._on_status(current)
            except Exception:  # a broken listener must not kill the reader
                log.exception("camera %s: status listener failed", self.camera)
