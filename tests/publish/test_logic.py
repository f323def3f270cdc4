"""Unit tests of the publisher's logic: topics, payloads, outbox, retained state, discovery, backoff."""

from __future__ import annotations

import math

import jsonschema
import pytest
from pydantic import ValidationError

from monitor.config import MonitorConfig
from monitor.errors import UserError
from monitor.publish import load_schema, schema_for, schema_names
from monitor.publish.discovery import discovery_configs
from monitor.publish.link import broker_backoff
from monitor.publish.outbox import Outbox, Outgoing
from monitor.publish.payloads import alert_level, event_body, reading_body, stats_body, zone_body
from monitor.publish.state import Retained, RetainedState
from monitor.publish.topics import Plan, Topics
from monitor.types import EventType, Level

from .helpers import SQUARE, event, make_config, reading, zone


def test_names_cannot_inject_levels_or_wildcards():
    topics = Topics("crowd")
    topic = topics.zone_state("Cam/+/#", "Gate #1 / North")
    assert topic == "crowd/cam/gate_1_north/state"
    assert topic.count("/") == 3 and "+" not in topic and "#" not in topic
    assert topics.camera_status("../x") == "crowd/x/status"


def test_every_shipped_schema_is_valid_and_every_topic_has_one():
    for name in schema_names():
        jsonschema.Draft202012Validator.check_schema(load_schema(name))
    topics = Topics("a/b")
    expected = {topics.available: "available", topics.events: "event", topics.stats: "stats",
                topics.camera_status("c"): "camera_status", topics.camera_detail("c"): "camera_status_detail",
                topics.camera_count("c"): "camera_count",
                topics.heatmap("c"): "heatmap", topics.zone_state("c", "z"): "zone_state",
                topics.zone_state("site", "z"): "zone_state", topics.zone_alert("c", "z"): "alert",
                "homeassistant/sensor/n/o/config": "ha_sensor",
                "homeassistant/binary_sensor/n/o/config": "ha_binary_sensor"}
    for topic, name in expected.items():
        assert schema_for(topic, "a/b") == name, topic
    assert set(expected.values()) == set(schema_names())
    assert schema_for("other/available", "a/b") is None


def test_payloads_follow_their_schemas_and_never_carry_nan():
    body = zone_body(zone("entrance", "gate", count=float("nan")))
    assert body["count"] is None
    jsonschema.validate(body, load_schema("zone_state"))
    jsonschema.validate(reading_body(reading("entrance")), load_schema("camera_count"))
    for kind in EventType:
        jsonschema.validate(event_body(event("entrance", "gate", kind)), load_schema("event"))
    stats = stats_body({"cameras": {"entrance": {"fps": math.inf, "drops": 3}}},
                       {"connected": True, "outbox": 0, "dropped": 0}, 1.0)
    assert stats["cameras"]["entrance"]["fps"] is None
    jsonschema.validate(stats, load_schema("stats"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "level": "panic"}, load_schema("zone_state"))


def test_alert_level_after_an_event():
    assert alert_level(event("c", "z", EventType.START, Level.WARNING)) == "warning"
    assert alert_level(event("c", "z", EventType.UPDATE, Level.CRITICAL)) == "critical"
    assert alert_level(event("c", "z", EventType.END, Level.CRITICAL)) == "normal"


def _items(n: int, start: int = 0) -> list[Outgoing]:
    return [Outgoing(f"e{i}", f"{i}".encode()) for i in range(start, start + n)]


def test_outbox_drops_the_oldest_and_counts():
    box = Outbox(capacity=3, max_inflight=2)
    for item in _items(5):
        box.put(item)
    assert box.dropped == 2 and list(box.dropped_ids) == ["e0", "e1"]
    assert [i.id for i in box.take()] == ["e2", "e3"]  # no more than max_inflight at a time


def test_outbox_resends_unacknowledged_events_in_order_after_a_loss():
    box = Outbox(capacity=10, max_inflight=3)
    for item in _items(5):
        box.put(item)
    batch = box.take()
    for mid, item in enumerate(batch, start=1):
        box.sent(mid, item)
    assert box.take() == []  # in-flight window full
    assert box.acked(1).id == "e0" and box.acked(99) is None
    assert box.requeue_inflight() == 2
    assert [i.id for i in box.take()] == ["e1", "e2", "e3"]
    assert box.delivered == 1 and box.dropped == 0 and len(box) == 1  # e4 waits; the 3 taken go out


def test_outbox_memory_stays_bounded_when_requeueing():
    box = Outbox(capacity=4, max_inflight=4)
    for item in _items(4):
        box.put(item)
    for mid, item in enumerate(box.take()):
        box.sent(mid, item)
    for item in _items(4, start=4):
        box.put(item)
    box.requeue_inflight()  # 8 events for 4 places: the 4 oldest go
    assert len(box) == 4 and box.dropped == 4 and list(box.dropped_ids) == ["e0", "e1", "e2", "e3"]
    box.unsend(box.take())  # the client refused them: back to the front, in order
    assert [i.id for i in box.take()] == ["e4", "e5", "e6", "e7"]
    box.put(Outgoing("e8", b""))
    assert box.drop_all() == 1 and box.dropped == 5


def test_retained_state_publishes_on_change_not_on_a_new_timestamp():
    state = RetainedState()
    assert state.set(Retained("t", b"1@ts1", 0, True, 1.0, b"1"))
    assert state.take()[1][0].payload == b"1@ts1"
    assert not state.set(Retained("t", b"1@ts2", 0, True, 2.0, b"1"))  # same value, newer ts
    assert state.take() == ([], [])
    state.mark_all()
    assert state.take()[1][0].payload == b"1@ts2"  # the heartbeat sends the latest
    assert state.set(Retained("t", b"2@ts3", 0, True, 3.0, b"2"))
    assert state.stale(now=10.0, max_age_s=5.0) == ["t"]
    state.clear("t")
    assert state.take() == ([("t", 1)], [])


def test_discovery_configs_follow_the_schemas():
    config = make_config(cameras={"entrance": ["gate"], "hall": ["floor"]},
                         site={"main_hall": ["entrance.gate", "hall.floor"]})
    found = discovery_configs(config, Topics("crowd"), "north box")
    kinds = {topic.split("/")[1] for topic in found}
    assert kinds == {"sensor", "binary_sensor"}
    for topic, body in found.items():
        assert topic.startswith("homeassistant/") and topic.endswith("/config") and "north_box" in topic
        jsonschema.validate(body, load_schema(schema_for(topic, "crowd")))
    gate_count = found["homeassistant/sensor/north_box/entrance_gate_count/config"]
    assert gate_count["state_class"] == "measurement" and gate_count["unit_of_measurement"] == "persons"
    assert gate_count["device"]["identifiers"] == ["north_box_entrance"]
    assert [a["topic"] for a in gate_count["availability"]] == ["crowd/available", "crowd/entrance/status"]
    assert found["homeassistant/binary_sensor/north_box/site_main_hall_alert/config"]["device_class"] == "safety"
    assert len({body["unique_id"] for body in found.values()}) == len(found)


def test_discovery_has_a_density_sensor_only_where_an_area_is_known():
    config = MonitorConfig.model_validate({"cameras": {"c": {"url": "x", "zones": {
        "with": {"polygon": SQUARE, "area_m2": 10}, "without": {"polygon": SQUARE}}}}})
    found = discovery_configs(config, Topics("p"), "n")
    assert "homeassistant/sensor/n/c_with_density/config" in found
    assert "homeassistant/sensor/n/c_without_density/config" not in found


def test_discovery_refuses_two_entities_with_one_id():
    config = MonitorConfig.model_validate({"cameras": {
        "a_b": {"url": "x", "zones": {"c": {"polygon": SQUARE}}},
        "a": {"url": "y", "zones": {"b_c": {"polygon": SQUARE}}}}})
    with pytest.raises(UserError, match="defined twice"):
        discovery_configs(config, Topics("p"), "n")


def test_plan_lists_the_retained_topics_of_a_config():
    plan = Plan.of(make_config(cameras={"entrance": ["gate"]}, site={"all": ["entrance.gate"]}))
    assert plan.retained_topics(Topics("p")) == {
        "p/entrance/status", "p/entrance/status/detail", "p/entrance/count", "p/entrance/gate/state",
        "p/entrance/gate/alert",
        "p/site/all/state", "p/site/all/alert"}
    assert plan.has_zone("site", "all") and not plan.has_zone("entrance", "all")


def test_broker_backoff_grows_to_reconnect_max_s_and_resets():
    backoff = broker_backoff(make_config(reconnect_max_s=8.0).mqtt)
    delays = [backoff.next_delay() for _ in range(6)]
    assert 0.8 <= delays[0] <= 1.0 and all(6.4 <= d <= 8.0 for d in delays[3:])
    backoff.reset()
    assert backoff.next_delay() <= 1.0
    assert broker_backoff(make_config(reconnect_max_s=0.5).mqtt).next_delay() <= 0.5


def test_state_expiry_must_outlive_the_heartbeat():
    with pytest.raises(ValidationError, match="state_expiry_s"):
        make_config(heartbeat_s=60, state_expiry_s=30)
