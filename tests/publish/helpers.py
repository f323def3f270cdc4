"""Configs and stage records for the publisher tests."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from monitor import types as stage_types
from monitor.config import MonitorConfig
from monitor.publish import Publisher, Subscription
from monitor.types import (AlertEvent, CameraCounters, CameraReading, CameraState, CameraStatus, EventType, Level,
                           ZoneState)

SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
_ids = itertools.count(1)
CREATED: list[Publisher] = []  # stopped after each test by the autouse fixture in conftest.py


def new_publisher(config: MonitorConfig, subscription: Subscription | None = None) -> Publisher:
    """A publisher that is stopped after the test even when the test fails."""
    publisher = Publisher(config, subscription)
    CREATED.append(publisher)
    return publisher


def started(config: MonitorConfig, subscription: Subscription | None = None) -> Publisher:
    """A started and connected publisher (following ``subscription``'s topics, if any)."""
    publisher = new_publisher(config, subscription)
    publisher.start()
    assert publisher.wait_connected(10), publisher.health()
    return publisher


@dataclass(frozen=True)
class _Update:
    readings: tuple = ()
    zones: tuple = ()
    events: tuple = ()


Update = getattr(stage_types, "AggregateUpdate", _Update)


def make_config(broker: Any = None, *, cameras: dict[str, list[str]] | None = None,
                site: dict[str, list[str]] | None = None, **mqtt: Any) -> MonitorConfig:
    """A config with the given cameras -> zone names (zones with an area), publishing to ``broker``."""
    cameras = {"entrance": ["gate", "queue"], "hall": ["floor"]} if cameras is None else cameras
    site = {"main_hall": ["entrance.gate", "hall.floor"]} if site is None else site
    section: dict[str, Any] = {"client_id": f"test-{next(_ids)}", "topic_prefix": "crowd", "reconnect_max_s": 2,
                               "will_delay_s": 0, **mqtt}
    if broker is not None:
        section.setdefault("host", broker.host)
        section.setdefault("port", broker.port)
    return MonitorConfig.model_validate({
        "mqtt": section,
        "cameras": {name: {"url": f"/dev/null/{name}",
                           "zones": {z: {"polygon": SQUARE, "area_m2": 20.0,
                                         "warning": {"density": 2.0}, "critical": {"density": 4.0}}
                                     for z in zones}}
                    for name, zones in cameras.items()},
        "site_zones": site,
    })


def reading(camera: str, count: float = 12.5, ts: float | None = None) -> CameraReading:
    """A whole-frame reading."""
    return CameraReading(camera, time.time() if ts is None else ts, count, count + 0.4, 2.0, 180.0)


def zone(camera: str, name: str, count: float = 30.0, level: Level = Level.NORMAL, ts: float | None = None,
         area: float | None = 20.0) -> ZoneState:
    """A zone state (``camera`` ``site`` for a site zone)."""
    return ZoneState(camera, name, time.time() if ts is None else ts, count, count, count / area if area else None,
                     area, level)


def event(camera: str, zone_name: str, kind: EventType = EventType.START, level: Level = Level.WARNING,
          event_id: str | None = None) -> AlertEvent:
    """An alert event."""
    now = time.time()
    return AlertEvent(event_id or f"ev-{next(_ids)}", kind, camera, zone_name, level, 60.0, 3.0, 2.0, "density",
                      now - 10, now if kind is EventType.END else None, now)


def status(camera: str, state: CameraState = CameraState.ONLINE) -> CameraStatus:
    """A camera status."""
    return CameraStatus(camera, state, "test", time.time(), CameraCounters(frames_read=10))


def full_update(config: MonitorConfig, level: Level = Level.NORMAL, count: float = 30.0) -> Any:
    """Readings of every camera and states of every zone and site zone of ``config``."""
    readings = tuple(reading(cam) for cam in config.cameras)
    zones = [zone(cam, z, count, level) for cam, c in config.cameras.items() for z in c.zones]
    zones += [zone("site", s, count * 2, level, area=40.0) for s in config.site_zones]
    return Update(readings=readings, zones=tuple(zones), events=())


def is_jpeg(data: bytes) -> bool:
    """True when ``data`` starts and ends like a JPEG file (SOI ... EOI markers)."""
    return len(data) > 4 and data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
