"""Topics, filters and the messages the mini broker routes and retains."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .mqtt_codec import Properties


@dataclass(frozen=True)
class Message:
    """An application message as the broker keeps it (QoS as published, 0 to 2)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    props: Properties = field(default_factory=list)  # forwarded MQTT 5 properties, expiry excluded
    expires_at: float | None = None  # time.monotonic() deadline from the MQTT 5 message expiry
    sender: str = ""  # client id, for the MQTT 5 "no local" option

    def expiry_left(self, now: float) -> int | None:
        """Whole seconds of life left (rounded up), 0 when expired, None when it never expires."""
        if self.expires_at is None:
            return None
        return max(0, math.ceil(self.expires_at - now))


@dataclass(frozen=True)
class SubOptions:
    """What one subscription asked for (MQTT 5 options; 3.1.1 clients only set ``qos``)."""

    qos: int  # granted QoS (the broker grants at most 1)
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0  # 0: send retained, 1: only for a new subscription, 2: never


def valid_topic(topic: str) -> bool:
    """A topic name one can publish to: not empty, no wildcards."""
    return bool(topic) and "+" not in topic and "#" not in topic


def valid_filter(topic_filter: str) -> bool:
    """A subscription filter: ``+`` fills a whole level, ``#`` only as the whole last level."""
    if not topic_filter:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "+" in level and level != "+":
            return False
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
    return True


def matches(topic_filter: str, topic: str) -> bool:
    """True when ``topic`` falls under ``topic_filter``; ``$`` topics escape leading wildcards."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    wanted, levels = topic_filter.split("/"), topic.split("/")
    for index, part in enumerate(wanted):
        if part == "#":
            return True  # also matches the parent level itself: "a/#" matches "a"
        if index >= len(levels) or (part != "+" and part != levels[index]):
            return False
    return len(wanted) == len(levels)
