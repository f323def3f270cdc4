"""Topic names of the MQTT topic table, and which retained topics a config owns.

Camera and zone names become topic levels only through ``naming.topic_segment``, so a name with
'/', '+' or '#' cannot inject levels or wildcards.  Site zones live under the reserved level
``site`` (``P/site/ZONE/state``); the config checks forbid a camera of that name.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import MonitorConfig
from ..naming import topic_segment

SITE = "site"  # the camera name of site zones in ZoneState/AlertEvent, and their topic level
CAMERA_KINDS = ("status", "detail", "count")  # retained topics of a camera (the others are a zone's)


@dataclass(frozen=True)
class Topics:
    """Every topic of the table under one prefix (``P``)."""

    prefix: str

    @property
    def available(self) -> str:
        """``P/available``: online / offline (last will) / stopped (clean exit)."""
        return f"{self.prefix}/available"

    @property
    def events(self) -> str:
        """``P/events``: alert start / update / end, QoS 1, not retained."""
        return f"{self.prefix}/events"

    @property
    def stats(self) -> str:
        """``P/stats``: periodic counters."""
        return f"{self.prefix}/stats"

    def camera_status(self, camera: str) -> str:
        """``P/CAM/status``: online / reconnecting / offline / blind."""
        return f"{self.prefix}/{topic_segment(camera)}/status"

    def camera_detail(self, camera: str) -> str:
        """``P/CAM/status/detail``: the status word's reason, and whether the camera's frames are counted."""
        return f"{self.camera_status(camera)}/detail"

    def camera_count(self, camera: str) -> str:
        """``P/CAM/count``: whole-frame count."""
        return f"{self.prefix}/{topic_segment(camera)}/count"

    def heatmap(self, camera: str) -> str:
        """``P/CAM/heatmap``: JPEG density overlay."""
        return f"{self.prefix}/{topic_segment(camera)}/heatmap"

    def zone_state(self, camera: str, zone: str) -> str:
        """``P/CAM/ZONE/state`` (``camera`` is ``site`` for site zones)."""
        return f"{self.prefix}/{topic_segment(camera)}/{topic_segment(zone)}/state"

    def zone_alert(self, camera: str, zone: str) -> str:
        """``P/CAM/ZONE/alert``: current alert level, retained."""
        return f"{self.prefix}/{topic_segment(camera)}/{topic_segment(zone)}/alert"

    def of(self, kind: str, camera: str, zone: str = "") -> str:
        """The retained topic of ``kind`` (status, detail, count, state, alert) for a camera or zone."""
        if kind == "status":
            return self.camera_status(camera)
        if kind == "detail":
            return self.camera_detail(camera)
        if kind == "count":
            return self.camera_count(camera)
        if kind == "state":
            return self.zone_state(camera, zone)
        if kind == "alert":
            return self.zone_alert(camera, zone)
        raise ValueError(f"no retained topic of kind {kind!r}")


@dataclass(frozen=True)
class Plan:
    """The cameras and zones a config defines: what may be published, and what must be cleared."""

    cameras: dict[str, tuple[str, ...]]  # enabled camera -> its zone names
    site_zones: tuple[str, ...]

    @classmethod
    def of(cls, config: MonitorConfig) -> "Plan":
        """The plan of ``config`` (disabled cameras publish nothing)."""
        cameras = {name: tuple(cam.zones) for name, cam in config.cameras.items() if cam.enabled}
        return cls(cameras, tuple(config.site_zones))

    def has_camera(self, camera: str) -> bool:
        """True when ``camera`` is configured and enabled."""
        return camera in self.cameras

    def has_zone(self, camera: str, zone: str) -> bool:
        """True when the zone (``camera`` ``site`` for a site zone) is configured."""
        if camera == SITE:
            return zone in self.site_zones
        return zone in self.cameras.get(camera, ())

    def has(self, kind: str, camera: str, zone: str = "") -> bool:
        """True when the retained topic of ``kind`` for this camera or zone belongs to the plan."""
        return self.has_camera(camera) if kind in CAMERA_KINDS else self.has_zone(camera, zone)

    def zones(self) -> list[tuple[str, str]]:
        """Every (camera, zone) pair, site zones as (``site``, zone)."""
        pairs = [(cam, zone) for cam, zones in self.cameras.items() for zone in zones]
        return pairs + [(SITE, zone) for zone in self.site_zones]

    def retained_topics(self, topics: Topics) -> set[str]:
        """Every retained state topic of this plan (not availability, not discovery)."""
        found: set[str] = set()
        for cam in self.cameras:
            found |= {topics.camera_status(cam), topics.camera_detail(cam), topics.camera_count(cam)}
        for cam, zone in self.zones():
            found |= {topics.zone_state(cam, zone), topics.zone_alert(cam, zone)}
        return found
