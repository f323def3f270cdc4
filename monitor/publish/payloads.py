"""Payloads of the topic table, built from the stage records (documented in ``monitor/schemas``).

JSON payloads are compact UTF-8 objects; non-finite numbers become ``null`` (JSON has no NaN).
Availability, camera status and alert level are bare words, not JSON, so that dashboards and Home
Assistant can use them as they are.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..types import AlertEvent, CameraReading, CameraStatus, EventType, ReadingGap, ZoneState

ONLINE, OFFLINE, STOPPED = "online", "offline", "stopped"


def number(value: float | None, digits: int = 3) -> float | None:
    """``value`` rounded for the wire, or None when missing or not finite."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def encode(body: dict[str, Any]) -> bytes:
    """Compact JSON bytes of ``body``."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def reading_body(reading: CameraReading) -> dict[str, Any]:
    """``P/CAM/count``: smoothed whole-frame count, with the raw one beside it."""
    return {"ts": number(reading.ts), "count": number(reading.count), "raw_count": number(reading.raw_count),
            "fps": number(reading.fps), "latency_ms": number(reading.latency_ms, 1)}


def zone_body(state: ZoneState) -> dict[str, Any]:
    """``P/CAM/ZONE/state`` and ``P/site/ZONE/state``; count is null while unknown."""
    return {"ts": number(state.ts), "count": number(state.count), "raw_count": number(state.raw_count),
            "density": number(state.density, 4), "area_m2": number(state.area_m2, 2),
            "level": state.level.value, "stale": list(state.stale)}


def detail_body(status: CameraStatus, gap: ReadingGap | None, ts: float) -> dict[str, Any]:
    """``P/CAM/status/detail``: the status word with its reason, and the reading gap (null: none)."""
    return {"ts": number(ts), "state": status.state.value, "reason": status.reason, "since": number(status.since),
            "counting": gap is None and status.state.value == "online",
            "gap": None if gap is None else {"since": number(gap.since), "reason": gap.reason, "frames": gap.frames}}


def event_body(event: AlertEvent) -> dict[str, Any]:
    """``P/events``: one alert start, level change, or end."""
    return {"id": event.id, "type": event.type.value, "camera": event.camera, "zone": event.zone,
            "level": event.level.value, "count": number(event.count), "density": number(event.density, 4),
            "threshold": number(event.threshold, 4), "metric": event.metric,
            "started_at": number(event.started_at), "ended_at": number(event.ended_at),
            "ts": number(event.ts)}


def alert_level(event: AlertEvent) -> str:
    """The zone's current alert level after ``event``: ``normal`` once an alert ended."""
    return "normal" if event.type is EventType.END else event.level.value


def stats_body(stats: dict[str, Any], mqtt: dict[str, Any], ts: float) -> dict[str, Any]:
    """``P/stats``: the daemon's counters plus the publisher's own under ``mqtt``."""
    body = _finite(dict(stats))
    body["ts"] = number(ts)
    body["mqtt"] = _finite(mqtt)
    return body


def _finite(value: Any) -> Any:
    """A copy of a JSON-like value with non-finite floats replaced by None."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value
