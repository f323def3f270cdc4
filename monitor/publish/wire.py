"""Handing one batch of messages to paho, outside the publisher's lock."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties

from .core import Core
from .outbox import Outgoing
from .state import Retained
from .topics import Topics


@dataclass
class Work:
    """One batch for the wire, collected under the lock, sent without it."""

    clears: list[tuple[str, int]] = field(default_factory=list)
    records: list[Retained] = field(default_factory=list)
    discovery: dict[str, dict] = field(default_factory=dict)
    events: list[Outgoing] = field(default_factory=list)
    stats: bytes | None = None
    heatmaps: dict[str, bytes] = field(default_factory=dict)

    def empty(self) -> bool:
        """True when there is nothing to send."""
        return not (self.clears or self.records or self.discovery or self.events or self.stats or self.heatmaps)


def send(client: mqtt.Client, core: Core, topics: Topics, work: Work, expiry: Properties | None) -> None:
    """Hand a batch to paho (never under the lock); what paho refuses is queued again."""
    awaiting: dict[int, str] = {}  # QoS 1 message id -> topic, to name a topic the broker denies

    def publish(topic: str, payload: bytes | str, qos: int, retain: bool = True,
                properties: Properties | None = None) -> mqtt.MQTTMessageInfo | None:
        """paho's receipt, or None when its queue is full and the message was not taken."""
        info = client.publish(topic, payload, qos, retain=retain, properties=properties)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            return None
        if qos:
            awaiting[info.mid] = topic
        return info

    refused_clears = [(t, q) for t, q in work.clears if publish(t, b"", q) is None]
    refused = [r for r in work.records
               if publish(r.topic, r.payload, r.qos, properties=expiry if r.expires else None) is None]
    refused_discovery = [t for t, body in work.discovery.items() if publish(t, _json(body), 1) is None]
    sent: list[tuple[int, Outgoing]] = []
    unsent: list[Outgoing] = []
    for item in work.events:
        info = publish(topics.events, item.payload, 1, retain=False)
        if info is None:
            unsent.append(item)
        else:  # sent, or queued by a client that just lost its connection: resent after reconnecting
            sent.append((info.mid, item))
    if work.stats is not None:
        client.publish(topics.stats, work.stats, qos=0)
    for camera, jpeg in work.heatmaps.items():
        client.publish(topics.heatmap(camera), jpeg, qos=0)
    with core.cond:
        core.awaiting.update(awaiting)
        for mid, item in sent:
            core.outbox.sent(mid, item)
        core.outbox.unsend(unsent)
        core.state.requeue(refused_clears, refused)
        core.counters.heatmaps_sent += len(work.heatmaps)
        core.send_discovery = core.send_discovery or bool(refused_discovery)


def _json(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
