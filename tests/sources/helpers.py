"""Running a CameraReader in tests: collect statuses, wait for states, always stop."""

from __future__ import annotations

import threading
import time

from monitor.config.camera import CameraConfig
from monitor.pipeline import LatestFrameSlot
from monitor.sources import CameraReader
from monitor.types import CameraState, CameraStatus

# Short timeouts and backoff so failure tests run in seconds.
FAST = dict(open_timeout_s=2.0, read_timeout_s=2.0, reconnect_initial_s=0.2, reconnect_max_s=1.0)


class RunningReader:
    """A started reader with the statuses it reported."""

    def __init__(self, url: str, name: str = "cam", capacity: int = 1, **config):
        self.slot = LatestFrameSlot(capacity)
        self.statuses: list[CameraStatus] = []
        self._lock = threading.Lock()
        self.reader = CameraReader(name, CameraConfig(url=url, **{**FAST, **config}), self.slot, self._on_status)

    def _on_status(self, status: CameraStatus) -> None:
        with self._lock:
            self.statuses.append(status)

    def __enter__(self) -> "RunningReader":
        self.started = time.monotonic()
        self.reader.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self.reader.stop(timeout=10.0), "reader thread did not end"

    def wait_state(self, state: CameraState, timeout: float, reason: str | None = None) -> CameraStatus:
        """Wait until the reader reports ``state`` (and ``reason`` in its reason) after its first try."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.reader.status()
            if status.state is state and status.reason != "connecting" and (reason is None or reason in status.reason):
                return status
            time.sleep(0.02)
        raise AssertionError(f"not {state.value} ({reason}) within {timeout} s; last: {self.reader.status()}")

    def frames(self, n: int, timeout: float) -> list:
        """The next ``n`` frames from the slot."""
        got, deadline = [], time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            frame = self.slot.take_wait(0.1)
            if frame is not None:
                got.append(frame)
        assert len(got) == n, f"got {len(got)} of {n} frames in {timeout} s; status {self.reader.status()}"
        return got
