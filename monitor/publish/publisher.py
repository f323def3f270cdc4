"""The MQTT publisher the daemon calls: thread-safe, non-blocking, connects in the background.

Every ``publish_*`` call only records the latest value under a lock and wakes the network thread
(``link.Link``), which owns the connection.  The publisher keeps the last state it was given per
topic, so it republishes everything itself after each reconnect and at every heartbeat.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

import numpy as np

from ..config import MonitorConfig
from ..errors import UserError
from ..types import AlertEvent, CameraReading, CameraStatus, ReadingGap, ZoneState
from .core import Context, Core
from .link import Link
from .outbox import Outgoing
from .payloads import alert_level, detail_body, encode, event_body, reading_body, zone_body
from .subscribe import Subscription
from .topics import Plan

log = logging.getLogger("monitor.publish")


class Update(Protocol):
    """What the zone aggregator hands over (``monitor.types.AggregateUpdate``)."""

    readings: tuple[CameraReading, ...]
    zones: tuple[ZoneState, ...]
    events: tuple[AlertEvent, ...]


class Publisher:
    """Publishes counts, zone states, alerts, status, stats and heatmaps following the topic table."""

    def __init__(self, config: MonitorConfig, subscription: Subscription | None = None):
        self._core = Core(config)
        self._link = Link(self._core, subscription)  # subscription: other daemons' topics, read here too
        self._thread: threading.Thread | None = None
        self._ignored: set[tuple[str, str]] = set()

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (non-blocking); reconnects by itself until ``stop()``."""
        with self._core.cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._link.run, name="mqtt-publisher", daemon=True)
        self._thread.start()

    def stop(self, clean: bool = True, timeout: float = 15.0) -> None:
        """Leave the broker: ``clean`` deletes retained state and publishes ``stopped``; else the
        connection is dropped so the broker publishes the last will ``offline``."""
        core = self._core
        with core.cond:
            core.stopping, core.clean_stop = True, clean
            core.cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the MQTT publisher did not stop within %.0f s", timeout)

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected (True) or ``timeout`` seconds passed (False)."""
        core = self._core
        with core.cond:
            return core.cond.wait_for(lambda: core.connected, timeout)

    def reload(self, config: MonitorConfig) -> None:
        """Apply a new config: removed cameras/zones are deleted from the broker (state and discovery),
        discovery is sent again, and new connection settings reconnect."""
        new = Context.of(config)  # may raise UserError before anything changes
        with self._core.cond:
            removed = self._core.switch_context(new)
        log.info("MQTT publisher reloaded: %d retained topic(s) of removed cameras/zones cleared", removed)

    # -- data from the pipeline --------------------------------------------------------------------
    def publish_update(self, update: Update) -> None:
        """Counts, zone states (published on change) and alert events (QoS 1, via the outbox)."""
        core = self._core
        with core.cond:
            plan = core.context.plan
            for reading in update.readings:
                if self._known(plan, "count", reading.camera):
                    core.set_retained("count", reading.camera, "", reading_body(reading), 0, reading.ts)
            for event in update.events:
                core.outbox.put(Outgoing(event.id, encode(event_body(event))))
                if self._known(plan, "alert", event.camera, event.zone):
                    core.set_retained("alert", event.camera, event.zone, alert_level(event), 1)
            for zone in update.zones:  # after the events: the state's alert level is the aggregator's word
                if self._known(plan, "state", zone.camera, zone.zone):
                    core.set_retained("state", zone.camera, zone.zone, zone_body(zone), 0, zone.ts)
                    core.set_retained("alert", zone.camera, zone.zone, zone.alert.value, 1)
            core.cond.notify_all()

    def publish_status(self, status: CameraStatus, gap: ReadingGap | None = None) -> None:
        """A camera's state on ``P/CAM/status`` (bare word) and ``P/CAM/status/detail`` (why, and the
        reading gap while the model server is unreachable); QoS 1, retained, sent when they change."""
        core = self._core
        with core.cond:
            if self._known(core.context.plan, "status", status.camera):
                core.set_retained("status", status.camera, "", status.state.value, 1)
                core.set_retained("detail", status.camera, "", detail_body(status, gap, time.time()), 1)

    def publish_stats(self, stats: dict[str, Any]) -> None:
        """Counters for ``P/stats``; sent at most every ``stats_interval_s`` (the latest wins)."""
        core = self._core
        with core.cond:
            core.stats = dict(stats)
            core.cond.notify_all()

    def wants_heatmap(self, camera: str) -> bool:
        """True when a heatmap of ``camera`` would be published now (enabled, connected, due)."""
        core = self._core
        with core.cond:
            return self._heatmap_due(camera, time.monotonic())

    def publish_heatmap(self, camera: str, jpeg: bytes) -> bool:
        """A ready JPEG for ``P/CAM/heatmap``; False when skipped (disabled, offline or too soon)."""
        core = self._core
        now = time.monotonic()
        with core.cond:
            if not self._heatmap_due(camera, now):
                core.counters.heatmaps_skipped += 1
                return False
            core.heatmap_at[camera] = now
            core.heatmaps[camera] = bytes(jpeg)
            core.cond.notify_all()
            return True

    def publish_heatmap_image(self, camera: str, image_bgr: np.ndarray, density: np.ndarray,
                              count: float | None = None) -> bool:
        """Render (only when due) and publish the density overlay of a frame."""
        if not self.wants_heatmap(camera):
            with self._core.cond:
                self._core.counters.heatmaps_skipped += 1
            return False
        from ..render import heatmap_jpeg  # OpenCV: only once a heatmap is due

        cfg = self._core.context.mqtt.heatmap
        jpeg = heatmap_jpeg(image_bgr, density, count, max_side=cfg.max_side, quality=cfg.quality)
        if jpeg is None:
            raise UserError("could not encode the heatmap as JPEG")
        return self.publish_heatmap(camera, jpeg)

    def health(self) -> dict[str, Any]:
        """connected, protocol, outbox, dropped, last_error, auth_failed and more counters."""
        with self._core.cond:
            return self._core.health()

    # -- helpers (hold the lock) -------------------------------------------------------------------
    def _heatmap_due(self, camera: str, now: float) -> bool:
        core = self._core
        cfg = core.context.mqtt.heatmap
        last = core.heatmap_at.get(camera)
        return (cfg.enabled and core.connected and core.context.plan.has_camera(camera)
                and (last is None or now - last >= cfg.interval_s))

    def _known(self, plan: Plan, kind: str, camera: str, zone: str = "") -> bool:
        """Only configured cameras/zones get retained topics (a reload can then clear them all)."""
        known = plan.has(kind, camera, zone)
        if not known and (camera, zone) not in self._ignored:
            self._ignored.add((camera, zone))
            log.warning("not publishing state of unconfigured camera/zone %s/%s", camera, zone or "-")
        return known

