"""The live view's data: every camera with its zones drawn and their latest state, and the site zones.

Built from the running config (geometry, thresholds) and the daemon's telemetry (states, counts),
at most once per ``MIN_INTERVAL_S`` however many browsers watch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..config import MonitorConfig
from ..health import HealthSnapshot
from ..history.api import thresholds
from ..types import DensityResult, ZoneState

MIN_INTERVAL_S = 0.25  # the view is rebuilt at most this often; every stream and poll shares it


class LiveSource(Protocol):
    """What the console reads from the daemon (its ``Telemetry``)."""

    def snapshot(self) -> HealthSnapshot:
        """Health and per-camera figures."""

    def zone_states(self) -> list[ZoneState]:
        """The latest state of every zone and site zone."""

    def latest_result(self, camera: str) -> DensityResult | None:
        """A camera's latest density map with its frame."""


def _zone_json(state: ZoneState | None) -> dict[str, Any]:
    if state is None:
        return {"count": None, "density": None, "level": "unknown", "alert": "normal", "stale": [], "ts": None}
    return {"count": state.count, "density": state.density, "level": state.level.value,
            "alert": state.alert.value, "stale": list(state.stale), "ts": state.ts}


def _frame_json(result: DensityResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    height, width = result.frame.image.shape[:2]
    return {"seq": result.frame.seq, "ts": result.frame.captured_at, "width": width, "height": height}


def build_view(config: MonitorConfig, source: LiveSource) -> dict[str, Any]:
    """The live view as JSON: cameras (state, frame, roi, ignore, calibration, zones) and site zones."""
    snap = source.snapshot()
    health = {camera.name: camera for camera in snap.cameras}
    states = {(state.camera, state.zone): state for state in source.zone_states()}
    cameras = []
    for name, camera in config.cameras.items():
        seen = health.get(name)
        zones = [{"zone": zone, "polygon": spec.polygon, "area_m2": spec.area_m2,
                  "thresholds": thresholds(config, name, zone), **_zone_json(states.get((name, zone)))}
                 for zone, spec in camera.zones.items()]
        cameras.append({
            "name": name, "label": camera.label or name,
            "state": "disabled" if not camera.enabled else seen.state if seen else "unknown",
            "reason": seen.reason if seen else "", "count": seen.count if seen else None,
            "fps": seen.fps if seen else 0.0, "frame": _frame_json(source.latest_result(name)),
            "roi": camera.roi, "ignore": camera.ignore,
            "calibration": camera.calibration.model_dump() if camera.calibration else None, "zones": zones})
    sites = [{"zone": zone, "members": spec.zones, "area_m2": spec.area_m2,
              "thresholds": thresholds(config, "site", zone), **_zone_json(states.get(("site", zone)))}
             for zone, spec in config.site_zones.items()]
    return {"ts": snap.ts, "healthy": snap.healthy, "problems": list(snap.problems),
            "warnings": list(snap.warnings), "cameras": cameras, "site_zones": sites}


class LiveView:
    """The latest live view, rebuilt when older than ``MIN_INTERVAL_S`` or built from a config a
    reload has since replaced (thread-safe)."""

    def __init__(self, config: Callable[[], MonitorConfig], source: LiveSource):
        self._config, self._source = config, source
        self._lock = threading.Lock()
        self._built_at = -1e9
        self._built_from: MonitorConfig | None = None
        self._view: dict[str, Any] = {}

    def get(self) -> dict[str, Any]:
        """The view as of at most MIN_INTERVAL_S ago, and never of a replaced config (a saved edit
        shows at once)."""
        with self._lock:
            now, config = time.monotonic(), self._config()
            if now - self._built_at >= MIN_INTERVAL_S or config is not self._built_from:
                self._view, self._built_at, self._built_from = build_view(config, self._source), now, config
            return self._view
