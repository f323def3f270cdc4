"""The /api/ endpoints over real HTTP on the health server, on a history written by the recorder."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest

from monitor.config import parse_config
from monitor.daemon.webapi import ApiRouter
from monitor.health import HealthServer
from monitor.health.auth import WriteToken
from monitor.history.api import HistoryApi
from monitor.types import CameraState, EventType

from .helpers import T0, event, recorder, result, state, status, update

CONFIG = """
cameras:
  hall:
    url: rtsp://x/y
    zones:
      floor: {polygon: [[0, 0], [1, 0], [1, 1], [0, 1]], warning: {count: 20}, critical: {count: 40}}
site_zones:
  all: {zones: [hall.floor], warning: {count: 25}}
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "h.sqlite3"
    rec = recorder(path)
    for minute in range(180):  # three hours, one sample every 20 s
        rec.record_update(update(*(state(T0 + minute * 60 + s, float(minute % 30), density=minute / 100)
                                   for s in (0, 20, 40))))
    rec.record_update(update(state(T0 + 600, 25.0, alert_id="a1"), events=(event(EventType.START, T0 + 600, 25.0,
                                                                                started=T0 + 600),)))
    rec.record_update(update(events=(event(EventType.END, T0 + 900, 5.0, started=T0 + 600, ended=T0 + 900),)))
    rec.record_status(status("hall", CameraState.ONLINE, T0 - 10))
    rec.record_status(status("hall", CameraState.OFFLINE, T0 + 100, "gone"))
    density = np.zeros((30, 40), np.float32)
    density[0, 0] = 4.0
    rec.record_result(result(T0 + 1, density))
    rec.stop()
    config = parse_config(CONFIG, "test.yaml")
    server = HealthServer("127.0.0.1", 0, lambda: None, lambda cam: None,
                          api=ApiRouter(WriteToken(None), HistoryApi(path, lambda: config, rec.status, 60).handle))
    server.start()
    yield server
    server.stop()


def get(server, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_series_of_a_zone_with_thresholds_and_alert_periods(api):
    code, headers, body = get(api, f"/api/series?camera=hall&zone=floor&from={T0}&to={T0 + 3600}")
    data = json.loads(body)
    assert code == 200 and headers["Content-Type"] == "application/json"
    assert data["resolution"] == "minute" and data["bucket_s"] == 60 and len(data["points"]) == 60
    assert data["points"][7] == {"t": T0 + 420, "samples": 3, "min": 7.0, "mean": 7.0, "max": 7.0}
    assert data["thresholds"] == {"warning": {"count": 20.0}, "critical": {"count": 40.0}}
    assert [(a["id"], a["started_at"], a["ended_at"], a["peak_count"]) for a in data["alerts"]] == [
        ("a1", T0 + 600, T0 + 900, 25.0)]


def test_long_ranges_come_from_hourly_rollups(api):
    code, _, body = get(api, f"/api/series?camera=hall&zone=floor&metric=density&range=7d&to={T0 + 3 * 3600}")
    data = json.loads(body)
    assert code == 200 and data["resolution"] == "hour" and len(data["points"]) == 3
    assert data["points"][0]["samples"] == 180 and data["points"][0]["max"] == pytest.approx(0.59)


def test_csv_export_of_a_range(api):
    code, headers, body = get(api, f"/api/export.csv?from={T0}&to={T0 + 600}")
    assert code == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(table) == 10 and table[3]["count_mean"] == "3.0" and table[3]["time_utc"].endswith("Z")
    assert table[0]["camera"] == "hall" and table[0]["samples"] == "3"


def test_heatmap_png_and_json(api):
    code, headers, body = get(api, f"/api/heatmap?camera=hall&from={T0}&to={T0 + 3600}&scale=4")
    assert code == 200 and headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG")
    data = json.loads(get(api, f"/api/heatmap?camera=hall&format=json&from={T0}&to={T0 + 3600}")[2])
    assert (data["width"], data["height"], data["frames"]) == (64, 48, 1)
    assert data["sum"] == pytest.approx(4.0, rel=0.01) and data["values"][0][0] > 0
    assert get(api, f"/api/heatmap?camera=nope&from={T0}&to={T0 + 3600}")[0] == 404


def test_alerts_camera_states_zones_and_status(api):
    alerts = json.loads(get(api, f"/api/alerts?from={T0}&to={T0 + 3600}")[2])["alerts"]
    assert [a["level"] for a in alerts] == ["warning"]
    states = json.loads(get(api, f"/api/camera_states?camera=hall&from={T0}&to={T0 + 3600}")[2])["states"]
    assert [s["state"] for s in states] == ["online", "offline"]  # the state at the start, then the change
    zones = json.loads(get(api, "/api/zones")[2])["zones"]
    assert {(z["camera"], z["zone"]) for z in zones} == {("hall", "floor"), ("site", "all")}
    status = json.loads(get(api, "/api/status")[2])
    assert status["enabled"] and status["dropped"] == 0 and status["commits"] >= 1


@pytest.mark.parametrize("query, message", [
    ("/api/series?zone=floor", "camera: required"),
    ("/api/series?camera=hall&zone=floor&metric=speed", "metric: one of"),
    ("/api/series?camera=hall&zone=floor&from=yesterday", "from: not a time"),
    ("/api/series?camera=hall&zone=floor&range=7weeks", "range: not a duration"),
    ("/api/series?camera=hall&zone=floor&from=200&to=100", "from must be before to"),
    ("/api/series?camera=hall&zone=floor&range=60d&resolution=minute&to=1000000000", "use resolution=hour"),
    ("/api/alerts?limit=-1", "limit: a number"),
    ("/api/alerts?bogus=1", "unknown parameter 'bogus'"),
    ("/api/heatmap?camera=hall&scale=1000", "scale: a number"),
])
def test_bad_parameters_are_400_with_a_json_error(api, query, message):
    code, headers, body = get(api, query)
    assert code == 400 and headers["Content-Type"] == "application/json"
    assert message in json.loads(body)["error"]


def test_unknown_endpoint_and_iso_times(api):
    assert get(api, "/api/nothing")[0] == 404
    start = __import__("datetime").datetime.fromtimestamp(T0, __import__("datetime").timezone.utc)
    code, _, body = get(api, f"/api/series?camera=hall&zone=floor&from={start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
                             "&range=10m")
    assert code == 400  # from and range together
    code, _, body = get(api, f"/api/series?camera=hall&zone=floor&to={start.strftime('%Y-%m-%dT%H:%M:%S')}"
                             "&range=10m")
    assert code == 200 and json.loads(body)["to"] == T0
