"""The small frozen records that cross stage boundaries (source -> worker -> aggregator -> publisher).

Every stage knows only these types, never another stage's internals.  Arrays inside the records are
never mutated after construction; stages that need a changed array make a copy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class CameraState(str, enum.Enum):
    """State of one camera, as published on ``P/CAM/status``; ``BLIND``: connected, but its picture
    is uniform, noise or frozen (nothing to count)."""

    ONLINE = "online"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    BLIND = "blind"


class Level(str, enum.Enum):
    """Alert level of a zone; ``UNKNOWN`` while its camera gives no data (never silently normal)."""

    NORMAL = "normal"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame from a camera: BGR uint8 image with its capture time and sequence number."""

    camera: str
    seq: int
    captured_at: float  # wall clock (time.time()) when the frame was read from the source
    image: np.ndarray  # H x W x 3, BGR, uint8
    monotonic: float = 0.0  # time.monotonic() at capture, for lag measurements within this process


@dataclass(frozen=True)
class CameraCounters:
    """Monotonic per-camera counters, reported in status and stats."""

    frames_read: int = 0
    frames_sampled: int = 0
    reconnects: int = 0
    stalls: int = 0
    corrupt_frames: int = 0
    decode_errors: int = 0
    slot_drops: int = 0
    blind_frames: int = 0  # sampled frames not counted because the picture showed nothing


@dataclass(frozen=True)
class CameraStatus:
    """A camera's connection state, why it is in it, and its counters."""

    camera: str
    state: CameraState
    reason: str
    since: float  # wall clock of the last state change
    counters: CameraCounters = field(default_factory=CameraCounters)


@dataclass(frozen=True)
class ReadingGap:
    """A model server that is slow or gone, as one camera sees it: frames arrive, none is counted."""

    since: float  # wall clock when the gap began
    reason: str
    frames: int  # this camera's frames not counted during this gap


@dataclass(frozen=True)
class StageTimings:
    """Per-frame latencies in milliseconds along the pipeline."""

    queue_ms: float  # capture -> taken by the worker
    preprocess_ms: float
    infer_ms: float  # the engine call, shared by every frame of the batch
    batch_size: int = 1


@dataclass(frozen=True, eq=False)
class DensityResult:
    """The engine's density map for one frame; ``density.sum()`` is the head count of the frame."""

    frame: Frame
    density: np.ndarray  # float32, (input_h // 8) x (input_w // 8), from the frame's top-left corner
    timings: StageTimings
    completed_at: float  # wall clock when the map was ready
    input_size: tuple[int, int] | None = None  # (w, h) fed to the model; None: 8 x the map's shape

    @property
    def camera(self) -> str:
        """Name of the camera the frame came from."""
        return self.frame.camera

    @property
    def count(self) -> float:
        """Whole-frame head count (sum of the density map)."""
        return float(self.density.sum())

    @property
    def extent(self) -> tuple[float, float] | None:
        """The frame's (width, height) in map cells (None: the map covers it exactly)."""
        if self.input_size is None:
            return None
        return self.input_size[0] / 8.0, self.input_size[1] / 8.0


@dataclass(frozen=True)
class CameraReading:
    """Whole-frame result of one camera, as published on ``P/CAM/count``."""

    camera: str
    ts: float
    count: float
    raw_count: float
    fps: float
    latency_ms: float


@dataclass(frozen=True)
class ZoneState:
    """Smoothed state of one zone (``camera`` is ``"site"`` for site zones), as on ``P/.../state``."""

    camera: str
    zone: str
    ts: float
    count: float | None  # None while unknown (camera offline)
    raw_count: float | None
    density: float | None  # persons per square metre; None without an area
    area_m2: float | None
    level: Level
    stale: tuple[str, ...] = ()  # cameras whose data is missing (offline / reconnecting / blind)
    alert: Level = Level.NORMAL  # level of the alert in progress, kept while stale (P/.../alert)
    alert_id: str | None = None  # id of the alert in progress


class EventType(str, enum.Enum):
    """Kind of alert event on ``P/events``."""

    START = "start"
    UPDATE = "update"
    END = "end"


@dataclass(frozen=True)
class AlertEvent:
    """One alert episode's start, level change, or end."""

    id: str
    type: EventType
    camera: str  # "site" for site zones
    zone: str
    level: Level  # level after this event (the level that ended, for END)
    count: float | None
    density: float | None
    threshold: float | None  # the threshold value of ``level`` that was crossed
    metric: str  # "count" or "density"
    started_at: float
    ended_at: float | None = None
    ts: float = 0.0  # when the event was emitted


@dataclass(frozen=True)
class AggregateUpdate:
    """What the zone aggregator hands the publisher after each input: readings, zone states, events."""

    readings: tuple[CameraReading, ...] = ()
    zones: tuple[ZoneState, ...] = ()
    events: tuple[AlertEvent, ...] = ()


@dataclass(frozen=True)
class PrecisionReport:
    """Which precision the engine computes in and why (``precision: auto`` moves from float to INT8).

    ``state``: ``fixed`` (nothing will change: explicit precision, a GPU, a served model...),
    ``collecting`` (keeping frames to calibrate on), ``calibrating`` (the background job runs),
    ``int8`` (switched after the check passed), ``float`` (INT8 refused or failed: staying float).
    """

    precision: str  # fp32 / bf16 / fp16 / int8
    state: str
    reason: str
    check: dict | None = None  # the counts check: frames, sums, sum_diff_pct, worst_frame_diff
    cached: bool = False  # the verdict came from an earlier run (state directory)

    def as_dict(self) -> dict:
        """Plain data for /healthz, /status.json and MQTT stats."""
        return {"precision": self.precision, "state": self.state, "reason": self.reason, "check": self.check,
                "cached": self.cached}
