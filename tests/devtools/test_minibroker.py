"""The mini broker with real paho-mqtt 2.x clients (MQTT 3.1.1 and 5) and hand-built packets."""

from __future__ import annotations

import struct
import threading
import time

import pytest

from monitor.devtools import mqtt_codec as wire
from monitor.devtools.minibroker import MiniBroker
from monitor.devtools.mqtt_topics import matches, valid_filter

from .mqtt_helpers import V5, V311, WAIT_S

BOTH = pytest.mark.parametrize("protocol", [V311, V5], ids=["v311", "v5"])


@pytest.mark.parametrize("topic_filter, topic, expected", [
    ("a/b", "a/b", True), ("a/+", "a/b", True), ("a/+", "a/b/c", False), ("a/#", "a", True),
    ("a/#", "a/b/c", True), ("#", "a/b", True), ("+/+", "a/b", True), ("+", "a/b", False),
    ("a/+/c", "a//c", True), ("#", "$SYS/x", False), ("+/x", "$SYS/x", False), ("$SYS/#", "$SYS/x", True),
    ("a/b", "a/b/", False), ("/+", "/a", True),
])
def test_topic_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert matches(topic_filter, topic) is expected


@pytest.mark.parametrize("topic_filter", ["", "a/#/b", "a#", "a/b+", "+a"])
def test_invalid_filters(topic_filter: str) -> None:
    assert not valid_filter(topic_filter)


@BOTH
def test_connect(client, protocol: int) -> None:
    subscriber = client(protocol=protocol, client_id=f"c-{protocol}")
    assert not subscriber.connack.is_failure


def test_refuses_unknown_protocol_version(raw) -> None:
    conn = raw()
    first, body = conn.connect(version=6)
    assert (first, body) == (0x20, b"\x00\x01")  # unacceptable protocol version
    assert conn.closed_by_broker()


def test_assigns_a_client_id_to_v5_clients_without_one(raw) -> None:
    first, body = raw().connect(version=5, client_id="")
    reader = wire.Reader(body)
    assert (first, reader.byte(), reader.byte()) == (0x20, 0, 0)
    assert str(wire.prop(reader.properties(), wire.ASSIGNED_CLIENT_ID)).startswith("minibroker-")


@BOTH
def test_wildcards_and_dollar_topics(client, protocol: int) -> None:
    plus, hash_all, system = client(protocol=protocol), client(protocol=protocol), client(protocol=protocol)
    plus.subscribe("crowd/+/count")
    hash_all.subscribe("#")
    system.subscribe("$SYS/#")
    publisher = client(protocol=protocol)
    for topic in ("crowd/entrance/count", "crowd/entrance/gate/state", "crowd/count", "$SYS/uptime"):
        publisher.publish(topic, topic, qos=1)
    assert [m.topic for m in plus.sync()] == ["crowd/entrance/count"]
    assert [m.topic for m in hash_all.sync()] == ["crowd/entrance/count", "crowd/entrance/gate/state",
                                                  "crowd/count"]
    assert [m.topic for m in system.sync()] == ["$SYS/uptime"]


@BOTH
def test_unsubscribe(client, protocol: int) -> None:
    subscriber = client(protocol=protocol)
    subscriber.subscribe("t/#")
    acks: list[list] = []
    done = threading.Event()
    subscriber.client.on_unsubscribe = lambda c, u, mid, codes, props: (acks.append(codes), done.set())
    subscriber.client.unsubscribe(["t/#", "never/subscribed"])
    assert done.wait(WAIT_S)
    if protocol == V5:  # MQTT 5 says, per filter, whether there was a subscription
        assert [code.value for code in acks[0]] == [0x00, 0x11]
    publisher = client(protocol=protocol)
    publisher.publish("t/x", "after", qos=1)
    assert subscriber.sync(via=publisher) == []


@BOTH
@pytest.mark.parametrize("sub_qos, pub_qos, delivered_qos", [(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 1, 1), (2, 2, 1),
                                                             (1, 2, 1)])
def test_qos_delivery(client, protocol: int, sub_qos: int, pub_qos: int, delivered_qos: int) -> None:
    subscriber = client(protocol=protocol)
    subscriber.subscribe("q/#", qos=sub_qos)
    publisher = client(protocol=protocol)
    for n in range(20):
        publisher.publish(f"q/{n}", f"m{n}", qos=pub_qos)  # QoS 1/2: returns after PUBACK/PUBCOMP
    got = subscriber.sync(via=publisher)
    assert [m.payload for m in got] == [f"m{n}".encode() for n in range(20)]
    assert {m.qos for m in got} == {delivered_qos}
    assert not any(m.retain for m in got)


@BOTH
def test_large_payload_arrives_intact(client, protocol: int) -> None:
    subscriber = client(protocol=protocol)
    subscriber.subscribe("crowd/entrance/heatmap")
    publisher = client(protocol=protocol)
    jpeg = bytes(range(256)) * 8192  # 2 MiB: many partial socket reads and writes
    publisher.publish("crowd/entrance/heatmap", jpeg, qos=1)
    assert [m.payload for m in subscriber.sync(via=publisher)] == [jpeg]


@BOTH
def test_retained_message_for_late_subscribers_and_deleted_by_empty_payload(client, protocol: int) -> None:
    publisher = client(protocol=protocol)
    publisher.publish("crowd/available", "online", qos=1, retain=True)
    publisher.publish("crowd/other", "not retained", qos=1)
    late = client(protocol=protocol)
    late.subscribe("crowd/#")
    assert [(m.topic, m.payload, m.retain, m.qos) for m in late.sync()] == [("crowd/available", b"online", True, 1)]
    publisher.publish("crowd/available", "", qos=1, retain=True)
    assert [(m.topic, m.payload) for m in late.sync()] == [("crowd/available", b"online"), ("crowd/available", b"")]
    later = client(protocol=protocol)
    later.subscribe("crowd/#")
    assert later.sync() == []


def test_retained_message_expiry_counts_down_and_ends(client) -> None:
    publisher = client(protocol=V5)
    before = time.monotonic()
    publisher.publish("crowd/entrance/count", "12", qos=1, retain=True, expiry=3)
    acked = time.monotonic()  # the broker started the 3 s between ``before`` and ``acked``
    first = client(protocol=V5)
    first.subscribe("crowd/#")
    got = first.sync()
    if time.monotonic() - before < 2.5:  # (a stalled machine may have used up its life already)
        assert [(m.payload, m.retain) for m in got] == [(b"12", True)]
        assert 1 <= got[0].expiry <= 3
    time.sleep(max(0.0, acked + 1.5 - time.monotonic()))
    second = client(protocol=V5)
    second.subscribe("crowd/#")
    got = second.sync()
    if time.monotonic() - before < 2.5:
        assert len(got) == 1 and got[0].expiry <= 2  # 3 s minus the time it waited in the broker, rounded up
    old = client(protocol=V311)  # MQTT 3.1.1 subscribers get no properties, but expiry still applies
    time.sleep(max(0.0, acked + 3.2 - time.monotonic()))
    old.subscribe("crowd/#")
    assert old.sync() == []


@BOTH
def test_last_will_on_abrupt_close_not_on_disconnect(client, protocol: int) -> None:
    watcher = client(protocol=protocol)
    watcher.subscribe("crowd/available")
    dying = client(protocol=protocol, client_id="dying", will=("crowd/available", b"offline", 1, True))
    leaving = client(protocol=protocol, client_id="leaving", will=("crowd/available", b"gone", 1, True))
    leaving.close()
    dying.drop_connection()
    assert watcher.wait(lambda: bool(watcher.on("crowd/available")))
    assert [(m.payload, m.qos) for m in watcher.sync()] == [(b"offline", 1)]
    late = client(protocol=protocol)
    late.subscribe("crowd/available")
    assert [(m.payload, m.retain) for m in late.sync()] == [(b"offline", True)]


def test_will_delay_is_bounded_by_session_expiry(client) -> None:
    watcher = client(protocol=V5)
    watcher.subscribe("w/#")
    delayed = client(protocol=V5, client_id="delayed", will=("w/delayed", b"offline", 1, False), will_delay=1,
                     session_expiry=1)
    at_once = client(protocol=V5, client_id="at-once", will=("w/at-once", b"offline", 1, False), will_delay=30)
    closed = time.monotonic()
    delayed.drop_connection()
    at_once.drop_connection()  # session expiry 0 ends the session, and the will delay, at once
    assert watcher.wait(lambda: bool(watcher.on("w/at-once")))
    if time.monotonic() - closed < 0.8:  # the broker cannot publish the delayed one before 1 s
        assert not watcher.on("w/delayed")
    assert watcher.wait(lambda: bool(watcher.on("w/delayed")))
    assert time.monotonic() - closed >= 1.0


def test_reconnecting_within_the_will_delay_cancels_the_will(client) -> None:
    """MQTT 5 3.1.2.5, as Mosquitto 2.0 does: a quick reconnection never flashes "offline"."""
    watcher = client(protocol=V5)
    watcher.subscribe("w/#")
    first = client(protocol=V5, client_id="daemon", will=("w/daemon", b"offline", 1, True), will_delay=1,
                   session_expiry=1)
    first.drop_connection()
    client(protocol=V5, client_id="daemon", will=("w/daemon", b"offline", 1, True), will_delay=1, session_expiry=1)
    time.sleep(1.5)  # past the first connection's will delay
    assert watcher.sync() == []


@BOTH
def test_keepalive_timeout_publishes_the_will(client, raw, protocol: int) -> None:
    watcher = client(protocol=protocol)
    watcher.subscribe("crowd/available")
    silent = raw()
    first, body = silent.connect(version=5 if protocol == V5 else 4, keepalive=1,
                                 will=("crowd/available", b"offline"))
    assert first == 0x20 and body[1] == 0
    assert silent.closed_by_broker()  # after 1.5 x keepalive without a packet
    assert watcher.wait(lambda: bool(watcher.on("crowd/available")))


def test_pingreq_keeps_a_connection_alive(raw) -> None:
    conn = raw()
    conn.connect(keepalive=1)
    for _ in range(4):  # 2 s: past 1.5 x keepalive, alive thanks to the pings
        time.sleep(0.5)
        conn.send(b"\xc0\x00")
        assert conn.read() == (0xD0, b"")


def test_receive_maximum_holds_back_qos1_deliveries(client, raw) -> None:
    conn = raw()
    conn.connect(version=5, props=[(wire.RECEIVE_MAXIMUM, 2)])
    conn.send(wire.packet(0x82, struct.pack(">H", 1) + b"\x00" + wire.text("r/#") + b"\x01"))
    assert conn.read() == (0x90, b"\x00\x01\x00\x01")
    publisher = client(protocol=V5)
    for n in range(4):
        publisher.publish(f"r/{n}", str(n), qos=1)
    first = [conn.read() for _ in range(2)]
    conn.send(b"\xc0\x00")  # nothing else may come before the PINGRESP: two are in flight
    assert conn.read() == (0xD0, b"")
    ids = [wire.Reader(body[len(wire.text("r/0")):]).u16() for _, body in first]
    conn.send(wire.packet(0x40, struct.pack(">H", ids[0])))
    first_byte, body = conn.read()
    assert first_byte == 0x32 and body.endswith(b"2")


MALFORMED = {
    "qos 3": wire.packet(0x36, wire.text("t") + b"\x00\x01"),
    "wildcard topic": wire.packet(0x30, wire.text("a/+") + b"x"),
    "invalid utf-8": wire.packet(0x30, wire.binary(b"\xff\xfe") + b"x"),
    "remaining length too long": b"\x30\xff\xff\xff\xff\x01",
    "reserved packet type 0": b"\x00\x00",
    "subscribe flags": wire.packet(0x80, struct.pack(">H", 1) + wire.text("t") + b"\x00"),
    "second connect": wire.packet(0x10, wire.text("MQTT") + b"\x04\x02\x00\x3c" + wire.text("x")),
    "field past the end": wire.packet(0x30, b"\x00\x09ab"),
    "empty subscribe": wire.packet(0x82, struct.pack(">H", 1)),
}


@pytest.mark.parametrize("garbage", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_packet_drops_only_that_client(client, raw, garbage: bytes) -> None:
    subscriber = client(protocol=V5)
    subscriber.subscribe("ok/#")
    bad = raw()
    bad.connect(client_id="bad", will=("ok/will", b"bad one left"))
    bad.send(garbage)
    assert bad.closed_by_broker()
    publisher = client(protocol=V311)
    publisher.publish("ok/after", "still working", qos=1)
    assert [(m.topic, m.payload) for m in subscriber.sync()] == [("ok/will", b"bad one left"),
                                                                 ("ok/after", b"still working")]


def test_unknown_v5_property_drops_the_client(client, raw) -> None:
    bad = raw()
    bad.connect(version=5, client_id="bad5")
    bad.send(wire.packet(0x30, wire.text("t") + b"\x02\x7f\x00" + b"x"))
    assert bad.closed_by_broker()
    assert not client(protocol=V5).connack.is_failure


def test_session_takeover_closes_the_older_connection(client) -> None:
    old = client(protocol=V5, client_id="same")
    client(protocol=V311, client_id="same")
    assert old.wait(lambda: bool(old.disconnects))
    assert str(old.disconnects[0]) == "Session taken over"


def test_stop_closes_clients_and_frees_the_port() -> None:
    broker = MiniBroker().start()
    port = broker.port
    from .mqtt_helpers import Client

    subscriber = Client(port, protocol=V5)
    broker.stop()
    assert subscriber.wait(lambda: bool(subscriber.disconnects))
    assert str(subscriber.disconnects[0]) == "Server shutting down"
    subscriber.client.loop_stop()
    MiniBroker(port=port).start().stop()  # the same port can be bound again at once


def test_stop_without_start_releases_the_port() -> None:
    broker = MiniBroker()
    port = broker.listen()
    broker.stop()
    MiniBroker(port=port).start().stop()


def test_only_loopback_addresses() -> None:
    with pytest.raises(ValueError, match="loopback"):
        MiniBroker(host="0.0.0.0")
