"""The demo's broker: Mosquitto when installed, else the embedded one; both carry real MQTT traffic."""

from __future__ import annotations

import shutil
import threading

import paho.mqtt.client as mqtt
import pytest

from monitor.devtools.broker import LocalBroker


def roundtrip(port: int) -> bytes:
    got = threading.Event()
    received = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, m: (received.append(m.payload), got.set())
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe("demo/#", qos=1)
    client.publish("demo/x", b"hello", qos=1, retain=True).wait_for_publish(5)
    got.wait(5)
    client.loop_stop()
    client.disconnect()
    return received[0] if received else b""


@pytest.mark.parametrize("prefer_mosquitto", [True, False], ids=["mosquitto", "embedded"])
def test_local_broker_carries_messages(prefer_mosquitto):
    if prefer_mosquitto and shutil.which("mosquitto") is None:
        pytest.skip("mosquitto not installed")
    broker = LocalBroker(prefer_mosquitto=prefer_mosquitto).start()
    try:
        assert broker.kind == ("mosquitto" if prefer_mosquitto else "embedded")
        assert roundtrip(broker.port) == b"hello"
    finally:
        broker.stop()
