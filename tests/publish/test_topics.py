"""The topic table on a real Mosquitto: payloads against the schemas, QoS/retain, will, stale state."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest

from monitor.publish import Publisher, load_schema, schema_for, schema_names
from monitor.types import EventType, Level

from .helpers import Update, event, full_update, is_jpeg, make_config, started, status, zone

ROOT = Path(__file__).resolve().parents[2]
# schema -> (QoS, retained) of the topic table in the conventions
TABLE = {"available": (1, True), "camera_status": (1, True), "camera_status_detail": (1, True),
         "camera_count": (0, True), "zone_state": (0, True),
         "event": (1, False), "alert": (1, True), "heatmap": (0, False), "stats": (0, False),
         "ha_sensor": (1, True), "ha_binary_sensor": (1, True)}
PLAIN_WORDS = {"available", "camera_status", "alert"}
EXPIRING = {"camera_count", "zone_state", "camera_status", "camera_status_detail", "alert"}


def check_payload(name: str, payload: bytes) -> None:
    """Validate one payload against its schema (bare words as strings, heatmaps as JPEG)."""
    if name == "heatmap":
        assert is_jpeg(payload)
        assert cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR) is not None
        return
    value = payload.decode() if name in PLAIN_WORDS else json.loads(payload)
    jsonschema.validate(value, load_schema(name))


def publish_everything(publisher: Publisher, config) -> None:
    """Status, counts, zone and site states, a whole alert episode, stats."""
    for camera in config.cameras:
        publisher.publish_status(status(camera))
    publisher.publish_update(full_update(config))
    publisher.publish_update(Update(events=(
        event("entrance", "gate", EventType.START, Level.WARNING),
        event("entrance", "gate", EventType.UPDATE, Level.CRITICAL),
        event("entrance", "gate", EventType.END, Level.CRITICAL),
        event("site", "main_hall", EventType.START, Level.WARNING))))
    publisher.publish_stats({"cameras": {c: {"fps": 2.0, "drops": 0, "reconnects": 1} for c in config.cameras},
                             "engine": {"latency_ms": 150.0, "backend": "onnxruntime"}})


def test_every_topic_and_payload_follows_the_table_and_the_schemas(mosquitto, mqtt_recorder):
    recorder = mqtt_recorder(mosquitto, ["crowd/#", "homeassistant/#"])
    config = make_config(mosquitto, heatmap={"enabled": True, "interval_s": 60})
    publisher = started(config)
    publish_everything(publisher, config)
    image = np.full((240, 320, 3), 90, np.uint8)
    density = np.random.default_rng(0).random((30, 40)).astype(np.float32) * 0.01
    assert publisher.publish_heatmap_image("entrance", image, density, 12.0)
    assert not publisher.publish_heatmap_image("entrance", image, density)  # rate-limited
    assert not publisher.publish_heatmap("unknown-camera", b"\xff\xd8\xff\xd9")

    recorder.wait_for(lambda m: m.topic == "crowd/entrance/heatmap", what="a heatmap")
    recorder.wait_for(lambda m: m.topic == "crowd/stats", what="stats")
    recorder.wait_for(lambda m: len(recorder.on("crowd/events")) == 4, what="4 events")
    recorder.wait_payload("crowd/site/main_hall/alert", "warning")
    recorder.settle()

    seen: set[str] = set()
    for message in recorder.messages:
        name = schema_for(message.topic, "crowd")
        assert name is not None, f"{message.topic} is not in the topic table"
        if not message.payload:  # a clear (empty retained message) of a topic without state yet
            assert message.retain and name in TABLE and TABLE[name][1]
            continue
        check_payload(name, message.payload)
        assert (message.qos, message.retain) == TABLE[name], message.topic
        if name in EXPIRING:
            assert message.expiry is not None and 0 < message.expiry <= config.mqtt.state_expiry_s
        seen.add(name)
    assert seen == set(schema_names())
    assert recorder.last("crowd/entrance/gate/alert").text == "normal"  # the episode ended
    assert json.loads(recorder.last("crowd/site/main_hall/state").payload)["count"] == 60.0
    assert [json.loads(m.payload)["type"] for m in recorder.on("crowd/events")][:3] == ["start", "update", "end"]
    assert len(recorder.on("crowd/entrance/heatmap")) == 1

    # Home Assistant restarts: discovery and state are sent again.
    announced = time.monotonic()
    recorder.client.publish("homeassistant/status", "online")
    recorder.wait_for(lambda m: m.at >= announced and m.topic.endswith("/config"), what="discovery again")
    recorder.wait_for(lambda m: m.at >= announced and m.topic == "crowd/hall/floor/state", what="state again")
    publisher.stop()


def test_a_killed_daemon_leaves_offline_and_its_state_expires(mosquitto, mqtt_recorder, tmp_path):
    config = make_config(mosquitto, heartbeat_s=1, state_expiry_s=2, will_delay_s=1, homeassistant=False)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config.model_dump(mode="json")))
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    process = subprocess.Popen([sys.executable, "-m", "tests.publish.publisher_process", str(config_file)],
                               cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert process.stdout.readline().strip() == b"ready"
        recorder.wait_payload("crowd/available", "online")
        state = recorder.wait_for(lambda m: m.topic == "crowd/entrance/gate/state" and m.payload != b"")
        assert state.retain and state.expiry == 2
    finally:
        killed = time.monotonic()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        process.stdout.close()
    offline = recorder.wait_payload("crowd/available", "offline", timeout=15, since=killed)
    assert offline.retain
    assert offline.at - killed >= 0.9  # the MQTT 5 will delay (1 s) was honoured
    last_state = max(m.at for m in recorder.messages if m.topic != "crowd/available")
    time.sleep(max(0.0, last_state + 2.5 - time.monotonic()))  # past every message's 2 s expiry
    late = mqtt_recorder(mosquitto, ["crowd/#"])
    late.settle()
    retained = late.retained()
    assert {t: m.text for t, m in retained.items()} == {"crowd/available": "offline"}


def test_in_process_abrupt_stop_also_leaves_the_will(mosquitto, mqtt_recorder):
    recorder = mqtt_recorder(mosquitto, ["crowd/available"])
    publisher = started(make_config(mosquitto, homeassistant=False))
    recorder.wait_payload("crowd/available", "online")
    publisher.stop(clean=False)
    recorder.wait_payload("crowd/available", "offline")
    assert recorder.last("crowd/available").text == "offline"


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_clean_stop_says_stopped_and_leaves_no_state_behind(mosquitto, mqtt_recorder, protocol):
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    config = make_config(mosquitto, protocol=protocol)
    publisher = started(config)
    assert publisher.health()["protocol"] == protocol
    publish_everything(publisher, config)
    state = recorder.wait_for(lambda m: m.topic == "crowd/hall/floor/state" and m.payload != b"")
    assert (state.expiry is None) == (protocol == "3.1.1")  # 3.1.1 has no expiry: state is cleared instead
    recorder.wait_for(lambda m: len(recorder.on("crowd/events")) == 4, what="4 events")
    publisher.stop()
    recorder.wait_payload("crowd/available", "stopped")
    late = mqtt_recorder(mosquitto, ["crowd/#", "homeassistant/#"])
    late.settle()
    retained = late.retained()
    assert retained.pop("crowd/available").text == "stopped"
    assert retained and all(topic.startswith("homeassistant/") for topic in retained)  # discovery stays


def test_heartbeat_republishes_state_and_stale_state_is_deleted(mosquitto, mqtt_recorder):
    recorder = mqtt_recorder(mosquitto, ["crowd/entrance/gate/state"])
    config = make_config(mosquitto, heartbeat_s=0.5, state_expiry_s=2.0, homeassistant=False)
    publisher = started(config)
    publisher.publish_update(Update(zones=(zone("entrance", "gate", 10.0),)))
    first = recorder.wait_for(lambda m: m.payload != b"")
    # Same values again: nothing new on change, but the heartbeat repeats it until the data is 2 s old.
    publisher.publish_update(Update(zones=(zone("entrance", "gate", 10.0, ts=time.time() - 1.0),)))
    cleared = recorder.wait_for(lambda m: m.at > first.at and m.payload == b"", timeout=10, what="a clear")
    repeats = [json.loads(m.payload) for m in recorder.messages if first.at < m.at < cleared.at and m.payload]
    assert len(repeats) >= 1 and all(r["count"] == 10.0 for r in repeats)
    time.sleep(1.2)  # two more heartbeats
    assert not [m for m in recorder.messages if m.at > cleared.at]  # stale state is never refreshed
    publisher.stop()
