"""The history recorder fed with explicit timestamps: minute rows, rollups, alerts, states, maps."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from monitor.history.store import HistoryUnavailable, apply_retention, connect_writer, enforce_size, used_bytes
from monitor.types import CameraState, EventType, Level

from .helpers import T0, event, recorder, result, rows, state, status, update


def test_minute_rows_hold_min_mean_max_and_hourly_rollup(tmp_path):
    path = tmp_path / "h.sqlite3"
    rec = recorder(path)
    for i, count in enumerate([10, 20, 30]):  # first minute
        rec.record_update(update(state(T0 + i, count, density=count / 10)))
    rec.record_update(update(state(T0 + 60, 5.0), state(T0 + 61, None)))  # second minute; unknown is no sample
    rec.record_update(update(state(T0 + 1, 7.0, zone="gate", camera="site")))
    rec.stop()
    minutes = rows(path, "SELECT zone, t, n, count_min, count_sum / n, count_max, density_min, density_sum / dn, "
                         "density_max FROM zone_minutes WHERE camera = 'hall' ORDER BY t")
    assert minutes == [("floor", T0, 3, 10.0, 20.0, 30.0, 1.0, 2.0, 3.0),
                       ("floor", T0 + 60, 1, 5.0, 5.0, 5.0, None, None, None)]
    assert rows(path, "SELECT camera, zone, n FROM zone_minutes WHERE camera = 'site'") == [("site", "gate", 1)]
    hour = rows(path, "SELECT t, n, count_min, count_sum / n, count_max FROM zone_hours WHERE zone = 'floor'")
    assert hour == [(T0 // 3600 * 3600, 4, 5.0, 16.25, 30.0)]


def test_bucket_size_is_configurable(tmp_path):
    path = tmp_path / "h.sqlite3"
    rec = recorder(path, bucket_s=10)
    rec.record_update(update(*(state(T0 + i, float(i)) for i in range(25))))
    rec.stop()
    assert rows(path, "SELECT t, n FROM zone_minutes") == [(T0, 10), (T0 + 10, 10), (T0 + 20, 5)]


def test_a_restart_adds_to_the_same_minute(tmp_path):
    path = tmp_path / "h.sqlite3"
    rec = recorder(path)
    rec.record_update(update(state(T0, 10.0), state(T0 + 1, 20.0)))
    rec.stop()
    rec = recorder(path)
    rec.record_update(update(state(T0 + 2, 60.0)))
    rec.stop()
    assert rows(path, "SELECT n, count_min, count_sum, count_max FROM zone_minutes") == [(3, 10.0, 90.0, 60.0)]


def test_alert_start_end_level_and_peak(tmp_path):
    path = tmp_path / "h.sqlite3"
    rec = recorder(path)
    rec.record_update(update(state(T0 + 10, 22.0, alert_id="a1"), events=(event(EventType.START, T0 + 10, 22.0),)))
    rec.record_update(update(state(T0 + 20, 41.0, alert_id="a1")))
    rec.record_update(update(state(T0 + 30, 35.0, alert_id="a1"),
                             events=(event(EventType.UPDATE, T0 + 30, 35.0, Level.CRITICAL),)))
    rec.record_update(update(state(T0 + 90, 3.0), events=(event(EventType.END, T0 + 90, 3.0, Level.CRITICAL,
                                                                ended=T0 + 90),)))
    rec.stop()
    assert rows(path, "SELECT id, level, started_at, ended_at, peak_count, closed_by FROM alerts") == [
        ("a1", "critical", T0, T0 + 90, 41.0, None)]


def test_an_alert_left_open_is_closed_at_its_last_sample_on_restart(tmp_path):
    path = tmp_path / "h.sqlite3"
    rec = recorder(path)
    rec.record_update(update(state(T0 + 10, 22.0, alert_id="a1"), events=(event(EventType.START, T0 + 10, 22.0),)))
    rec.record_update(update(state(T0 + 25, 30.0, alert_id="a1")))
    rec.stop()
    assert rows(path, "SELECT ended_at FROM alerts") == [(None,)]
    recorder(path).stop()
    assert rows(path, "SELECT ended_at, peak_count, closed_by FROM alerts") == [(T0 + 25, 30.0, "restart")]


def test_camera_state_changes_only(tmp_path):
    path = tmp_path / "h.sqlite3"
    rec = recorder(path)
    for since, st in [(T0, CameraState.ONLINE), (T0, CameraState.ONLINE), (T0 + 5, CameraState.RECONNECTING),
                      (T0 + 9, CameraState.ONLINE)]:
        rec.record_status(status("hall", st, since, "timeout" if st is CameraState.RECONNECTING else ""))
    rec.stop()
    assert rows(path, "SELECT ts, state, reason FROM camera_states ORDER BY ts") == [
        (T0, "online", None), (T0 + 5, "reconnecting", "timeout"), (T0 + 9, "online", None)]


def test_hourly_map_is_the_mean_on_a_small_grid_and_survives_a_restart(tmp_path):
    path = tmp_path / "h.sqlite3"
    rec = recorder(path)
    big = np.zeros((135, 240), np.float32)  # a 1920x1080 frame's map: grid 64 x 36
    big[:10, :10] = 0.1  # 10 persons top-left
    rec.record_result(result(T0, big))
    rec.stop()
    rec = recorder(path)
    rec.record_result(result(T0 + 5, np.zeros((135, 240), np.float32)))
    rec.stop()
    (w, h, n, blob), = rows(path, "SELECT w, h, n, mean FROM camera_maps")
    grid = np.frombuffer(blob, np.float16).reshape(h, w)
    assert (w, h, n) == (64, 36, 2) and len(blob) == 64 * 36 * 2
    assert float(grid.astype(np.float32).sum()) == pytest.approx(5.0, rel=0.01)  # mean of 10 and 0
    assert grid[0, 0] > 0 and grid[-1, -1] == 0


def test_retention_and_size_limit(tmp_path):
    path = tmp_path / "h.sqlite3"
    rec = recorder(path)
    day = 86400
    for d in range(40):
        rec.record_update(update(state(T0 + d * day, 1.0)))
    rec.stop()
    conn = connect_writer(path)
    apply_retention(conn, minute_days=30, hourly_days=35, now=T0 + 40 * day)
    assert min(r[0] for r in conn.execute("SELECT t FROM zone_minutes")) >= T0 + 10 * day
    assert min(r[0] for r in conn.execute("SELECT t FROM zone_hours")) >= T0 + 5 * day
    blob = bytes(6000)
    conn.executemany("INSERT INTO camera_maps (camera, t, w, h, n, mean) VALUES ('c', ?, 64, 48, 1, ?)",
                     [(T0 + i * 3600, blob) for i in range(300)])
    before = used_bytes(conn)
    assert enforce_size(conn, before // 2) and used_bytes(conn) <= before // 2
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_a_file_that_is_not_a_database_is_refused_in_one_line(tmp_path, caplog):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(HistoryUnavailable, match="not a database"):
        connect_writer(path)
    rec = recorder(path)
    assert rec.error and "\n" not in rec.error and "not a database" in rec.error
    rec.record_update(update(state(T0, 1.0)))  # ignored, never raises
    rec.stop()
    assert any("running without history" in r.getMessage() for r in caplog.records)


def test_an_unwritable_place_is_refused_in_one_line_and_warned_in_healthz(tmp_path):
    from monitor.daemon.telemetry import Telemetry
    from monitor.pipeline import InferenceWorker
    from tests.pipeline.fakes import SleepyEngine

    blocker = tmp_path / "file"
    blocker.write_text("x")
    rec = recorder(blocker / "sub" / "h.sqlite3")
    assert rec.error and "cannot open it" in rec.error and "\n" not in rec.error
    worker = InferenceWorker(SleepyEngine(), 640, lambda result: None)
    warnings = Telemetry(worker, history_status=rec.status).snapshot().warnings
    assert [w for w in warnings if w.startswith("history is off") and "cannot open it" in w]
    healthy = recorder(tmp_path / "ok.sqlite3")
    assert not Telemetry(worker, history_status=healthy.status).snapshot().warnings
    rec.stop()
    healthy.stop()


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path, monkeypatch):
    import monitor.history.recorder as module

    monkeypatch.setattr(module, "QUEUE_SIZE", 5)
    rec = module.HistoryRecorder(module.HistoryConfig(), tmp_path / "h.sqlite3")  # not started: nobody drains
    for i in range(8):
        rec.record_update(update(state(T0 + i, 1.0)))
    assert rec.dropped == 3 and rec.status()["queued"] == 5


def test_wal_mode(tmp_path):
    path = tmp_path / "h.sqlite3"
    recorder(path).stop()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
