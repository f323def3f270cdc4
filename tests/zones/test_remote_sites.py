"""Site zones with other daemons' zones: the store fed by MQTT messages, staleness, and when the level is unknown."""

from __future__ import annotations

import json

import pytest

from monitor.config import ConfigError
from monitor.types import EventType, Level
from monitor.zones import Aggregator, RemoteZones
from monitor.zones.remote import RemoteRef, remote_topics
from monitor.zones.sites import Member, site_value

from .support import config, halves, result

BASE = """
mqtt: {topic_prefix: crowd-site}
alerts: {raise_after_s: 0, clear_after_s: 0, hysteresis: 0, cooldown_s: 0, smoothing: {method: none}}
remote_zones: {expiry_s: 10}
cameras:
  a:
    url: a.mp4
    zones:
      all: {polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}
site_zones:
  venue:
    zones: [a.all]
    remote:
      crowd-north: [Lobby Cam.floor, site.mezzanine]
    warning: {count: 100}
    missing_margin: 0.5
    missing_trust_s: 60
"""
NORTH = "crowd-north"
FLOOR, MEZZANINE = f"{NORTH}/lobby_cam/floor/state", f"{NORTH}/site/mezzanine/state"


def state(ts: float, count: float | None, area: float | None = None) -> bytes:
    return json.dumps({"ts": ts, "count": count, "raw_count": count, "density": None, "area_m2": area,
                       "level": "normal" if count is not None else "unknown", "stale": []}).encode()


def site_of(update):
    return next(s for s in update.zones if s.camera == "site" and s.zone == "venue")


def test_topics_follow_the_other_daemons_naming():
    cfg = config(BASE)
    assert remote_topics(cfg) == {f"{NORTH}/available", FLOOR, MEZZANINE}
    assert RemoteRef(NORTH, "Lobby Cam.floor").source == "crowd-north/Lobby Cam"


def test_a_remote_zone_is_fresh_only_while_online_with_a_recent_count():
    store = RemoteZones(config(BASE))
    ref = RemoteRef(NORTH, "Lobby Cam.floor")
    store.feed(FLOOR, state(100.0, 30))
    assert store.member(ref, 101.0).count is None  # nothing said "online" yet
    store.feed(f"{NORTH}/available", b"online")
    fresh = store.member(ref, 101.0)
    assert fresh.count == 30 and fresh.ts == 100.0
    expired = store.member(ref, 110.5)  # older than expiry_s
    assert expired.count is None and expired.last == 30 and expired.last_ts == 100.0
    store.feed(f"{NORTH}/available", b"offline")
    assert store.member(ref, 101.0).count is None
    store.feed(f"{NORTH}/available", b"online")
    store.feed(FLOOR, state(102.0, None))  # its camera is offline over there
    gone = store.member(ref, 102.5)
    assert gone.count is None and gone.last == 30
    store.feed(FLOOR, b"")  # a clean stop deletes the retained state
    assert store.member(ref, 102.5).count is None
    store.feed(FLOOR, b"not json")
    store.feed("other/topic/x/state", state(103.0, 5))
    assert store.ignored == 1 and store.member(ref, 103.0).count is None


def test_the_level_is_unknown_only_when_the_missing_part_could_cross_a_threshold():
    spec = config(BASE).site_zones["venue"]
    rule_of = Aggregator(config(BASE))._sites["venue"].rule  # the resolved rule: warning at 100 people
    here = Member("a", 50.0, 50.0, None, last=50.0, last_ts=0.0, ts=0.0)

    def missing(last, last_ts=0.0):
        return Member("crowd-north/x", None, None, None, last=last, last_ts=last_ts)

    # 50 known + up to 20 x 1.5 = 80 < 100: the level is the alert machine's.
    value = site_value([here, missing(20.0)], spec, now=10.0)
    assert value.stale == ("crowd-north/x",) and value.count == 50 and value.missing_max == 30
    assert not value.undetermined(rule_of)
    # 50 + 40 x 1.5 = 110 >= 100: could be over the threshold.
    assert site_value([here, missing(40.0)], spec, now=10.0).undetermined(rule_of)
    # A last count older than missing_trust_s, or none at all, bounds nothing.
    assert site_value([here, missing(1.0, last_ts=-100.0)], spec, now=10.0).undetermined(rule_of)
    assert site_value([here, missing(None, last_ts=None)], spec, now=10.0).undetermined(rule_of)
    # Known part already over every threshold: the missing part cannot change the level.
    over = Member("a", 150.0, 150.0, None, ts=0.0)
    assert not site_value([over, missing(None, last_ts=None)], spec, now=10.0).undetermined(rule_of)


def site_with(floor: float, mezzanine: float, t: float = 1000.0):
    """The store and the aggregator once north said online with these counts at ``t``, and our frame."""
    cfg = config(BASE)
    store = RemoteZones(cfg)
    agg = Aggregator(cfg, store)
    store.feed(f"{NORTH}/available", b"online")
    store.feed(FLOOR, state(t, floor))
    store.feed(MEZZANINE, state(t, mezzanine))
    return store, agg, site_of(agg.on_result(result("a", t + 0.2, halves(5, 5))))  # our frame sums theirs in


def test_the_aggregator_sums_remote_zones_and_alerts_on_them():
    store, agg, venue = site_with(30, 50)
    assert venue.count == pytest.approx(90.0) and venue.stale == () and venue.level == Level.NORMAL
    assert agg.tick(1000.5).zones == ()  # nothing new from them either
    store.feed(MEZZANINE, state(1001.0, 70))  # 100 in all: the warning starts (raise_after_s 0)
    update = agg.tick(1001.5)
    assert [(e.type, e.camera, e.zone) for e in update.events] == [(EventType.START, "site", "venue")]
    assert site_of(update).count == pytest.approx(110.0) and site_of(update).level == Level.WARNING
    # The other daemon dies: its zones drop out, the alert is kept, the level is unknown.
    store.feed(f"{NORTH}/available", b"offline")
    venue = site_of(agg.tick(1002.0))
    assert venue.count == pytest.approx(10.0) and venue.stale == ("crowd-north/Lobby Cam", "crowd-north/site")
    assert venue.level == Level.UNKNOWN and venue.alert == Level.WARNING
    assert agg.tick(1003.0).zones == ()  # nothing changed: nothing to say
    store.feed(f"{NORTH}/available", b"online")
    store.feed(FLOOR, state(1004.0, 30))
    store.feed(MEZZANINE, state(1004.0, 70))
    venue = site_of(agg.tick(1004.5))
    assert venue.count == pytest.approx(110.0) and venue.stale == () and venue.level == Level.WARNING


def test_expiry_alone_makes_the_remote_part_stale():
    _, agg, venue = site_with(80, 5)
    assert venue.stale == ()
    venue = site_of(agg.tick(1011.0))  # 11 s later, nothing new: expired (expiry_s 10)
    assert venue.stale == ("crowd-north/Lobby Cam", "crowd-north/site") and venue.level == Level.UNKNOWN
    assert venue.count == pytest.approx(10.0)


@pytest.mark.parametrize("site, message", [
    ("{zones: [a.all], remote: {crowd-site: [x.y]}}", "is this daemon's own mqtt.topic_prefix"),
    ("{remote: {crowd-north: [nodot]}}", "must be written as camera.zone"),
    ("{remote: {crowd-north: [x.y, x.y]}}", "is listed twice"),
    ("{remote: {'crowd/#': [x.y]}}", "without '+', '#'"),
    ("{remote: {crowd-north: []}}", "at least one member"),
    ("{remote: {crowd-north: [x.y]}, warning: {density: 2}}", "needs 'area_m2'"),
])
def test_bad_remote_members_are_refused_with_their_path(site, message):
    text = BASE.split("site_zones:")[0] + f"site_zones:\n  venue: {site}\n"
    with pytest.raises(ConfigError) as caught:
        config(text)
    assert message in str(caught.value) and "site_zones.venue" in str(caught.value)
