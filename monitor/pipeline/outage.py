"""A model server that is slow or gone: a reading gap with backoff, not a crash or stale counts."""

from __future__ import annotations

import logging
import time

from ..backoff import Backoff
from ..types import ReadingGap

log = logging.getLogger("monitor.pipeline")


class EngineOutage:
    """Whether the engine is reachable; while not, when to try again and what the gap has cost.

    Frames taken while waiting are dropped and counted per camera (``gap_frames``), so a camera's
    next reading is from a frame captured after the server came back, never an old one.
    """

    def __init__(self, initial_s: float = 0.5, maximum_s: float = 30.0, clock=time.monotonic, wall=time.time):
        self._backoff = Backoff(initial_s, maximum_s)
        self._clock, self._wall = clock, wall
        self.since: float | None = None  # monotonic start of the current gap; None: engine up
        self.since_ts: float | None = None  # ... on the wall clock, for MQTT
        self._at_start: dict[str, int] = {}  # gap_frames when the current gap began
        self.reason: str | None = None
        self.retry_at = 0.0
        self.gaps = 0  # gaps since start
        self.gap_frames: dict[str, int] = {}

    @property
    def down(self) -> bool:
        """True while the engine is unreachable."""
        return self.since is not None

    def waiting(self) -> bool:
        """True while down and the next attempt is not due yet."""
        return self.down and self._clock() < self.retry_at

    def failed(self, exc: Exception) -> None:
        """An engine call failed because the server is slow or gone: start or extend the gap."""
        now = self._clock()
        if self.since is None:
            self.since, self.since_ts, self.gaps = now, self._wall(), self.gaps + 1
            self._at_start = dict(self.gap_frames)
            log.warning("model server unreachable, readings paused: %s", exc)
        self.reason = str(exc)
        delay = self._backoff.next_delay()
        self.retry_at = now + delay
        log.debug("model server: attempt %d failed, next in %.1f s", self._backoff.attempts, delay)

    def succeeded(self) -> None:
        """An engine call worked: end the gap, if any."""
        if self.since is None:
            return
        log.warning("model server back after %.1f s; %d frame(s) were not counted", self._clock() - self.since,
                    sum(self.gap_frames.values()))
        self.since, self.since_ts, self.reason = None, None, None
        self._backoff.reset()

    def dropped(self, camera: str) -> None:
        """A frame of ``camera`` taken during the gap and not counted."""
        self.gap_frames[camera] = self.gap_frames.get(camera, 0) + 1

    def forget(self, camera: str) -> None:
        """Drop the figures of a removed camera."""
        self.gap_frames.pop(camera, None)

    def gap_of(self, camera: str) -> ReadingGap | None:
        """The current gap as ``camera`` sees it (None while the engine is up); read from any thread."""
        since = self.since_ts
        if since is None:
            return None
        frames = self.gap_frames.get(camera, 0) - self._at_start.get(camera, 0)
        return ReadingGap(since, self.reason or "", max(0, frames))

    def status(self) -> dict:
        """Plain figures for stats, /healthz and MQTT: up, gap seconds, retry in, reason, gaps."""
        now = self._clock()
        return {"up": not self.down, "gap_s": round(now - self.since, 3) if self.down else None,
                "retry_in_s": round(max(0.0, self.retry_at - now), 3) if self.down else None,
                "reason": self.reason, "gaps": self.gaps, "gap_frames": sum(self.gap_frames.values())}
