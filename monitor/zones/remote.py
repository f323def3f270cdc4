"""Other daemons' zones, from their retained MQTT state: a small thread-safe store.

The MQTT client thread feeds it (``feed``) what arrives on ``topics()``: each named daemon's
``P/available`` and each named zone's ``P/CAM/ZONE/state``.  The aggregator reads it (``member``)
from the daemon's main loop.  A remote zone is fresh while its daemon says ``online``, its state
has a count, and that state's ``ts`` is at most ``remote_zones.expiry_s`` old; otherwise it is a
missing member of its site zones, with the last count it had.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any

from ..config import MonitorConfig, SiteZoneConfig
from ..naming import topic_segment
from .sites import Member

ONLINE = "online"


@dataclass(frozen=True)
class RemoteRef:
    """One zone of another daemon: its topic prefix and ``camera.zone`` as named in its config."""

    prefix: str
    ref: str

    @property
    def source(self) -> str:
        """What a site zone's ``stale`` list names when this zone is missing: ``prefix/camera``."""
        return f"{self.prefix}/{self.ref.partition('.')[0]}"

    @property
    def state_topic(self) -> str:
        """``P/CAM/ZONE/state`` of that daemon (names made topic-safe as that daemon does)."""
        camera, _, zone = self.ref.partition(".")
        return f"{self.prefix}/{topic_segment(camera)}/{topic_segment(zone)}/state"

    @property
    def available_topic(self) -> str:
        """``P/available`` of that daemon."""
        return f"{self.prefix}/available"


def remote_refs(spec: SiteZoneConfig) -> list[RemoteRef]:
    """The other daemons' zones a site zone names."""
    return [RemoteRef(prefix, ref) for prefix, refs in spec.remote.items() for ref in refs]


def remote_topics(config: MonitorConfig) -> frozenset[str]:
    """Every topic to subscribe to for the remote members of ``config``'s site zones."""
    refs = _all_refs(config).values()
    return frozenset(t for ref in refs for t in (ref.state_topic, ref.available_topic))


def _all_refs(config: MonitorConfig) -> dict[str, RemoteRef]:
    """State topic -> remote zone, over every site zone."""
    return {ref.state_topic: ref for spec in config.site_zones.values() for ref in remote_refs(spec)}


@dataclass(frozen=True)
class _State:
    """The latest state payload of one remote zone."""

    ts: float
    count: float | None
    raw: float | None
    area: float | None


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def parse_state(payload: bytes) -> _State | None:
    """A ``P/CAM/ZONE/state`` payload, or None when it is not one (an empty payload deletes it)."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    ts = _number(body, "ts") if isinstance(body, dict) else None
    if ts is None:
        return None
    return _State(ts, _number(body, "count"), _number(body, "raw_count"), _number(body, "area_m2"))


class RemoteZones:
    """Latest availability of other daemons and state of their zones; fed by one thread, read by another."""

    def __init__(self, config: MonitorConfig) -> None:
        self._lock = threading.Lock()
        self._available: dict[str, str] = {}  # prefix -> its P/available payload
        self._states: dict[str, _State] = {}  # state topic -> latest state
        self._last: dict[str, tuple[float, float]] = {}  # state topic -> (last count, its ts)
        self._refs: dict[str, RemoteRef] = {}  # state topic -> remote zone
        self._topics: frozenset[str] = frozenset()
        self._expiry_s = config.remote_zones.expiry_s
        self.ignored = 0  # payloads on our topics that were not a state or availability
        self.configure(config)

    def configure(self, config: MonitorConfig) -> None:
        """Follow a (re)loaded config: what it no longer names is forgotten."""
        refs = _all_refs(config)
        with self._lock:
            self._refs, self._topics, self._expiry_s = refs, remote_topics(config), config.remote_zones.expiry_s
            for table in (self._states, self._last):
                for topic in [t for t in table if t not in refs]:
                    del table[topic]
            prefixes = {ref.prefix for ref in refs.values()}
            self._available = {p: v for p, v in self._available.items() if p in prefixes}

    def topics(self) -> frozenset[str]:
        """The topics this store wants (availability and state of every named remote zone)."""
        with self._lock:
            return self._topics

    def feed(self, topic: str, payload: bytes) -> None:
        """A message on one of ``topics()`` (called from the MQTT client thread)."""
        with self._lock:
            if topic not in self._topics:
                return
            if topic not in self._refs:  # the other one: a daemon's P/available
                self._available[topic.rpartition("/")[0]] = payload.decode("utf-8", "replace").strip()
                return
            if not payload:  # a clean stop or a removed zone deletes the retained state
                self._states.pop(topic, None)
                return
            state = parse_state(payload)
            if state is None:
                self.ignored += 1
                return
            self._states[topic] = state
            if state.count is not None:
                self._last[topic] = (state.count, state.ts)

    def member(self, ref: RemoteRef, now: float) -> Member:
        """The zone as a site zone member at ``now``: fresh, or missing with its last count."""
        topic = ref.state_topic
        with self._lock:
            available = self._available.get(ref.prefix)
            state = self._states.get(topic)
            last = self._last.get(topic)
            expiry = self._expiry_s
        last_count, last_ts = last if last is not None else (None, None)
        if state is None:
            return Member(ref.source, None, None, None, last=last_count, last_ts=last_ts)
        if available != ONLINE or state.count is None or now - state.ts > expiry:
            return Member(ref.source, None, None, state.area, last=last_count, last_ts=last_ts)
        return Member(ref.source, state.count, state.raw, state.area, last=state.count, last_ts=state.ts, ts=state.ts)
