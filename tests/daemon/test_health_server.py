"""The health endpoint over real HTTP: /healthz status codes, Prometheus text, heatmaps."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.health import CameraHealth, HealthServer, HealthSnapshot
from monitor.health.server import MAX_THREADS
from monitor.health.snapshot import ZoneHealth


def snapshot(healthy: bool = True) -> HealthSnapshot:
    return HealthSnapshot(
        ts=1.0, healthy=healthy, problems=() if healthy else ("inference loop stalled for 75 s",),
        engine="openvino-bf16", engine_latency_ms={"p50": 500.0, "p95": 650.0, "max": 700.0, "count": 1234567, "sum": 617283.5},
        queue_lag_ms={"p50": 20.0},
        loop_age_s=0.2,
        cameras=(CameraHealth("entrance", "online", "", fps=1.9, count=12.5, frames=100, drops=3, reconnects=1),
                 CameraHealth('we"ird', "offline", "connection refused")),
        zones=(ZoneHealth("entrance", "gate", 7.0, 0.2, "warning"),),
        alerts_started=2, alerts_active=1, mqtt={"connected": True, "outbox": 0, "dropped": 4})


@pytest.fixture
def server():
    state = {"snap": snapshot()}
    srv = HealthServer("127.0.0.1", 0, lambda: state["snap"],
                       lambda cam: b"\xff\xd8fakejpeg" if cam == "entrance" else None)
    srv.start()
    yield srv, state
    srv.stop()


def get(srv, path, timeout=5.0):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}{path}", timeout=timeout) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def test_healthz_follows_health(server):
    srv, state = server
    code, _, body = get(srv, "/healthz")
    assert code == 200 and json.loads(body)["status"] == "ok"
    state["snap"] = snapshot(healthy=False)
    code, _, body = get(srv, "/healthz")
    assert code == 503 and json.loads(body)["problems"] == ["inference loop stalled for 75 s"]


def test_metrics_are_valid_prometheus_text(server):
    srv, _ = server
    code, ctype, body = get(srv, "/metrics")
    text = body.decode()
    assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or sample.match(line), line
    assert 'crowd_monitor_camera_fps{camera="entrance"} 1.9' in text
    assert 'crowd_monitor_camera_dropped_frames_total{camera="entrance"} 3' in text
    assert 'crowd_monitor_camera_online{camera="we\\"ird"} 0' in text
    assert "# TYPE crowd_monitor_engine_latency_seconds summary" in text
    assert 'crowd_monitor_engine_latency_seconds{quantile="0.5"} 0.5' in text
    assert 'crowd_monitor_engine_latency_seconds{quantile="0.95"} 0.65' in text
    assert 'crowd_monitor_engine_latency_seconds{quantile="1"} 0.7' in text  # the window's max
    assert "crowd_monitor_engine_latency_seconds_sum 617.2835\n" in text  # all calls, full precision
    assert "crowd_monitor_engine_latency_seconds_count 1234567\n" in text
    assert 'crowd_monitor_zone_alert_level{camera="entrance",zone="gate"} 1' in text
    assert "crowd_monitor_mqtt_dropped_events_total 4" in text


def test_heatmap_and_status_page(server):
    srv, _ = server
    assert get(srv, "/heatmap/entrance.jpg")[:2] == (200, "image/jpeg")
    assert get(srv, "/heatmap/nope.jpg")[0] == 404
    code, ctype, body = get(srv, "/")
    assert code == 200 and b"crowd-monitor" in body and ctype.startswith("text/html")
    status = json.loads(get(srv, "/status.json")[2])
    assert status["cameras"][0]["name"] == "entrance"


def test_idle_clients_are_dropped_and_threads_stay_bounded():
    srv = HealthServer("127.0.0.1", 0, snapshot, lambda cam: None, idle_timeout_s=1.0)
    srv.start()
    base = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=30) for _ in range(100)]  # never send
    try:
        peak, until = 0, time.monotonic() + 1.5
        while time.monotonic() < until:
            peak = max(peak, threading.active_count())
            time.sleep(0.01)
        assert peak - base <= MAX_THREADS  # was one thread per client, for as long as it stayed
        assert get(srv, "/healthz", timeout=60)[0] == 200  # served once the idle ones have timed out
        assert all(client.recv(1) == b"" for client in idle)  # each idle client was hung up on
    finally:
        for client in idle:
            client.close()
        srv.stop()


def test_a_burst_of_requests_waits_in_the_backlog_not_in_syn_retries():
    def slow_snapshot() -> HealthSnapshot:
        time.sleep(0.05)  # a busy daemon: while the handler threads are all taken, clients queue
        return snapshot()

    srv = HealthServer("127.0.0.1", 0, slow_snapshot, lambda cam: None)
    srv.start()
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=200) as pool:
            codes = list(pool.map(lambda _: get(srv, "/status.json", timeout=60)[0], range(200)))
        seconds = time.monotonic() - started
    finally:
        srv.stop()
    assert codes == [200] * 200
    assert seconds < 10  # with a backlog of 5, refused SYNs are retried after 1, 3, 7 s...: 15 s and more


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_status_page_renders_in_headless_chromium(tmp_path):
    import shutil
    import subprocess

    import cv2
    import numpy as np

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (apt install chromium)")
    ok, jpeg = cv2.imencode(".jpg", np.full((60, 80, 3), 128, np.uint8))
    srv = HealthServer("127.0.0.1", 0, snapshot, lambda cam: jpeg.tobytes() if cam == "entrance" else None)
    srv.start()
    try:
        proc = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path}", "--virtual-time-budget=5000",
                               "--dump-dom", f"http://127.0.0.1:{srv.port}/"],
                              capture_output=True, text=True, timeout=90)
    finally:
        srv.stop()
    dom = proc.stdout
    assert 'id="cam-entrance"' in dom and 'data-heatmap="loaded"' in dom, dom[-2000:]
    assert "online · count 12.5 · 1.90 fps" in dom
    assert 'data-heatmap="missing"' in dom  # the offline camera has no heatmap yet
    assert "healthy" in dom and "warning" in dom
