"""The demo's broker: a private Mosquitto that carries real MQTT traffic, or one clear line saying how to install it."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from monitor.devtools import broker as broker_module
from monitor.devtools.broker import LocalBroker, mosquitto_path
from monitor.errors import UserError


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


def test_local_broker_carries_messages_and_cleans_up():
    if mosquitto_path() is None:
        pytest.skip("mosquitto not installed")
    with LocalBroker() as broker:
        folder = broker.workdir
        assert roundtrip(broker.port) == b"hello"
    assert not broker.running and not folder.exists()


def test_without_mosquitto_the_demo_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(broker_module, "mosquitto_path", lambda: None)
    with pytest.raises(UserError, match=r"^the MQTT broker Mosquitto is not installed; "
                                        r"install it with: sudo apt-get install mosquitto$"):
        LocalBroker(tmp_path).start()
