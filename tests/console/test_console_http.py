"""The console's pages and calibration endpoints on the real HTTP server, without a daemon: pages
served from monitor/web, token rules, bodies refused, clicks kept as the counts dataset."""

from __future__ import annotations

import csv
import http.client
import json
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from engines.datasets import open_dataset
from engines.errors import DatasetError
from monitor.calibration import clicks
from monitor.calibration.console import CalibrationConsole
from monitor.config import parse_config
from monitor.daemon.webapi import ApiRouter
from monitor.health import HealthServer
from monitor.health.auth import write_token
from monitor.health.messages import Request

TOKEN = "a-console-token-of-some-length"


def config_text(state, token: str | None) -> str:
    health = f"health: {{console_token: {token}}}\n" if token else ""
    return (f"{health}state_dir: {state}\ncameras:\n  door:\n    url: rtsp://127.0.0.1:9/none\n"
            "    zones:\n      hall: {polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}\n")


@pytest.fixture
def console(tmp_path):
    """A health server with the calibration API of a config (token set), one snapshot already frozen."""
    config = parse_config(config_text(tmp_path / "state", TOKEN), "test.yaml")
    folder = tmp_path / "state" / "calibration" / "door"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "snap-1.jpg"), np.full((240, 320, 3), 90, np.uint8))
    clicks.add_snapshot(folder, "snap-1.jpg")
    reloads = []
    api = ApiRouter(write_token(config.health), calibration=CalibrationConsole(lambda: config, tmp_path / "monitor.yaml",
                                                                              lambda: reloads.append(1)))
    server = HealthServer("127.0.0.1", 0, lambda: None, lambda cam: None, api=api)
    server.start()
    server.folder = folder
    yield server
    server.stop()


def request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def announce_big_body(server, path: str, length: int) -> int:
    """The answer to a POST whose headers announce ``length`` bytes, none of them sent: an oversized
    body is refused from its Content-Length, before anything is read (a client still sending it may
    see the connection close under it, as HTTP allows)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("POST", path)
        connection.putheader("X-Console-Token", TOKEN)
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_console_pages_are_served_from_the_package_and_nothing_else(console):
    for page, kind in [("/history.html", "text/html"), ("/history.js", "text/javascript"),
                       ("/calibrate.html", "text/html"), ("/calibrate.js", "text/javascript"),
                       ("/console", "text/html"), ("/console.js", "text/javascript"), ("/editor.js", "text/javascript"),
                       ("/console.css", "text/css"), ("/", "text/html")]:
        code, headers, body = request(console, "GET", page)
        assert code == 200 and headers["Content-Type"].startswith(kind) and len(body) > 500
    for bad in ("/nothere.html", "/../pyproject.toml", "/%2e%2e/cli.py", "/__init__.py", "/History.html",
                "/console/", "/console.html/x"):
        assert request(console, "GET", bad)[0] == 404, bad


def test_history_disabled_still_serves_calibration(console):
    code, _, body = request(console, "GET", "/api/series?camera=door&zone=hall")
    assert code == 404 and json.loads(body)["error"] == "history is disabled"
    code, _, body = request(console, "GET", "/api/calibration?camera=door")
    assert code == 200 and json.loads(body)["snapshots"][0]["image"] == "snap-1.jpg"


def test_clicks_become_the_counts_dataset_and_boxes_a_bare_count(console):
    folder, path = console.folder, "/api/calibration/clicks?camera=door&image=snap-1.jpg"
    auth = {"X-Console-Token": TOKEN}
    body = json.dumps({"points": [[10, 20], [30.25, 40]]}).encode()
    assert request(console, "POST", path, body, {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    with open(folder / "counts.csv", newline="") as handle:
        assert list(csv.reader(handle)) == [["image", "count", "points"], ["snap-1.jpg", "2", "10.0 20.0;30.2 40.0"]]
    sample, = open_dataset(folder, "counts").samples
    assert sample.points.tolist() == [[10.0, 20.0], [30.200000762939453, 40.0]] and sample.count_in(240, 320) == 2

    # A dense group boxed with its count: the count adds up, points are left out (they would be too few).
    body = json.dumps({"points": [[10, 20]], "boxes": [[200, 100, 100, 50, 7]]}).encode()
    code, _, answer = request(console, "POST", path, body, auth)
    assert code == 200 and json.loads(answer)["count"] == 8
    sample, = open_dataset(folder, "counts").samples
    assert sample.points is None and sample.annotated_count == 8
    listed = json.loads(request(console, "GET", "/api/calibration?camera=door")[2])["snapshots"][0]
    assert listed["boxes"] == [[100.0, 50.0, 200.0, 100.0, 7.0]] and listed["points"] == [[10.0, 20.0]]

    for bad in ({"points": [[10]]}, {"points": [[-1, 5]]}, {"boxes": [[0, 0, 10, 10, -2]]}, {"points": "x"}):
        code, _, answer = request(console, "POST", path, json.dumps(bad).encode(), auth)
        assert code == 400 and json.loads(answer)["error"], bad
    assert request(console, "POST", path, b"not json", auth)[0] == 400
    assert open_dataset(folder, "counts").samples[0].annotated_count == 8  # unchanged by the refusals


def test_writes_need_the_token_and_big_bodies_are_refused(console):
    path = "/api/calibration/clicks?camera=door&image=snap-1.jpg"
    body = json.dumps({"points": [[1, 1]]}).encode()
    assert request(console, "POST", path, body)[0] == 401
    assert request(console, "POST", path, body, {"X-Console-Token": TOKEN + "x"})[0] == 401
    assert clicks.read_rows(console.folder)[0].count == ""
    assert announce_big_body(console, path, 2 << 20) == 413
    assert request(console, "POST", "/api/series", body, {"X-Console-Token": TOKEN})[0] == 405
    code, _, answer = request(console, "POST", "/api/calibration/apply?camera=door", b"", {"X-Console-Token": TOKEN})
    assert code == 409 and "scan" in json.loads(answer)["error"]


def test_without_a_configured_token_writes_are_off(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = parse_config(config_text(tmp_path, None), "test.yaml")
    api = ApiRouter(write_token(config.health), calibration=CalibrationConsole(lambda: config, tmp_path / "x.yaml",
                                                                              lambda: None))
    answer = api(Request("POST", "/api/calibration/snapshot", "camera=door", {"X-Console-Token": "anything-at-all"}))
    assert answer.code == 403 and b"no console token is configured" in answer.body


def test_points_and_counts_must_agree_in_a_counts_file(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "counts.csv").write_text("image,count,points\na.jpg,3,1 1;2 2\n")
    with pytest.raises(DatasetError, match="count 3 but 2 head points"):
        open_dataset(tmp_path, "counts")
    (tmp_path / "counts.csv").write_text("image,count,points\na.jpg,2,1 1;2\n")
    with pytest.raises(DatasetError, match="points must be"):
        open_dataset(tmp_path, "counts")
