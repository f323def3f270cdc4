"""MQTT 5 stays MQTT 5 (fallback only on a refusal of the version), and publishes the broker denies are seen."""

from __future__ import annotations

from monitor.health.problems import mqtt_problems
from tests.support.mqtt_proxy import MqttProxy

from .helpers import make_config, started
from .test_resilience import wait_health
from .test_topics import publish_everything


def test_a_connection_closed_before_connack_keeps_mqtt_5(mosquitto, mqtt_recorder):
    proxy = MqttProxy(mosquitto, drop_before_connack=1)  # like a proxy, or a broker restarting
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    config = make_config(mosquitto, port=proxy.port, homeassistant=False)
    assert config.mqtt.protocol == "auto"
    publisher = started(config)
    assert publisher.health()["protocol"] == "5" and proxy.dropped == 1
    assert proxy.protocols == [5, 5]  # the retry after the drop asked for MQTT 5 again
    publish_everything(publisher, config)
    state = recorder.wait_for(lambda m: m.topic == "crowd/entrance/gate/state" and m.payload != b"")
    assert state.expiry is not None  # retained state keeps its MQTT 5 message expiry
    publisher.stop()
    proxy.close()


def test_auto_tries_mqtt_5_again_on_every_new_connection(mosquitto):
    proxy = MqttProxy(mosquitto, refuse_v5=True)  # a 3.1.1-only broker...
    publisher = started(make_config(mosquitto, port=proxy.port, homeassistant=False))
    assert publisher.health()["protocol"] == "3.1.1" and proxy.protocols == [5, 4]
    proxy.refuse_v5 = False  # ...upgraded while we were connected
    proxy.cut()
    health = wait_health(publisher, lambda h: h["connected"] and h["connections"] == 2)
    assert health["protocol"] == "5" and proxy.protocols == [5, 4, 5]
    publisher.stop()
    proxy.close()


def test_publishes_the_broker_denies_are_counted_and_named(mosquitto_factory):
    broker = mosquitto_factory(acl="topic read #")  # anonymous clients may subscribe, never publish
    publisher = started(make_config(broker, homeassistant=False))
    health = wait_health(publisher, lambda h: h["denied_recently"])
    assert health["connected"] and health["protocol"] == "5"
    denied = health["last_denied"]
    assert health["denied"] >= 1 and denied.startswith("'crowd/") and denied.endswith("' (Not authorized)")
    assert mqtt_problems(health) == [
        f"MQTT broker {broker.host}:{broker.port} denies our publishes: {health['denied']} refused so far, the "
        f"latest on {denied}; allow topic prefix 'crowd' for our client in the broker's ACL"]
    publisher.stop(clean=False)
