"""Running state of one camera and one camera zone between frames (site zones: ``sites``)."""

from __future__ import annotations

from collections import deque

from ..config import CameraConfig, SmoothingConfig
from ..types import CameraReading, CameraState, DensityResult, Level, ZoneState
from .alarm import AlertMachine, Measurement
from .sites import Member
from .smoothing import WindowSmoother

FPS_SAMPLES = 10  # capture times kept per camera to measure its processed frame rate


def stale_after_s(camera: CameraConfig) -> float:
    """No result for this long marks a camera's data stale (a backstop for a stuck pipeline)."""
    return max(2.0 * camera.read_timeout_s, 10.0 / camera.sample_fps)


def latency_ms(result: DensityResult) -> float:
    """Capture to density map, in milliseconds (stage timings when the clocks disagree)."""
    total = result.completed_at - result.frame.captured_at
    if total >= 0:
        return 1000.0 * total
    timings = result.timings
    return timings.queue_ms + timings.preprocess_ms + timings.infer_ms


class CameraTrack:
    """Freshness, frame rate and whole-frame count of one camera."""

    def __init__(self, name: str, config: CameraConfig, smoothing: SmoothingConfig) -> None:
        self.name = name
        self.config = config
        self.smoother = WindowSmoother(smoothing)
        self.stale = True  # no data yet
        self.status: CameraState | None = None
        self.offline_since = float("-inf")  # results captured before this are from before the outage
        self.last_ts: float | None = None
        self.reading: CameraReading | None = None
        self._captures: deque[float] = deque(maxlen=FPS_SAMPLES)

    def fps(self) -> float:
        """Frames processed per second of capture time, over the last few results."""
        if len(self._captures) < 2 or self._captures[-1] <= self._captures[0]:
            return 0.0
        return (len(self._captures) - 1) / (self._captures[-1] - self._captures[0])

    def accept(self, result: DensityResult, frame_count: float) -> CameraReading:
        """Record a result; the camera is fresh again."""
        ts = float(result.frame.captured_at)
        self.stale = False
        self.last_ts = ts
        self._captures.append(ts)
        smoothed = self.smoother.add(ts, frame_count)
        self.reading = CameraReading(self.name, ts, float(smoothed), float(frame_count), float(self.fps()),
                                     float(latency_ms(result)))
        return self.reading

    def go_stale(self) -> None:
        """Data stopped: the frame rate restarts with the next result."""
        self.stale = True
        self._captures.clear()


class ZoneTrack:
    """Smoothed count, floor area and alert machine of one camera zone."""

    def __init__(self, camera: str, zone: str, machine: AlertMachine, smoothing: SmoothingConfig) -> None:
        self.camera, self.zone, self.machine = camera, zone, machine
        self.smoother = WindowSmoother(smoothing)
        self.ts: float | None = None
        self.raw: float | None = None
        self.count: float | None = None
        self.area: float | None = None

    def add(self, ts: float, raw: float, area: float | None) -> Measurement:
        """Record a zone count; returns what the alert machine judges."""
        self.ts, self.raw, self.area = float(ts), float(raw), area
        self.count = self.smoother.add(self.ts, self.raw)
        return Measurement(self.count, self.density())

    def density(self) -> float | None:
        """Smoothed persons per square metre, None without an area."""
        if self.count is None or not self.area:
            return None
        return self.count / self.area

    def reset(self) -> None:
        """Forget values measured on another polygon or with other smoothing."""
        self.smoother.reset()
        self.raw = self.count = None

    def member(self, stale: bool) -> Member:
        """This zone as a member of a site zone (``stale``: its camera gives no data)."""
        fresh = not stale and self.count is not None
        return Member(self.camera, self.count if fresh else None, self.raw if fresh else None, self.area,
                      last=self.count, last_ts=self.ts, ts=self.ts if fresh else None)

    def state(self, stale: bool, now: float) -> ZoneState:
        """The zone as published; unknown level and no count while its camera gives no data."""
        fresh = not stale and self.count is not None
        episode = self.machine.episode
        return ZoneState(
            camera=self.camera, zone=self.zone, ts=self.ts if fresh and self.ts is not None else now,
            count=self.count if fresh else None, raw_count=self.raw if fresh else None,
            density=self.density() if fresh else None, area_m2=self.area,
            level=self.machine.level if fresh else Level.UNKNOWN, stale=() if fresh else (self.camera,),
            alert=self.machine.level, alert_id=episode.id if episode else None,
        )
