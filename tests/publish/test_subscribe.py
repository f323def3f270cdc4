"""Other daemons' topics read on the publisher's own connection: retained ones at once, new ones after a reload."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt

from monitor.publish import Subscription

from .helpers import make_config, started


class Inbox:
    """What the subscription delivered, and which topics it wants now."""

    def __init__(self, topics: set[str]):
        self.wanted = frozenset(topics)
        self.got: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def deliver(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.got.append((topic, payload))

    def wait(self, topic: str, payload: bytes, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if (topic, payload) in self.got:
                    return
            time.sleep(0.02)
        raise AssertionError(f"{payload!r} on {topic} not delivered; got {self.got}")


def publish_retained(broker, topic: str, payload: bytes) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_followed_topics_arrive_and_follow_a_reload(mosquitto):
    publish_retained(mosquitto, "north/available", b"online")
    publish_retained(mosquitto, "south/available", b"online")
    inbox = Inbox({"north/available"})
    config = make_config(mosquitto, homeassistant=False)
    publisher = started(config, Subscription(lambda: inbox.wanted, inbox.deliver))
    inbox.wait("north/available", b"online")  # retained, sent when we subscribed
    publish_retained(mosquitto, "north/available", b"offline")
    inbox.wait("north/available", b"offline")  # live
    inbox.wanted = frozenset({"south/available"})  # what a reload naming other daemons does
    publisher.reload(make_config(mosquitto, homeassistant=False, client_id=config.mqtt.client_id))
    inbox.wait("south/available", b"online")
    before = len(inbox.got)
    publish_retained(mosquitto, "north/available", b"online")
    publish_retained(mosquitto, "south/available", b"stopped")
    inbox.wait("south/available", b"stopped")
    assert ("north/available", b"online") not in inbox.got[before:]  # unsubscribed

