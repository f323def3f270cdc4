"""A subscriber for tests that records every message with its QoS, retain flag and MQTT 5 properties."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from .broker import MosquittoBroker, TLSFiles


@dataclass
class Received:
    """One message as the subscriber got it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    at: float  # time.monotonic() on arrival
    expiry: int | None = None  # MQTT 5 message expiry interval left, seconds
    properties: dict = field(default_factory=dict)
    dup: bool = False  # the broker's own redelivery of a message it already sent to this subscriber

    @property
    def text(self) -> str:
        """The payload as UTF-8 text."""
        return self.payload.decode()


class Recorder:
    """A subscriber that records every message; MQTT 5, retain-as-published, QoS 2 subscriptions.

    ``live_only=True`` asks for no retained messages when subscribing (retain handling 2), so all
    it records after a (re)subscription was published after it.
    ``persistent=True`` keeps its session on the broker (never a clean start, session expiry one
    hour; with the broker's persistence it survives a broker restart) so QoS 1 messages, and QoS 0
    with ``queue_qos0``, queued while it is away are delivered after it reconnects; it reconnects
    by itself within about a second.
    """

    def __init__(self, broker: MosquittoBroker, topics: list[str] | None = None, *, persistent: bool = False,
                 username: str | None = None, password: str | None = None, tls: TLSFiles | None = None,
                 live_only: bool = False):
        self.topics = topics or ["#"]
        self.messages: list[Received] = []
        self.client_id = f"recorder-{uuid.uuid4().hex[:8]}"
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.connects = 0
        self.subscribes = 0  # SUBACKs: after a reconnect without a session, when it listens again
        self.live_only = live_only  # retain handling 2: no retained messages when subscribing
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        if username:
            client.username_pw_set(username, password)
        if tls is not None:
            client.tls_set(ca_certs=str(tls.ca_file), certfile=str(tls.client_cert), keyfile=str(tls.client_key))
        client.reconnect_delay_set(0.1, 0.5)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600 if persistent else 0
        self.client = client
        # A fresh client id has no session to resume; clean_start=False also on the first connect, or
        # mosquitto 2.0 does not persist the session across a restart.
        client.connect(broker.host, broker.port, keepalive=10, clean_start=not persistent, properties=props)
        client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the recorder could not subscribe")
        self.subscribed_at = time.monotonic()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connects += 1
        if reason_code.is_failure or flags.session_present:
            return
        options = SubscribeOptions(qos=2, retainAsPublished=True,
                                   retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND if self.live_only else
                                   SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE)
        client.subscribe([(topic, options) for topic in self.topics])

    def _on_subscribe(self, *_) -> None:
        with self._cond:
            self.subscribes += 1
            self._cond.notify_all()
        self._subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        props = message.properties
        expiry = getattr(props, "MessageExpiryInterval", None) if props is not None else None
        record = Received(message.topic, bytes(message.payload), message.qos, bool(message.retain),
                          time.monotonic(), expiry, props.json() if props is not None else {}, bool(message.dup))
        with self._cond:
            self.messages.append(record)
            self._cond.notify_all()

    def wait_subscribed(self, times: int, timeout: float = 15.0) -> None:
        """Wait until the broker has acknowledged ``times`` subscriptions (a resubscription after a restart)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.subscribes >= times, timeout):
                raise TimeoutError(f"the recorder subscribed {self.subscribes} time(s), not {times}, in {timeout} s")

    def on(self, topic: str, since: float = 0.0) -> list[Received]:
        """Messages received on ``topic`` (arrived at or after ``since``, a time.monotonic())."""
        with self._cond:
            return [m for m in self.messages if m.topic == topic and m.at >= since]

    def last(self, topic: str) -> Received | None:
        """The latest message on ``topic``, or None."""
        found = self.on(topic)
        return found[-1] if found else None

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 10.0,
                 what: str = "a matching message") -> Received:
        """The first recorded message (old or new) matching ``predicate``; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({m.topic for m in self.messages})
                    raise TimeoutError(f"no {what} within {timeout} s; topics seen: {seen}")
                self._cond.wait(left)

    def wait_payload(self, topic: str, payload: str | bytes, timeout: float = 10.0, since: float = 0.0) -> Received:
        """The first message on ``topic`` with exactly ``payload`` (arrived at or after ``since``)."""
        want = payload.encode() if isinstance(payload, str) else payload
        return self.wait_for(lambda m: m.topic == topic and m.payload == want and m.at >= since, timeout,
                             f"{want!r} on {topic}")

    def settle(self, quiet_s: float = 0.5, timeout: float = 10.0) -> None:
        """Wait until no message arrived for ``quiet_s`` since subscribing (retained ones come after it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                last = max(self.messages[-1].at if self.messages else 0.0, self.subscribed_at)
            if time.monotonic() - last >= quiet_s:
                return
            time.sleep(0.05)

    def retained(self) -> dict[str, Received]:
        """The last retained, non-empty message per topic (what a late subscriber was given)."""
        found: dict[str, Received] = {}
        for message in list(self.messages):
            if message.retain and message.payload:
                found[message.topic] = message
            elif message.retain:
                found.pop(message.topic, None)
        return found

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()
