"""What makes the daemon unhealthy (a non-200 /healthz) or worth a warning, from its stages' figures."""

from __future__ import annotations

import time
from typing import Any


def mqtt_problems(mqtt: dict[str, Any]) -> list[str]:
    """The broker link's problems: not connected (and why), or publishes the broker denies."""
    if not mqtt:
        return []
    broker = mqtt.get("broker", "?")
    if not mqtt.get("connected"):
        why = mqtt.get("last_error") or f"connecting to the broker {broker}"
        return [f"MQTT not connected (for {mqtt.get('state_for_s', 0):.0f} s): {why}"]
    if mqtt.get("denied_recently"):
        # Only MQTT 5 brokers say so (PUBACK reason codes); a 3.1.1 broker drops denied messages silently.
        return [f"MQTT broker {broker} denies our publishes: {mqtt.get('denied')} refused so far, the latest "
                f"on {mqtt.get('last_denied')}; allow topic prefix '{mqtt.get('topic_prefix')}' for our "
                "client in the broker's ACL"]
    return []


def reload_warnings(reload: dict[str, Any]) -> list[str]:
    """A rejected reload: the daemon runs on, with the previous config."""
    error, at = reload.get("last_error"), reload.get("last_failed_at")
    if not error:
        return []
    lines = str(error).splitlines()
    more = f" (and {len(lines) - 1} more problem(s), see the log)" if len(lines) > 1 else ""
    when = time.strftime("%H:%M:%S", time.localtime(at)) if at else "?"
    return [f"config reload at {when} rejected, running the previous config: {lines[0]}{more}"]


def camera_warnings(cameras) -> list[str]:
    """Cameras that deliver frames with nothing to count (``blind``): their zones read unknown."""
    return [f"camera {cam.name} is blind: {cam.reason}; its zones read unknown" for cam in cameras
            if cam.state == "blind"]


def history_warnings(history: dict[str, Any]) -> list[str]:
    """History switched off by an error (an unwritable or damaged file): counts are not kept."""
    if not history or history.get("enabled", True):
        return []
    return [f"history is off, counts are not being recorded: {history.get('error') or 'unknown error'}"]


def site_warnings(zones) -> list[str]:
    """Site zones missing members of other daemons (``prefix/camera`` in their ``stale`` list)."""
    warnings = []
    for zone in zones:
        remote = [source for source in zone.stale if "/" in source]
        if zone.camera == "site" and remote:
            warnings.append(f"site zone {zone.zone} misses {', '.join(remote)} (another daemon offline, or its "
                            f"state expired): its level is {zone.level.value}")
    return warnings
