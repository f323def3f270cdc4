"""What the publisher's API threads and its network thread share, guarded by one condition.

Rule that keeps it deadlock-free: nobody calls into paho while holding ``Core.cond``; paho's
callbacks (which run holding paho's own locks) only take ``cond`` briefly.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import MonitorConfig, MqttConfig
from .connection import default_client_id
from .discovery import discovery_configs
from .outbox import Outbox
from .payloads import encode
from .state import Retained, RetainedState
from .topics import Plan, Topics

# Settings whose change needs a new connection (the will and the client identity depend on them).
CONNECTION_KEYS = ("host", "port", "username", "password", "tls", "client_id", "protocol", "keepalive_s",
                   "will_delay_s", "topic_prefix", "homeassistant", "discovery_prefix")


@dataclass(frozen=True)
class Context:
    """Everything derived from one config: topic names, the plan, discovery configs."""

    config: MonitorConfig
    topics: Topics
    plan: Plan
    client_id: str
    discovery: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, config: MonitorConfig) -> "Context":
        """Derive the context of ``config`` (raises UserError on clashing entity names)."""
        mqtt = config.mqtt
        topics = Topics(mqtt.topic_prefix)
        client_id = mqtt.client_id or default_client_id()
        discovery = discovery_configs(config, topics, client_id) if mqtt.homeassistant else {}
        return cls(config, topics, Plan.of(config), client_id, discovery)

    @property
    def mqtt(self) -> MqttConfig:
        """The MQTT section."""
        return self.config.mqtt

    def needs_new_connection(self, other: "Context") -> bool:
        """True when ``other`` cannot reuse this context's connection."""
        return (any(getattr(self.mqtt, k) != getattr(other.mqtt, k) for k in CONNECTION_KEYS)
                or self.client_id != other.client_id)

    def same_place(self, other: "Context") -> bool:
        """True when both publish to the same broker under the same prefix."""
        return (self.mqtt.host, self.mqtt.port, self.mqtt.topic_prefix) == (
            other.mqtt.host, other.mqtt.port, other.mqtt.topic_prefix)


@dataclass
class Counters:
    """Connection and heatmap counters reported by ``health()``."""

    connect_attempts: int = 0
    connections: int = 0
    last_error: str | None = None
    last_error_kind: str | None = None
    heatmaps_sent: int = 0
    heatmaps_skipped: int = 0
    protocol: str | None = None
    denied: int = 0  # QoS 1 publishes the broker refused (MQTT 5 PUBACK reason code >= 0x80)
    last_denied: str | None = None  # "'topic' (reason)"
    last_denied_at: float | None = None  # time.monotonic()
    changed_at: float = field(default_factory=time.monotonic)  # when connected/disconnected last


class Core:
    """Shared state: retained records, the event outbox, acks, flags and counters."""

    def __init__(self, config: MonitorConfig):
        self.cond = threading.Condition()
        self.context = Context.of(config)
        self.state = RetainedState()
        self.outbox = Outbox(config.mqtt.outbox_size)
        self.acks: queue.SimpleQueue[tuple[int, str | None]] = queue.SimpleQueue()  # (mid, refusal reason)
        self.awaiting: dict[int, str] = {}  # mid -> topic of QoS 1 messages sent on this connection
        self.counters = Counters()
        self.connected = False
        self.stopping = False
        self.clean_stop = True
        self.restart = False  # reload changed the connection settings
        self.send_discovery = True
        self.clear_unknown = True  # first connection: delete retained topics we have no state for
        self.stats: dict[str, Any] | None = None
        self.stats_due = 0.0  # time.monotonic() when the next stats may go out
        self.heatmaps: dict[str, bytes] = {}
        self.heatmap_at: dict[str, float] = {}

    def set_retained(self, kind: str, camera: str, zone: str, body: dict[str, Any] | str, qos: int,
                     ts: float | None = None) -> None:
        """Store a state payload (JSON object or bare word); queued when it changed. Hold ``cond``."""
        if isinstance(body, dict):
            payload = encode(body)
            signature = encode({k: v for k, v in body.items() if k != "ts"})
        else:
            payload = signature = body.encode()
        topic = self.context.topics.of(kind, camera, zone)
        if self.state.set(Retained(topic, payload, qos, True, ts, signature, (kind, camera, zone))):
            self.cond.notify_all()

    def switch_context(self, new: Context) -> int:
        """Adopt a reloaded config: delete what it removed, rename what moved. Hold ``cond``."""
        old = self.context
        moved = new.topics != old.topics  # a new prefix: kept state moves to its new topics
        for record in self.state.records():
            if moved or not new.plan.has(*record.key):
                self.state.forget(record.topic)
                if new.plan.has(*record.key):
                    self.state.set(replace(record, topic=new.topics.of(*record.key)))
        removed = old.plan.retained_topics(old.topics) - new.plan.retained_topics(new.topics)
        for topic in sorted(removed) + sorted(set(old.discovery) - set(new.discovery)):
            self.state.clear(topic)
        if old.needs_new_connection(new):
            self.restart = True
        self.clear_unknown = self.clear_unknown or moved  # a previous run may have left state there
        self.context = new
        self.outbox.resize(new.mqtt.outbox_size)
        self.send_discovery = True
        self.cond.notify_all()
        return len(removed)

    def drain_acks(self) -> None:
        """Apply the PUBACKs that paho reported, counting the publishes the broker refused. Hold ``cond``."""
        while True:
            try:
                mid, refusal = self.acks.get_nowait()
            except queue.Empty:
                return
            topic = self.awaiting.pop(mid, None)
            if self.outbox.acked(mid, refusal is None) is not None:
                topic = self.context.topics.events
            if refusal is not None:
                c = self.counters
                c.denied += 1
                c.last_denied, c.last_denied_at = f"'{topic or '?'}' ({refusal})", time.monotonic()

    def set_connected(self, connected: bool) -> None:
        """The connection came up or went down (a new connection numbers its messages afresh). Hold ``cond``."""
        self.connected = connected
        self.counters.changed_at = time.monotonic()
        self.awaiting.clear()

    def health(self) -> dict[str, Any]:
        """The publisher's health as a plain dict. Hold ``cond``."""
        mqtt, c = self.context.mqtt, self.counters
        now = time.monotonic()
        # State is republished every heartbeat, so a denial that persists shows up again within one.
        denied_recently = c.last_denied_at is not None and now - c.last_denied_at <= 2 * mqtt.heartbeat_s + 5
        return {"connected": self.connected, "protocol": c.protocol if self.connected else None,
                "state_for_s": round(now - c.changed_at, 1), "topic_prefix": mqtt.topic_prefix,
                "denied": c.denied, "denied_recently": denied_recently, "last_denied": c.last_denied,
                "broker": f"{mqtt.host}:{mqtt.port}", "client_id": self.context.client_id,
                "outbox": len(self.outbox), "outbox_capacity": self.outbox.capacity,
                "inflight": self.outbox.inflight, "dropped": self.outbox.dropped,
                "delivered": self.outbox.delivered, "rejected": self.outbox.rejected,
                "connect_attempts": c.connect_attempts, "connections": c.connections,
                "last_error": c.last_error, "auth_failed": c.last_error_kind == "auth",
                "heatmaps_sent": c.heatmaps_sent, "heatmaps_skipped": c.heatmaps_skipped,
                "state_pending": self.state.pending()}
