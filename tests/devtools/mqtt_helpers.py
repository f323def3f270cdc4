"""MQTT clients for the mini broker tests: recording paho subscribers and a raw-socket client."""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from monitor.devtools import mqtt_codec as wire

V311, V5 = mqtt.MQTTv311, mqtt.MQTTv5
WAIT_S = 10.0  # generous: the machine is shared and noisy


@dataclass(frozen=True)
class Received:
    """One message as a paho subscriber saw it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    expiry: int | None  # MQTT 5 message expiry interval as delivered


class Client:
    """A paho 2.x client on its own network thread that records what it receives."""

    def __init__(self, port: int, protocol: int = V311, client_id: str = "", keepalive: int = 60,
                 will: tuple[str, bytes, int, bool] | None = None, will_delay: int = 0, session_expiry: int = 0):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol,
                                  reconnect_on_failure=False)
        self.messages: list[Received] = []
        self.cond = threading.Condition()
        self.connack: object = None
        self.disconnects: list[object] = []  # reason codes of lost or closed connections
        if will is not None:
            props = None
            if protocol == V5 and will_delay:
                props = mqtt.Properties(mqtt.PacketTypes.WILLMESSAGE)
                props.WillDelayInterval = will_delay
            self.client.will_set(*will, properties=props)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        options = {}
        if protocol == V5:
            props = mqtt.Properties(mqtt.PacketTypes.CONNECT)
            props.SessionExpiryInterval = session_expiry
            options = {"clean_start": True, "properties": props}
        self.client.connect("127.0.0.1", port, keepalive=keepalive, **options)
        self.client.loop_start()
        assert self.wait(lambda: self.connack is not None), "no CONNACK"

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        with self.cond:
            self.connack = reason_code
            self.cond.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self.cond:
            self.disconnects.append(reason_code)
            self.cond.notify_all()

    def _on_message(self, client, userdata, message) -> None:
        props = getattr(message, "properties", None)
        expiry = getattr(props, "MessageExpiryInterval", None) if props is not None else None
        with self.cond:
            self.messages.append(Received(message.topic, bytes(message.payload), message.qos, bool(message.retain),
                                          expiry))
            self.cond.notify_all()

    def wait(self, predicate, timeout: float = WAIT_S) -> bool:
        """Wait until ``predicate()`` holds (checked under the lock)."""
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def subscribe(self, *filters: str, qos: int = 1) -> None:
        """Subscribe and wait for the SUBACK."""
        done = threading.Event()
        self.client.on_subscribe = lambda *args: done.set()
        self.client.subscribe([(f, qos) for f in filters])
        assert done.wait(WAIT_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False,
                expiry: int | None = None) -> None:
        """Publish and wait until it left (QoS 0) or was acknowledged (QoS 1/2)."""
        props = None
        if expiry is not None:
            props = mqtt.Properties(mqtt.PacketTypes.PUBLISH)
            props.MessageExpiryInterval = expiry
        self.client.publish(topic, payload, qos, retain, properties=props).wait_for_publish(WAIT_S)

    def on(self, topic: str) -> list[Received]:
        """Messages received on ``topic`` so far."""
        with self.cond:
            return [m for m in self.messages if m.topic == topic]

    def sync(self, via: "Client | None" = None, marker: str = "sync/marker") -> list[Received]:
        """Round trip a marker through the broker: everything routed before it has arrived.

        The broker handles each connection's packets in order on one thread, so what ``via`` (the
        publisher; default this client) sent before the marker reaches this client before it.
        Returns the messages received before the marker.
        """
        token = f"{time.monotonic_ns()}".encode()
        self.subscribe(marker)
        (via or self).publish(marker, token, qos=1)
        assert self.wait(lambda: any(m.payload == token for m in self.messages)), "marker not received"
        with self.cond:
            index = next(i for i, m in enumerate(self.messages) if m.payload == token)
            return [m for m in self.messages[:index] if m.topic != marker]

    def drop_connection(self) -> None:
        """End TCP without DISCONNECT (the broker must publish the will)."""
        self.client.socket().shutdown(socket.SHUT_RDWR)
        self.client.loop_stop()

    def close(self) -> None:
        """DISCONNECT and stop the network thread."""
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()


class RawClient:
    """A bare TCP connection speaking hand-built packets."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.buffer = bytearray()

    def send(self, data: bytes) -> None:
        """Write raw bytes."""
        self.sock.sendall(data)

    def connect(self, version: int = 4, keepalive: int = 60, client_id: str = "raw", props: wire.Properties = (),
                will: tuple[str, bytes] | None = None) -> tuple[int, bytes]:
        """Send CONNECT and return the CONNACK (first byte, body)."""
        flags = 0x02 | (0x04 if will else 0)
        body = wire.text("MQTT") + bytes([version, flags]) + struct.pack(">H", keepalive)
        if version == 5:
            body += wire.encode_properties(list(props))
        body += wire.text(client_id)
        if will:
            body += (wire.encode_properties([]) if version == 5 else b"") + wire.text(will[0]) + wire.binary(will[1])
        self.send(wire.packet(0x10, body))
        return self.read()

    def read(self) -> tuple[int, bytes]:
        """The next packet from the broker (raises on timeout or close)."""
        while (whole := wire.split_packet(self.buffer, 1 << 24)) is None:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the broker")
            self.buffer += data
        return whole

    def closed_by_broker(self) -> bool:
        """True once the broker closed the connection (reads and discards what comes before)."""
        try:
            while True:
                self.read()
        except (ConnectionError, OSError):
            return True

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
