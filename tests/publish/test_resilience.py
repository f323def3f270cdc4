"""Broker outages, credentials, TLS, protocol fallback, reload and concurrency on a real Mosquitto."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter

from monitor.publish import Publisher
from monitor.publish.topics import Plan, Topics
from monitor.types import EventType, Level
from tests.support.mqtt_proxy import Mqtt311OnlyProxy, TcpGate

from .helpers import Update, event, full_update, make_config, new_publisher, started, status, zone
from .test_topics import publish_everything


def wait_health(publisher: Publisher, predicate, timeout: float = 15.0) -> dict:
    """Poll ``health()`` until ``predicate`` holds; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = publisher.health()
        if predicate(health):
            return health
        time.sleep(0.05)
    raise TimeoutError(f"health never matched: {publisher.health()}")


def event_ids(recorder, topic: str) -> list[str]:
    """Ids of the events received on ``topic``, in arrival order.

    Leaves out the broker's own redeliveries to the subscriber (DUP set: mosquitto 2.0 replays
    messages from its persistence file to a resumed session).  A publisher resending an event
    is not among them: a broker never passes the DUP flag on to subscribers.
    """
    return [json.loads(m.payload)["id"] for m in recorder.on(topic) if not m.dup]


def alert(publisher: Publisher, sent: list[str]) -> None:
    """Publish one alert event and remember its id."""
    item = event("entrance", "gate", EventType.UPDATE, Level.WARNING)
    sent.append(item.id)
    publisher.publish_update(Update(events=(item,)))


def test_broker_outage_every_event_arrives_once_or_is_counted_as_dropped(mosquitto_factory, mqtt_recorder):
    broker = mosquitto_factory()
    # The publishers reach the broker through a door (a TCP forwarder), so that after the restart the recorder is
    # listening again before they reconnect: it then records exactly what they send, live.  (A
    # persistent recorder session would leave delivery to mosquitto 2.0's queue for offline
    # clients, which now and then holds back messages it has acknowledged.)
    door = TcpGate(broker)
    recorder = mqtt_recorder(broker, ["crowd/#", "small/#"], live_only=True)
    roomy_config = make_config(broker, port=door.port, homeassistant=False)
    small_config = make_config(broker, port=door.port, topic_prefix="small", outbox_size=5, homeassistant=False)
    roomy, small = started(roomy_config), started(small_config)
    sent: dict[Publisher, list[str]] = {roomy: [], small: []}
    for publisher, config in ((roomy, roomy_config), (small, small_config)):
        for camera in config.cameras:
            publisher.publish_status(status(camera))
        publisher.publish_update(full_update(config))
        alert(publisher, sent[publisher])
        alert(publisher, sent[publisher])
    recorder.wait_for(lambda m: len(recorder.on("crowd/events")) == 2 and len(recorder.on("small/events")) == 2)

    broker.stop()  # ten seconds without a broker, alerts keep coming
    door.shut()
    outage = time.monotonic()
    for publisher in sent:
        wait_health(publisher, lambda h: not h["connected"])
    roomy.publish_update(Update(zones=(zone("entrance", "gate", 77.0),)))  # state changes meanwhile
    for _ in range(12):
        for publisher in sent:
            alert(publisher, sent[publisher])
        time.sleep(0.7)
    time.sleep(max(0.0, outage + 10.0 - time.monotonic()))
    assert small.health()["outbox"] == 5 and small.health()["dropped"] == 7
    restarted = time.monotonic()
    broker.start()
    recorder.wait_subscribed(2)  # it listens again
    door.open()  # the publishers may reconnect now

    try:
        recorder.wait_for(lambda m: len(recorder.on("crowd/events")) >= 14 and len(recorder.on("small/events")) >= 7,
                          timeout=30, what="the events of the outage")
    except TimeoutError:
        raise AssertionError(f"{roomy.health()} {small.health()} recorder connects {recorder.connects} "
                             f"{event_ids(recorder, 'crowd/events')} {sent[roomy]} "
                             f"{event_ids(recorder, 'small/events')} {sent[small]}") from None
    time.sleep(1.0)  # any duplicate would arrive now
    roomy_ids, small_ids = event_ids(recorder, "crowd/events"), event_ids(recorder, "small/events")
    assert roomy_ids == sent[roomy]  # every event exactly once, in order
    assert small_ids == sent[small][:2] + sent[small][-5:]  # the oldest 7 of the outage were dropped...
    health = small.health()
    assert health["dropped"] == 7 and health["delivered"] == 7 and health["outbox"] == 0  # ...and counted
    assert roomy.health()["dropped"] == 0 and roomy.health()["connections"] == 2

    # All state was republished after the restart, with the change made during the outage.
    for topic in Plan.of(roomy_config).retained_topics(Topics("crowd")) | {"crowd/available"}:
        seen = [(round(m.at - restarted, 2), m.payload[:40]) for m in recorder.on(topic)]
        assert [m for m in recorder.on(topic, since=restarted) if m.payload], f"{topic} not republished: {seen}"
    gate = recorder.on("crowd/entrance/gate/state", since=restarted)[-1]
    assert json.loads(gate.payload)["count"] == 77.0
    assert recorder.on("crowd/available", since=restarted)[-1].text == "online"
    roomy.stop()
    small.stop()
    door.close()


def test_wrong_credentials_give_a_clear_error_and_no_retry_storm(mosquitto_factory, mqtt_recorder, caplog):
    broker = mosquitto_factory(users={"monitor": "right-password"})
    caplog.set_level(logging.ERROR, logger="monitor.publish")
    wrong = new_publisher(make_config(broker, username="monitor", password="wrong", reconnect_max_s=30,
                                  homeassistant=False))
    anonymous = new_publisher(make_config(broker, homeassistant=False))
    wrong.start()
    health = wait_health(wrong, lambda h: h["last_error"] is not None)
    assert not health["connected"] and health["auth_failed"]
    assert "rejected user 'monitor'" in health["last_error"] and "mqtt.password" in health["last_error"]
    assert any(r.getMessage() == health["last_error"] for r in caplog.records)
    time.sleep(4.0)  # a retry storm would show up here
    assert wrong.health()["connect_attempts"] == 1
    assert broker.connection_attempts() == 1
    wrong.stop()

    anonymous.start()
    health = wait_health(anonymous, lambda h: h["last_error"] is not None)
    assert health["auth_failed"] and "anonymous" in health["last_error"]
    anonymous.stop()

    recorder = mqtt_recorder(broker, ["crowd/available"], username="monitor", password="right-password")
    right = started(make_config(broker, username="monitor", password="right-password", homeassistant=False))
    recorder.wait_payload("crowd/available", "online")
    assert right.health()["last_error"] is None
    right.stop()


def test_tls_with_a_test_ca_works_and_a_wrong_ca_fails(mosquitto_factory, mqtt_recorder, tls_files):
    broker = mosquitto_factory(tls=tls_files, require_certificate=True)
    client_cert = {"cert_file": str(tls_files.client_cert), "key_file": str(tls_files.client_key)}
    wrong_ca = new_publisher(make_config(broker, tls={"ca_file": str(tls_files.other_ca_file), **client_cert}))
    system_cas = new_publisher(make_config(broker, tls={}))  # verification is on by default
    for publisher in (wrong_ca, system_cas):
        publisher.start()
    recorder = mqtt_recorder(broker, ["crowd/available"], tls=tls_files)
    good = started(make_config(broker, tls={"ca_file": str(tls_files.ca_file), **client_cert}))
    recorder.wait_payload("crowd/available", "online")
    for publisher in (wrong_ca, system_cas):
        health = wait_health(publisher, lambda h: h["last_error"] is not None)
        assert not health["connected"] and "certificate verify failed" in health["last_error"]
        assert health["last_error"].startswith("TLS with the MQTT broker")
        publisher.stop()
    good.stop()
    recorder.wait_payload("crowd/available", "stopped")


def test_auto_protocol_falls_back_to_mqtt_3_1_1(mosquitto, mqtt_recorder):
    proxy = Mqtt311OnlyProxy(mosquitto)
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    config = make_config(mosquitto, port=proxy.port, homeassistant=False)
    assert config.mqtt.protocol == "auto"
    publisher = started(config)
    assert publisher.health()["protocol"] == "3.1.1" and proxy.refused_v5 == 1
    publish_everything(publisher, config)
    state = recorder.wait_for(lambda m: m.topic == "crowd/entrance/gate/state" and m.payload != b"")
    assert state.retain and state.expiry is None  # no expiry in 3.1.1...
    publisher.stop()
    recorder.wait_payload("crowd/available", "stopped")
    late = mqtt_recorder(mosquitto, ["crowd/#"])
    late.settle()
    assert set(late.retained()) == {"crowd/available"}  # ...so a clean stop deleted the state
    proxy.close()


def test_reload_deletes_removed_cameras_and_zones_and_resends_discovery(mosquitto, mqtt_recorder):
    recorder = mqtt_recorder(mosquitto, ["crowd/#", "homeassistant/#"])
    config = make_config(mosquitto)
    publisher = started(config)
    publish_everything(publisher, config)
    recorder.wait_for(lambda m: m.topic == "crowd/hall/floor/state" and m.payload != b"")
    recorder.settle()
    smaller = make_config(mosquitto, cameras={"entrance": ["gate", "exit"]}, site={},
                          client_id=config.mqtt.client_id)
    reloaded = time.monotonic()
    publisher.reload(smaller)
    recorder.wait_for(lambda m: m.at >= reloaded and "entrance_exit_count" in m.topic, what="new discovery")
    removed = [t for t in {m.topic for m in recorder.messages}
               if "hall" in t or "queue" in t or "site" in t]
    assert any(t.startswith("homeassistant/") for t in removed) and "crowd/hall/status" in removed
    for topic in removed:
        recorder.wait_for(lambda m, t=topic: m.topic == t and m.at >= reloaded and m.payload == b"",
                          what=f"a clear of {topic}")
    publisher.publish_status(status("hall"))  # no longer configured: ignored
    publisher.publish_update(full_update(smaller))
    recorder.wait_for(lambda m: m.topic == "crowd/entrance/exit/state" and m.payload != b"")
    late = mqtt_recorder(mosquitto, ["crowd/#", "homeassistant/#"])
    late.settle()
    assert not [t for t in late.retained() if "hall" in t or "queue" in t or "site" in t]
    assert publisher.health()["connections"] == 1  # zones changed, not the connection
    publisher.stop()


def test_many_threads_publish_at_once(mosquitto, mqtt_recorder):
    recorder = mqtt_recorder(mosquitto, ["crowd/events"])
    publisher = started(make_config(mosquitto, homeassistant=False))
    ids = [[f"t{t}-{i}" for i in range(100)] for t in range(4)]

    def work(mine: list[str]) -> None:
        for i, event_id in enumerate(mine):
            publisher.publish_update(Update(zones=(zone("entrance", "gate", float(i)),),
                                            events=(event("entrance", "gate", event_id=event_id),)))
            publisher.publish_status(status("hall"))
            publisher.health()

    threads = [threading.Thread(target=work, args=(mine,)) for mine in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.wait_for(lambda m: len(recorder.on("crowd/events")) >= 400, timeout=30, what="400 events")
    time.sleep(0.5)
    received = event_ids(recorder, "crowd/events")
    assert Counter(received) == Counter(i for mine in ids for i in mine)  # each exactly once
    for mine in ids:
        assert [i for i in received if i in set(mine)] == mine  # one thread's events stay in order
    publisher.stop()


def test_reload_with_a_new_prefix_moves_everything_and_leaves_the_old_one_clean(mosquitto, mqtt_recorder):
    recorder = mqtt_recorder(mosquitto, ["crowd/#", "moved/#"])
    config = make_config(mosquitto, homeassistant=False)
    publisher = started(config)
    publish_everything(publisher, config)
    recorder.wait_for(lambda m: m.topic == "crowd/entrance/status" and m.payload != b"")
    moved = make_config(mosquitto, topic_prefix="moved", client_id=config.mqtt.client_id, homeassistant=False)
    publisher.reload(moved)
    recorder.wait_payload("crowd/available", "stopped")
    recorder.wait_payload("moved/available", "online")
    # The camera status (published only when it changes) follows to the new prefix by itself.
    recorder.wait_payload("moved/entrance/status", "online")
    recorder.wait_for(lambda m: m.topic == "moved/hall/floor/state" and m.payload != b"")
    assert publisher.health()["connections"] == 2
    late = mqtt_recorder(mosquitto, ["crowd/#"])
    late.settle()
    assert {t: m.text for t, m in late.retained().items()} == {"crowd/available": "stopped"}
    publisher.stop()


def test_two_daemons_with_one_client_id_are_reported_without_a_reconnect_storm(mosquitto):
    config = make_config(mosquitto, homeassistant=False, reconnect_max_s=30)
    first = started(config)
    second = started(config)  # takes the session over: the broker disconnects the first, and so on
    health = wait_health(first, lambda h: h["last_error"] is not None)
    assert f"client id '{config.mqtt.client_id}'" in health["last_error"]
    assert "unique" in health["last_error"]
    time.sleep(4.0)
    connections = first.health()["connections"] + second.health()["connections"]
    assert connections <= 8  # backoff 1, 2, 4 s...: a storm would be hundreds
    second.stop()
    first.stop()
