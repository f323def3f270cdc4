"""What the daemon knows about itself: latest readings and statuses, for /metrics, P/stats and heatmaps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..health import CameraHealth, HealthSnapshot
from ..health.problems import camera_warnings, history_warnings, mqtt_problems, reload_warnings, site_warnings
from ..health.snapshot import ZoneHealth
from ..pipeline import InferenceWorker
from ..types import (AggregateUpdate, CameraCounters, CameraReading, CameraStatus, DensityResult, EventType,
                     PrecisionReport, ZoneState)

STALLED_AFTER_S = 30.0  # the inference loop turns at least every heartbeat; this long silent is a hang
SUMMARY_KEYS = ("p50", "p95", "max", "count", "sum")  # of a latency window: what /metrics exports as a summary


class Telemetry:
    """Collects the latest state from the main loop; read from the HTTP threads (hence the lock).

    The publisher's and the reloader's state is read live at each snapshot (both are thread-safe),
    so /healthz, /status.json and /metrics show the broker connection as it is now; so are the
    cameras' counters (``live_statuses``): a status reaches the main loop only when the state
    changes, and the counters it carries stop at that moment.  ``history_status`` is the history
    recorder's, so a history switched off by an error shows as a /healthz warning.  ``precision``
    says which precision the engine computes in and why (``monitor.daemon.precision``).
    """

    def __init__(self, worker: InferenceWorker, mqtt_health: Callable[[], dict[str, Any]] = dict,
                 reload_status: Callable[[], dict[str, Any]] = dict,
                 live_statuses: Callable[[], Iterable[CameraStatus]] = tuple,
                 history_status: Callable[[], dict[str, Any]] = dict, *,
                 precision: Callable[[], PrecisionReport | None] = lambda: None):
        self._worker = worker
        self._precision = precision
        self._history_status = history_status
        self._mqtt_health = mqtt_health
        self._reload_status = reload_status
        self._live_statuses = live_statuses
        self._lock = threading.Lock()
        self._statuses: dict[str, CameraStatus] = {}
        self._readings: dict[str, CameraReading] = {}
        self._zones: dict[tuple[str, str], ZoneState] = {}
        self._results: dict[str, DensityResult] = {}
        self.alerts_started = 0
        self.alerts_ended = 0

    def record_status(self, status: CameraStatus) -> None:
        """A camera changed state."""
        with self._lock:
            self._statuses[status.camera] = status

    def statuses(self) -> list[CameraStatus]:
        """The latest status of every camera."""
        with self._lock:
            return list(self._statuses.values())

    def record_result(self, result: DensityResult) -> None:
        """A density map arrived (kept for the status page's heatmap)."""
        with self._lock:
            self._results[result.camera] = result

    def record_update(self, update: AggregateUpdate) -> None:
        """The aggregator's output."""
        with self._lock:
            for reading in update.readings:
                self._readings[reading.camera] = reading
            for zone in update.zones:
                self._zones[(zone.camera, zone.zone)] = zone
            for event in update.events:
                self.alerts_started += event.type == EventType.START
                self.alerts_ended += event.type == EventType.END

    def forget_cameras(self, keep: set[str]) -> None:
        """Drop what is known about cameras removed by a reload."""
        with self._lock:
            for table in (self._statuses, self._readings, self._results):
                for name in [n for n in table if n not in keep]:
                    del table[name]
            self._zones = {k: v for k, v in self._zones.items() if k[0] in keep or k[0] == "site"}

    def forget_zones(self, keep: set[tuple[str, str]]) -> None:
        """Drop zones that no longer exist after a reload."""
        with self._lock:
            self._zones = {k: v for k, v in self._zones.items() if k in keep}

    def latest_result(self, camera: str) -> DensityResult | None:
        """The camera's latest density map with its frame (the console's live picture)."""
        with self._lock:
            return self._results.get(camera)

    def zone_states(self) -> list[ZoneState]:
        """The latest state of every zone and site zone (the console's live view)."""
        with self._lock:
            return list(self._zones.values())

    def snapshot(self) -> HealthSnapshot:
        """Health, latencies and per-camera figures as of now."""
        stats = self._worker.stats()
        loop_age = float(stats["seconds_since_loop"])
        problems = []
        if not self._worker.alive:
            problems.append("inference worker is not running")
        elif loop_age > STALLED_AFTER_S:
            problems.append(f"inference loop stalled for {loop_age:.0f} s (engine hung?)")
        engine = stats.get("engine_status") or {"up": True}
        if not engine["up"]:
            problems.append(f"model server unreachable for {engine['gap_s']:.0f} s, readings paused "
                            f"(retry in {engine['retry_in_s']:.0f} s): {engine['reason']}")
        mqtt, reload = self._mqtt_health(), self._reload_status()
        problems += mqtt_problems(mqtt)
        latency = stats["latency_ms"]
        live = {status.camera: status.counters for status in self._live_statuses()}
        with self._lock:
            cameras = tuple(self._camera_health(name, stats["cameras"].get(name, {}), live.get(name), engine["up"])
                            for name in sorted(set(self._statuses) | set(stats["cameras"])))
            zones = tuple(ZoneHealth(z.camera, z.zone, z.count, z.density, z.level.value)
                          for z in self._zones.values())
            remote_missing = site_warnings(self._zones.values())
            started, ended = self.alerts_started, self.alerts_ended
        return HealthSnapshot(
            ts=time.time(), healthy=not problems, problems=tuple(problems), engine=str(stats["engine"]),
            engine_latency_ms={k: latency["infer"][k] for k in SUMMARY_KEYS},
            queue_lag_ms={k: latency["queue"][k] for k in SUMMARY_KEYS},
            loop_age_s=loop_age, cameras=cameras, zones=zones,
            alerts_started=started, alerts_active=max(0, started - ended), mqtt=mqtt,
            warnings=(*camera_warnings(cameras), *reload_warnings(reload), *history_warnings(self._history_status()),
                      *remote_missing),
            reload=reload, engine_status=engine, precision=self._precision_dict(str(stats["engine"])))

    def _precision_dict(self, engine: str) -> dict[str, Any]:
        """The precision report, or what the engine's name says when there is none."""
        report = self._precision()
        if report is None:
            return {"precision": engine.partition("-")[2] or engine, "state": "fixed", "reason": "", "check": None,
                    "cached": False}
        return report.as_dict()

    def _camera_health(self, name: str, worker_cam: dict[str, Any], live: CameraCounters | None,
                       engine_up: bool = True) -> CameraHealth:
        status = self._statuses.get(name)
        reading = self._readings.get(name)
        counters = live or (status.counters if status else None)
        lag = worker_cam.get("lag_ms", {}).get("p50") if worker_cam.get("processed") else None
        return CameraHealth(
            name=name, state=status.state.value if status else "reconnecting",
            reason=status.reason if status else "starting", fps=reading.fps if reading else 0.0,
            count=reading.count if reading and engine_up else None, frames=counters.frames_read if counters else 0,
            processed=int(worker_cam.get("processed", 0)),
            drops=int(worker_cam.get("drops", 0)), reconnects=counters.reconnects if counters else 0,
            stalls=counters.stalls if counters else 0,
            corrupt_frames=counters.corrupt_frames if counters else 0,
            decode_errors=counters.decode_errors if counters else 0, lag_ms=lag,
            blind_frames=counters.blind_frames if counters else 0, input_side=worker_cam.get("input_side"),
            gap_frames=int(worker_cam.get("gap_frames", 0)), map_correction=bool(worker_cam.get("correction")),
            count_gain=float(worker_cam.get("count_gain", 1.0)))

    def stats_payload(self) -> dict[str, Any]:
        """The body of ``P/stats`` (the publisher adds its own ``mqtt`` figures)."""
        snap = self.snapshot()
        worker = self._worker.stats()
        return {
            "ts": snap.ts,
            "cameras": {c.name: {"state": c.state, "fps": c.fps, "drops": c.drops, "reconnects": c.reconnects,
                                 "stalls": c.stalls, "corrupt_frames": c.corrupt_frames,
                                 "decode_errors": c.decode_errors, "lag_ms": c.lag_ms,
                                 "blind_frames": c.blind_frames, "gap_frames": c.gap_frames,
                                 "input_side": c.input_side["side"] if c.input_side else None,
                                 "map_correction": c.map_correction, "count_gain": c.count_gain}
                        for c in snap.cameras},
            "engine": {"backend": snap.engine, "latency_ms": snap.engine_latency_ms["p50"],
                       "batch": worker["max_batch"], "frames": worker["frames"],
                       "errors": worker["engine_errors"], "up": snap.engine_status.get("up", True),
                       "gap_s": snap.engine_status.get("gap_s"), "gaps": snap.engine_status.get("gaps", 0),
                       "precision": snap.precision.get("precision"), "precision_state": snap.precision.get("state"),
                       "precision_reason": snap.precision.get("reason")},
            "alerts": {"started": snap.alerts_started, "active": snap.alerts_active},
        }
