"""The aggregator: counts, readings, staleness, site zones, snapshot and reload, on real config models."""

from __future__ import annotations

import pytest

from monitor.types import CameraState, CameraStatus, EventType, Level
from monitor.zones import Aggregator

from .support import config, halves, result

BASE = """
alerts: {raise_after_s: 2, clear_after_s: 4, hysteresis: 0.2, cooldown_s: 0, update_interval_s: 1000,
         smoothing: {method: median, window_s: 1}}
cameras:
  a:
    url: a.mp4
    zones:
      left: {polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], area_m2: 10, warning: {count: 20}, critical: {density: 4}}
      right: {polygon: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}
  b:
    url: b.mp4
    zones:
      all: {polygon: [[0, 0], [1, 0], [1, 1], [0, 1]], area_m2: 30}
site_zones:
  hall:
    zones: [a.left, b.all]
    warning: {count: 50}
"""


def feed(agg, camera, times, left, right=0.0):
    events, last = [], None
    for t in times:
        last = agg.on_result(result(camera, t, halves(left, right)))
        events += last.events
    return events, last


def by_zone(update):
    return {(s.camera, s.zone): s for s in update.zones}


def test_counts_densities_and_readings_use_capture_time():
    agg = Aggregator(config(BASE))
    _, update = feed(agg, "a", [0.0, 0.5, 1.0, 1.5], left=12.0, right=3.0)
    (reading,) = update.readings
    assert reading.camera == "a" and reading.ts == 1.5
    assert reading.count == pytest.approx(15.0) and reading.raw_count == pytest.approx(15.0)
    assert reading.fps == pytest.approx(2.0) and reading.latency_ms == pytest.approx(250.0)
    left = by_zone(update)[("a", "left")]
    assert left.count == pytest.approx(12.0) and left.density == pytest.approx(1.2) and left.area_m2 == 10
    assert left.level == Level.NORMAL and left.stale == () and left.ts == 1.5
    hall = by_zone(update)[("site", "hall")]
    assert hall.stale == ("b",) and hall.count == pytest.approx(12.0) and hall.level == Level.UNKNOWN


def test_latency_falls_back_to_stage_timings_when_clocks_disagree():
    agg = Aggregator(config(BASE))
    (reading,) = agg.on_result(result("a", 10.0, halves(1, 1), latency_s=-1.0)).readings
    assert reading.latency_ms == pytest.approx(115.0)


def test_alerts_run_on_capture_time_and_escalate_by_density():
    agg = Aggregator(config(BASE))
    events, _ = feed(agg, "a", [i * 0.5 for i in range(6)], left=25.0)
    assert [(e.type, e.level, e.ts) for e in events] == [(EventType.START, Level.WARNING, 2.0)]
    events, _ = feed(agg, "a", [3.0 + i * 0.5 for i in range(8)], left=45.0)  # 4.5 persons/m2 >= 4
    assert [(e.type, e.level, e.metric, e.threshold) for e in events] == [
        (EventType.UPDATE, Level.CRITICAL, "density", 4.0)]
    assert events[0].density == pytest.approx(4.5)


def test_offline_camera_makes_zones_unknown_and_keeps_the_alert():
    agg = Aggregator(config(BASE))
    events, _ = feed(agg, "a", [i * 0.5 for i in range(6)], left=25.0)
    (start,) = events
    update = agg.on_status(CameraStatus("a", CameraState.RECONNECTING, "read timeout", since=3.0))
    left = by_zone(update)[("a", "left")]
    assert left.level == Level.UNKNOWN and left.count is None and left.stale == ("a",)
    assert left.alert == Level.WARNING and left.alert_id == start.id
    assert update.events == ()
    # A late frame captured before the outage was reported changes nothing.
    assert agg.on_result(result("a", 2.9, halves(0, 0))).zones == ()
    for now in range(4, 400, 7):
        assert agg.tick(float(now)).events == ()
    agg.on_status(CameraStatus("a", CameraState.OFFLINE, "gave up", since=100.0))
    assert by_zone(agg.snapshot())[("a", "left")].alert == Level.WARNING
    agg.on_status(CameraStatus("a", CameraState.ONLINE, "", since=400.0))
    events, update = feed(agg, "a", [400.0 + i * 0.5 for i in range(12)], left=0.0)
    assert [(e.type, e.id, e.ts) for e in events] == [(EventType.END, start.id, 404.0)]
    assert by_zone(update)[("a", "left")].level == Level.NORMAL


def test_tick_marks_silent_cameras_stale_and_completes_timers():
    agg = Aggregator(config(BASE))
    agg.on_result(result("a", 0.0, halves(25, 0)))
    update = agg.tick(2.0)  # the last value still holds: warning held 2 s
    assert [e.type for e in update.events] == [EventType.START] and update.events[0].ts == 2.0
    update = agg.tick(30.0)  # nothing from camera a for longer than 2 x read_timeout_s
    assert by_zone(update)[("a", "left")].level == Level.UNKNOWN
    assert by_zone(update)[("a", "left")].alert == Level.WARNING and update.events == ()


def test_site_zone_sums_cameras_and_says_which_is_missing():
    agg = Aggregator(config(BASE))
    events = []
    for i in range(8):
        t = i * 0.5
        events += agg.on_result(result("a", t, halves(20, 0))).events
        update = agg.on_result(result("b", t + 0.1, halves(20, 20)))
        events += update.events
    hall = by_zone(update)[("site", "hall")]
    assert hall.count == pytest.approx(60.0) and hall.area_m2 == 40 and hall.density == pytest.approx(1.5)
    assert hall.stale == () and hall.level == Level.WARNING
    site_events = [e for e in events if e.camera == "site"]
    assert [(e.type, e.zone, e.ts) for e in site_events] == [(EventType.START, "hall", pytest.approx(2.1))]
    update = agg.on_status(CameraStatus("b", CameraState.OFFLINE, "gone", since=10.0))
    hall = by_zone(update)[("site", "hall")]
    assert hall.stale == ("b",) and hall.level == Level.UNKNOWN and hall.count == pytest.approx(20.0)
    assert hall.alert == Level.WARNING
    _, update = feed(agg, "a", [10.5 + i for i in range(20)], left=0.0)
    assert update.events == () and by_zone(update)[("site", "hall")].alert == Level.WARNING


def test_snapshot_has_every_zone_and_the_latest_readings():
    agg = Aggregator(config(BASE))
    before = agg.snapshot()
    assert before.readings == () and len(before.zones) == 4 and before.events == ()
    assert all(s.level == Level.UNKNOWN for s in before.zones)
    agg.on_result(result("b", 1.0, halves(3, 4)))
    snap = agg.snapshot()
    assert [r.camera for r in snap.readings] == ["b"]
    assert by_zone(snap)[("b", "all")].count == pytest.approx(7.0)


def test_results_of_unknown_cameras_are_ignored():
    assert Aggregator(config(BASE)).on_result(result("zzz", 1.0, halves(1, 1))).zones == ()


def test_reload_keeps_alert_id_and_start_and_applies_new_thresholds():
    agg = Aggregator(config(BASE))
    (start,) = feed(agg, "a", [i * 0.5 for i in range(6)], left=25.0)[0]
    stricter = BASE.replace("warning: {count: 20}, critical: {density: 4}",
                            "warning: {count: 10}, critical: {count: 24}")
    update = agg.reload(config(stricter))
    assert update.events == ()
    assert by_zone(update)[("a", "left")].alert_id == start.id
    events, _ = feed(agg, "a", [3.0 + i * 0.5 for i in range(6)], left=25.0)
    assert [(e.type, e.level, e.id, e.started_at) for e in events] == [
        (EventType.UPDATE, Level.CRITICAL, start.id, start.started_at)]


def test_reload_ends_alerts_of_removed_zones_and_adds_new_ones():
    agg = Aggregator(config(BASE))
    (start,) = feed(agg, "a", [i * 0.5 for i in range(6)], left=25.0)[0]
    changed = BASE.replace("      left:", "      door:").replace("a.left", "a.door")
    update = agg.reload(config(changed))
    assert [(e.type, e.id, e.ended_at) for e in update.events] == [(EventType.END, start.id, 2.5)]
    zones = by_zone(update)
    assert ("a", "door") in zones and ("a", "left") not in zones
    assert zones[("a", "door")].count is None and zones[("a", "door")].alert == Level.NORMAL


def test_reload_with_a_moved_polygon_restarts_its_smoothing():
    agg = Aggregator(config(BASE.replace("window_s: 1", "window_s: 100")))
    feed(agg, "a", [0.0, 1.0, 2.0], left=25.0, right=5.0)
    moved = BASE.replace("window_s: 1", "window_s: 100").replace(
        "left: {polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]", "left: {polygon: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]")
    agg.reload(config(moved))
    _, update = feed(agg, "a", [3.0], left=25.0, right=5.0)
    assert by_zone(update)[("a", "left")].count == pytest.approx(5.0)  # no median with the old polygon's 25


def test_calibrated_zone_gets_density_from_its_floor_area():
    text = """
cameras:
  top:
    url: t.mp4
    calibration:
      image_points: [[0, 0], [1, 0], [1, 1], [0, 1]]
      world_points: [[0, 0], [20, 0], [20, 10], [0, 10]]
    zones:
      half: {polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], warning: {density: 1.0}}
"""
    agg = Aggregator(config(text))
    assert agg.snapshot().zones[0].area_m2 == pytest.approx(100.0)
    update = agg.on_result(result("top", 0.0, halves(50, 10)))
    (half,) = update.zones
    assert half.area_m2 == pytest.approx(100.0) and half.density == pytest.approx(0.5)
