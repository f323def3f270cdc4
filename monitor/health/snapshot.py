"""What the daemon reports about itself, assembled once per request from the stages' counters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CameraHealth:
    """One camera's state and counters."""

    name: str
    state: str
    reason: str
    fps: float = 0.0  # results per second over the last window
    count: float | None = None
    frames: int = 0  # read from the source
    processed: int = 0  # turned into density maps
    drops: int = 0
    reconnects: int = 0
    stalls: int = 0
    corrupt_frames: int = 0
    decode_errors: int = 0
    lag_ms: float | None = None  # capture -> result, latest frame
    blind_frames: int = 0  # sampled frames not counted: uniform, noise or frozen picture
    gap_frames: int = 0  # frames not counted because the model server was unreachable
    input_side: dict | None = None  # max_side auto: {"side", "counts", "reason"} of the latest choice
    map_correction: bool = False  # csrnet-0.2's map correction on this camera's maps (camera/model.correction)
    count_gain: float = 1.0  # what this camera's density maps are multiplied by (cameras.NAME.count_gain)


@dataclass(frozen=True)
class ZoneHealth:
    """One zone's latest smoothed state."""

    camera: str
    zone: str
    count: float | None
    density: float | None
    level: str


@dataclass(frozen=True)
class HealthSnapshot:
    """Everything /healthz, /metrics and the status page show."""

    ts: float
    healthy: bool
    problems: tuple[str, ...]
    engine: str
    # "p50", "p95", "max" (ms) over the latest calls; "count" and "sum" (ms) of all calls since start
    engine_latency_ms: dict[str, float]
    queue_lag_ms: dict[str, float]  # the same, capture to inference start
    loop_age_s: float  # seconds since the inference loop last turned
    cameras: tuple[CameraHealth, ...] = ()
    zones: tuple[ZoneHealth, ...] = ()
    alerts_started: int = 0
    alerts_active: int = 0
    mqtt: dict[str, Any] = field(default_factory=dict)  # the publisher's health(), read at the snapshot
    warnings: tuple[str, ...] = ()  # worth knowing, not failing: e.g. a rejected reload (old config kept)
    reload: dict[str, Any] = field(default_factory=dict)  # config reloads: ok, failed, last_error
    engine_status: dict[str, Any] = field(default_factory=dict)  # up, gap_s, retry_in_s, reason, gaps, gap_frames
    precision: dict[str, Any] = field(default_factory=dict)  # precision, state, reason, check, cached

    def to_json(self) -> dict[str, Any]:
        """Plain data for /status.json and /healthz."""
        return asdict(self)
