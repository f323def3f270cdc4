"""Home Assistant MQTT discovery: retained entity configs under ``<discovery_prefix>/``.

One HA device per camera (its zones' sensors hang off it) and one for the site zones.  Per zone: a
count sensor, a density sensor when the zone has an area, an alert binary sensor (device class
``safety``) and an alert level sensor.  Per camera: a count sensor and a connectivity binary
sensor.  Entities are available only while the daemon is ``online`` and, for camera entities,
while the camera is ``online``; ``stopped`` and an empty (cleared) payload count as unavailable.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..config import MonitorConfig
from ..errors import UserError
from ..naming import topic_segment
from .topics import SITE, Plan, Topics

ONLINE_ONLY = "{{ 'online' if value == 'online' else 'offline' }}"
LEVELS = ["normal", "warning", "critical", "unknown"]
ORIGIN = {"name": "crowd-monitor", "sw": __version__}


def node_id(client_id: str) -> str:
    """The discovery node of one daemon (its sanitised client id)."""
    return topic_segment(client_id)


def _availability(topics: Topics, camera: str | None) -> dict[str, Any]:
    entries = [{"topic": topics.available, "value_template": ONLINE_ONLY}]
    if camera is not None and camera != SITE:
        entries.append({"topic": topics.camera_status(camera), "value_template": ONLINE_ONLY})
    return {"availability": entries, "availability_mode": "all",
            "payload_available": "online", "payload_not_available": "offline"}


def _device(config: MonitorConfig, node: str, camera: str, client_id: str) -> dict[str, Any]:
    if camera == SITE:
        return {"identifiers": [f"{node}_{SITE}"], "name": f"{client_id} site zones",
                "manufacturer": "crowd-monitor", "model": "site zones", "sw_version": __version__}
    label = config.cameras[camera].label or camera
    return {"identifiers": [f"{node}_{topic_segment(camera)}"], "name": label, "manufacturer": "crowd-monitor",
            "model": "crowd-monitor camera", "sw_version": __version__}


def _has_area(config: MonitorConfig, camera: str, zone: str) -> bool:
    if camera == SITE:
        site = config.site_zones[zone]
        refs = [ref.partition(".") for ref in site.zones]
        # Other daemons' areas are known only once their state arrives: a density needs area_m2 then.
        return site.area_m2 is not None or (not site.remote and all(_has_area(config, cam, z) for cam, _, z in refs))
    cam = config.cameras[camera]
    return cam.zones[zone].area_m2 is not None or cam.calibration is not None


class _Builder:
    """Collects (topic, config) pairs and refuses two entities with one object id."""

    def __init__(self, config: MonitorConfig, topics: Topics, client_id: str):
        self.config, self.topics, self.client_id = config, topics, client_id
        self.node = node_id(client_id)
        self.prefix = config.mqtt.discovery_prefix
        self.expire = int(round(config.mqtt.state_expiry_s))
        self.found: dict[str, dict[str, Any]] = {}

    def add(self, component: str, camera: str, what: str, zone: str | None, body: dict[str, Any],
            gated_by_camera: bool = True) -> None:
        """Add one entity's discovery config."""
        parts = [topic_segment(camera)] + ([topic_segment(zone)] if zone is not None else []) + [what]
        object_id = "_".join(parts)
        topic = f"{self.prefix}/{component}/{self.node}/{object_id}/config"
        if topic in self.found:
            raise UserError(f"Home Assistant entity '{object_id}' would be defined twice: rename the zone "
                            f"'{zone}' of camera '{camera}' (names must stay distinct once sanitised)")
        # No object_id (deprecated by Home Assistant 2025.10): entity ids follow the device and name.
        body = {"unique_id": f"{self.node}_{object_id}", **body,
                "device": _device(self.config, self.node, camera, self.client_id), "origin": ORIGIN,
                **_availability(self.topics, camera if gated_by_camera else None)}
        self.found[topic] = body

    def camera(self, camera: str) -> None:
        """The per-camera entities (whole-frame count, status)."""
        count = self.topics.camera_count(camera)
        self.add("sensor", camera, "count", None, {
            "name": "Count", "state_topic": count, "value_template": "{{ value_json.count }}",
            "json_attributes_topic": count, "unit_of_measurement": "persons", "state_class": "measurement",
            "icon": "mdi:account-group", "expire_after": self.expire})
        # The camera's own connectivity must stay visible while the camera is offline: not gated by it.
        self.add("binary_sensor", camera, "camera", None, {
            "name": "Camera", "state_topic": self.topics.camera_status(camera),
            "value_template": "{{ 'ON' if value == 'online' else 'OFF' }}", "payload_on": "ON",
            "payload_off": "OFF", "device_class": "connectivity", "expire_after": self.expire},
            gated_by_camera=False)

    def zone(self, camera: str, zone: str) -> None:
        """The per-zone entities (count, density, alert)."""
        state, alert = self.topics.zone_state(camera, zone), self.topics.zone_alert(camera, zone)
        self.add("sensor", camera, "count", zone, {
            "name": f"{zone} count", "state_topic": state, "value_template": "{{ value_json.count }}",
            "json_attributes_topic": state, "unit_of_measurement": "persons", "state_class": "measurement",
            "icon": "mdi:account-group", "expire_after": self.expire})
        if _has_area(self.config, camera, zone):
            self.add("sensor", camera, "density", zone, {
                "name": f"{zone} density", "state_topic": state, "value_template": "{{ value_json.density }}",
                "unit_of_measurement": "persons/m²", "state_class": "measurement",
                "suggested_display_precision": 2, "icon": "mdi:account-multiple", "expire_after": self.expire})
        self.add("binary_sensor", camera, "alert", zone, {
            "name": f"{zone} crowd alert", "state_topic": alert,
            "value_template": "{{ 'ON' if value in ('warning', 'critical') else 'OFF' }}",
            "payload_on": "ON", "payload_off": "OFF", "device_class": "safety", "expire_after": self.expire})
        self.add("sensor", camera, "alert_level", zone, {
            "name": f"{zone} alert level", "state_topic": alert, "device_class": "enum", "options": LEVELS,
            "value_template": "{{ value if value in " + repr(tuple(LEVELS)) + " else None }}",
            "icon": "mdi:alert", "expire_after": self.expire})


def discovery_configs(config: MonitorConfig, topics: Topics, client_id: str) -> dict[str, dict[str, Any]]:
    """Discovery topic -> entity config, for every camera and zone of ``config``."""
    builder = _Builder(config, topics, client_id)
    plan = Plan.of(config)
    for camera in plan.cameras:
        builder.camera(camera)
    for camera, zone in plan.zones():
        builder.zone(camera, zone)
    return builder.found


def status_topic(config: MonitorConfig) -> str:
    """Where Home Assistant announces ``online`` after it (re)starts."""
    return f"{config.mqtt.discovery_prefix}/status"
