"""One client connection of the mini broker: decodes its packets, encodes what it is sent.

Clean sessions only: subscriptions and in-flight messages live as long as the TCP connection.
Deliveries are at most QoS 1 (a QoS 2 subscription is granted QoS 1; incoming QoS 2 publishes are
acknowledged with the full PUBREC/PUBREL/PUBCOMP exchange and forwarded at QoS 1 at most).
"""

from __future__ import annotations

import itertools
import socket
import struct
import time
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING

from . import mqtt_codec as wire
from .mqtt_codec import Malformed, Reader, prop
from .mqtt_topics import Message, SubOptions, valid_filter, valid_topic

if TYPE_CHECKING:
    from .minibroker import MiniBroker

MAX_PACKET = 16 * 1024 * 1024  # larger packets from a client close its connection
MAX_OUTPUT = 32 * 1024 * 1024  # a subscriber this far behind is disconnected
MAX_PENDING = 1000  # QoS 1 messages queued beyond the client's receive maximum (oldest dropped)
PROTOCOLS = {("MQTT", 4), ("MQTT", 5), ("MQIsdp", 3)}  # 3.1.1, 5, and 3.1
FIXED_FLAGS = {6: 2, 8: 2, 10: 2}  # PUBREL, SUBSCRIBE, UNSUBSCRIBE: reserved flags 0010; others 0000
_ids = itertools.count(1)


class Session:
    """A TCP connection from one client; ``broker`` routes what it publishes."""

    def __init__(self, sock: socket.socket, broker: "MiniBroker"):
        self.sock, self.broker = sock, broker
        self.inbox, self.outbox = bytearray(), bytearray()
        self.version = 4
        self.client_id = ""
        self.connected = False
        self.closed = False
        self.keepalive = 0
        self.last_heard = time.monotonic()
        self.will: Message | None = None
        self.will_expiry: int | None = None  # MQTT 5 message expiry of the will, counted from its publication
        self.will_delay = 0.0  # seconds: min(will delay, session expiry); MQTT 5 only
        self.subscriptions: dict[str, SubOptions] = {}
        self.receive_maximum, self.max_packet = 65535, MAX_PACKET
        self.inflight: set[int] = set()
        self.pending: deque[tuple[Message, int, bool]] = deque(maxlen=MAX_PENDING)
        self.qos2_received: set[int] = set()
        self._next_id = 0

    # -- input ------------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Bytes from the socket: handle every whole packet; raises Malformed."""
        self.inbox += data
        while not self.closed and (whole := wire.split_packet(self.inbox, MAX_PACKET)) is not None:
            self.last_heard = time.monotonic()
            self.handle(*whole)

    def handle(self, first: int, body: bytes) -> None:
        """Dispatch one packet by type; only CONNECT is allowed first, and only once."""
        kind, flags = first >> 4, first & 0x0F
        if kind != 3 and flags != FIXED_FLAGS.get(kind, 0):
            raise Malformed(f"reserved flags {flags:04b} in packet type {kind}")
        if (kind == 1) == self.connected:
            raise Malformed("CONNECT expected first and only once")
        handler = {1: self.on_connect, 3: self.on_publish, 4: self.on_puback, 5: self.on_ignored,
                   6: self.on_pubrel, 7: self.on_ignored, 8: self.on_subscribe, 10: self.on_unsubscribe,
                   12: self.on_pingreq, 14: self.on_disconnect}.get(kind)
        if handler is None:
            raise Malformed(f"unexpected packet type {kind} from a client")  # incl. AUTH: not supported
        reader = Reader(body)
        handler(flags, reader) if kind == 3 else handler(reader)
        if reader.remaining() and kind not in (3, 5, 7):
            raise Malformed(f"{reader.remaining()} stray bytes after packet type {kind}")

    def on_connect(self, r: Reader) -> None:
        """CONNECT: any credentials are accepted; clean session in any case."""
        name, level = r.text(), r.byte()
        if (name, level) not in PROTOCOLS:
            if name not in ("MQTT", "MQIsdp"):
                raise Malformed(f"unknown protocol name {name!r}")
            return self._refuse(0x01, 0x84)  # unacceptable / unsupported protocol version
        self.version = level
        flags, self.keepalive = r.byte(), r.u16()
        if flags & 0x01 or (not flags & 0x04 and flags & 0x38) or (flags >> 3) & 3 == 3:
            raise Malformed(f"invalid CONNECT flags {flags:08b}")
        props = r.properties() if self.v5 else []
        client_id = r.text()
        will_props = r.properties() if self.v5 and flags & 0x04 else []
        if flags & 0x04:
            topic, payload = r.text(), r.binary()
            if not valid_topic(topic):
                raise Malformed(f"invalid will topic {topic!r}")
            self.will = self._message(topic, payload, (flags >> 3) & 3, bool(flags & 0x20), will_props)
            self.will_expiry = prop(will_props, wire.MESSAGE_EXPIRY)  # type: ignore[assignment]
            self.will_delay = min(prop(will_props, wire.WILL_DELAY, 0), prop(props, wire.SESSION_EXPIRY, 0))
        if flags & 0x80:
            r.text()  # user name: anonymous demo broker, any credentials are accepted
        if flags & 0x40:
            r.binary()
        if prop(props, wire.AUTH_METHOD) is not None:
            return self._refuse(0x86, 0x8C)  # enhanced authentication is not supported
        if prop(props, wire.RECEIVE_MAXIMUM, 1) == 0 or prop(props, wire.MAXIMUM_PACKET_SIZE, 1) == 0:
            raise Malformed("receive maximum and maximum packet size must not be 0")
        self.receive_maximum = prop(props, wire.RECEIVE_MAXIMUM, 65535)  # type: ignore[assignment]
        self.max_packet = min(MAX_PACKET, prop(props, wire.MAXIMUM_PACKET_SIZE, MAX_PACKET))  # type: ignore[type-var]
        assigned: wire.Properties = []
        if not client_id:
            if self.version != 5 and not (flags & 0x02 and self.version == 4):
                return self._refuse(0x02, 0x85)  # identifier rejected (3.1, or 3.1.1 without clean session)
            client_id = f"minibroker-{next(_ids)}"
            assigned = [(wire.ASSIGNED_CLIENT_ID, client_id)]
        self.client_id, self.connected = client_id, True
        if self.will is not None:
            self.will = replace(self.will, sender=client_id)
        self.broker.connected(self)
        if self.v5:  # no subscription identifiers, no shared subscriptions, no topic aliases
            self.send(0x20, b"\x00\x00" + wire.encode_properties(
                assigned + [(0x29, 0), (0x2A, 0), (wire.MAXIMUM_PACKET_SIZE, MAX_PACKET)]))
        else:
            self.send(0x20, b"\x00\x00")

    def on_publish(self, flags: int, r: Reader) -> None:
        """PUBLISH from the client: route it, then acknowledge (QoS 1: PUBACK, QoS 2: PUBREC)."""
        qos, retain = (flags >> 1) & 3, bool(flags & 1)
        if qos == 3 or (qos == 0 and flags & 0x08):
            raise Malformed(f"invalid PUBLISH flags {flags:04b}")
        topic = r.text()
        packet_id = r.u16() if qos else 0
        props = r.properties() if self.v5 else []
        if qos and packet_id == 0:
            raise Malformed("packet identifier 0")
        if prop(props, wire.TOPIC_ALIAS) is not None or prop(props, wire.SUBSCRIPTION_ID) is not None:
            raise Malformed("topic alias or subscription identifier from a client (topic alias maximum is 0)")
        if not valid_topic(topic):
            raise Malformed(f"invalid topic name {topic!r}")
        message = self._message(topic, r.take(r.remaining()), qos, retain, props)
        if qos < 2 or packet_id not in self.qos2_received:  # a resent QoS 2 message is routed once
            self.broker.publish(message)
        if qos == 1:
            self.send(0x40, struct.pack(">H", packet_id))
        elif qos == 2:
            self.qos2_received.add(packet_id)
            self.send(0x50, struct.pack(">H", packet_id))

    def on_pubrel(self, r: Reader) -> None:
        """PUBREL: end of an incoming QoS 2 exchange."""
        packet_id = r.u16()
        self._skip_ack_tail(r)
        known = packet_id in self.qos2_received
        self.qos2_received.discard(packet_id)
        tail = b"\x92" if self.v5 and not known else b""  # packet identifier not found
        self.send(0x70, struct.pack(">H", packet_id) + tail)

    def on_puback(self, r: Reader) -> None:
        """PUBACK for a QoS 1 delivery: frees its identifier, sends what waited."""
        self.inflight.discard(r.u16())
        self._skip_ack_tail(r)
        while self.pending and len(self.inflight) < self.receive_maximum:
            self.deliver(*self.pending.popleft())

    def on_ignored(self, r: Reader) -> None:
        """PUBREC/PUBCOMP: the broker never sends QoS 2, so there is nothing to complete."""
        r.take(r.remaining())

    def on_subscribe(self, r: Reader) -> None:
        """SUBSCRIBE: grant at most QoS 1, answer SUBACK, then send matching retained messages."""
        packet_id = r.u16()
        if self.v5:
            r.properties()  # subscription identifiers are not supported (CONNACK says so)
        requests = []
        while r.remaining():
            topic_filter, options = r.text(), r.byte()
            if options & (0xC0 if self.v5 else 0xFC) or options & 3 == 3 or (options >> 4) & 3 == 3:
                raise Malformed(f"invalid subscription options {options:08b}")
            requests.append((topic_filter, options))
        if not requests:
            raise Malformed("SUBSCRIBE without topic filters")
        codes, fresh = bytearray(), []
        for topic_filter, options in requests:
            if topic_filter.startswith("$share/"):
                codes.append(0x9E if self.v5 else 0x80)  # shared subscriptions not supported
            elif not valid_filter(topic_filter):
                codes.append(0x8F if self.v5 else 0x80)  # topic filter invalid
            else:
                sub = SubOptions(min(options & 3, 1), bool(options & 4) and self.v5,
                                 bool(options & 8) and self.v5, (options >> 4) & 3 if self.v5 else 0)
                is_new = topic_filter not in self.subscriptions
                self.subscriptions[topic_filter] = sub
                codes.append(sub.qos)
                if sub.retain_handling == 0 or (sub.retain_handling == 1 and is_new):
                    fresh.append((topic_filter, sub))
        self.send(0x90, struct.pack(">H", packet_id) + (b"\x00" if self.v5 else b"") + bytes(codes))
        for topic_filter, sub in fresh:
            for message in self.broker.retained_matching(topic_filter):
                self.deliver(message, min(message.qos, sub.qos), True)

    def on_unsubscribe(self, r: Reader) -> None:
        """UNSUBSCRIBE: MQTT 5 says per filter whether a subscription existed."""
        packet_id = r.u16()
        if self.v5:
            r.properties()
        codes = bytearray()
        while r.remaining():
            codes.append(0x00 if self.subscriptions.pop(r.text(), None) else 0x11)
        if not codes:
            raise Malformed("UNSUBSCRIBE without topic filters")
        self.send(0xB0, struct.pack(">H", packet_id) + (b"\x00" + bytes(codes) if self.v5 else b""))

    def on_pingreq(self, r: Reader) -> None:
        """PINGREQ: PINGRESP."""
        self.send(0xD0, b"")

    def on_disconnect(self, r: Reader) -> None:
        """DISCONNECT: the will is dropped, unless MQTT 5 reason 0x04 asks for it."""
        if r.remaining() and not self.v5:
            raise Malformed("DISCONNECT with a body from an MQTT 3 client")
        reason = r.byte() if r.remaining() else 0
        if r.remaining():
            r.properties()
        self.broker.drop(self, send_will=reason == 0x04, why="client disconnected")

    # -- output -----------------------------------------------------------------------------------
    @property
    def v5(self) -> bool:
        """True for an MQTT 5 client."""
        return self.version == 5

    def send(self, first: int, body: bytes) -> None:
        """Queue a packet; a client that stopped reading is disconnected."""
        if self.closed:
            return
        self.outbox += wire.packet(first, body)
        if len(self.outbox) > MAX_OUTPUT:
            self.broker.drop(self, send_will=True, why="too slow: output buffer full")
        else:
            self.broker.want_write(self)

    def deliver(self, message: Message, qos: int, retain: bool) -> None:
        """Send ``message`` at ``qos`` (0 or 1); expired messages are dropped, expiry is counted down."""
        left = message.expiry_left(time.monotonic())
        if left == 0:
            return
        if qos and len(self.inflight) >= self.receive_maximum:
            self.pending.append((message, qos, retain))
            return
        props = message.props + ([(wire.MESSAGE_EXPIRY, left)] if left is not None else [])
        packet_id = self._free_id() if qos else 0
        body = (wire.text(message.topic) + (struct.pack(">H", packet_id) if qos else b"")
                + (wire.encode_properties(props) if self.v5 else b"") + message.payload)
        if len(body) + 5 > self.max_packet:
            return  # the client cannot take it: MQTT 5 says the server discards it
        if qos:
            self.inflight.add(packet_id)
        self.send(0x30 | qos << 1 | int(retain), body)

    def _free_id(self) -> int:
        while True:
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self.inflight:
                return self._next_id

    def _refuse(self, code311: int, code5: int) -> None:
        body = bytes([0, code5]) + b"\x00" if self.v5 else bytes([0, code311])
        self.send(0x20, body)
        self.broker.drop(self, send_will=False, why=f"connection refused (code 0x{code5:02x})")

    def _message(self, topic: str, payload: bytes, qos: int, retain: bool, props: wire.Properties) -> Message:
        expiry = prop(props, wire.MESSAGE_EXPIRY)
        kept = [(k, v) for k, v in props if k not in (wire.MESSAGE_EXPIRY, wire.WILL_DELAY)]
        expires_at = None if expiry is None else time.monotonic() + expiry  # type: ignore[operator]
        return Message(topic, payload, qos, retain, kept, expires_at, self.client_id)

    def _skip_ack_tail(self, r: Reader) -> None:
        if self.v5 and r.remaining():
            r.byte()
            if r.remaining():
                r.properties()
