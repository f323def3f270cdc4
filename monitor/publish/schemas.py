"""The JSON Schemas of every payload, shipped as package data in ``monitor/schemas``."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


def schema_names() -> list[str]:
    """Names of the shipped schemas (file names without ``.json``)."""
    folder = resources.files("monitor") / "schemas"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``monitor/schemas/<name>.json`` as a dict."""
    return json.loads((resources.files("monitor") / "schemas" / f"{name}.json").read_text())


# Topic filters (relative to the topic prefix) and the schema of their payloads.
TOPIC_SCHEMAS = (
    ("available", "available"),
    ("events", "event"),
    ("stats", "stats"),
    ("+/status", "camera_status"),
    ("+/status/detail", "camera_status_detail"),
    ("+/count", "camera_count"),
    ("+/heatmap", "heatmap"),
    ("+/+/state", "zone_state"),
    ("+/+/alert", "alert"),
)
DISCOVERY_SCHEMAS = (("sensor/+/+/config", "ha_sensor"), ("binary_sensor/+/+/config", "ha_binary_sensor"))


def schema_for(topic: str, prefix: str, discovery_prefix: str = "homeassistant") -> str | None:
    """Name of the schema of ``topic``'s payload, or None for a topic outside the table."""
    from paho.mqtt.client import topic_matches_sub

    for pattern, name in TOPIC_SCHEMAS:
        if topic_matches_sub(f"{prefix}/{pattern}", topic):
            return name
    for pattern, name in DISCOVERY_SCHEMAS:
        if topic_matches_sub(f"{discovery_prefix}/{pattern}", topic):
            return name
    return None
