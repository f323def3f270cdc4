"""End to end: real RTSP server -> `crowd-monitor run` (subprocess) -> real Mosquitto -> subscriber.

The camera shows real Mall frames in alternating busy and quiet phases, so a zone alert must start
and end on its own; then SIGHUP changes the threshold live, the camera and the broker are killed
and restarted, and SIGTERM must end with ``stopped``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.data import MALL, need

ROOT = Path(__file__).resolve().parents[2]
PHASE_FRAMES = 60  # 6 s per phase at 10 fps


def mall_counts() -> np.ndarray:
    """Annotated head count of every Mall frame."""
    import scipy.io

    return scipy.io.loadmat(str(MALL / "mall_gt.mat"))["count"].ravel()


def build_scene(folder: Path) -> Path:
    """seq_NNNNNN.jpg links: busy Mall frames (~50 people), then quiet ones (~13), looped by the server."""
    need(MALL / "mall_gt.mat", "Mall dataset")
    counts = mall_counts()
    order = np.argsort(counts, kind="stable")
    quiet, busy = order[:PHASE_FRAMES // 2] + 1, order[-PHASE_FRAMES // 2:] + 1
    sequence = [*np.repeat(busy, 2), *np.repeat(quiet, 2)]
    folder.mkdir()
    for index, frame in enumerate(sequence, start=1):
        (folder / f"seq_{index:06d}.jpg").symlink_to(MALL / "frames" / f"seq_{frame:06d}.jpg")
    return folder


def write_config(path: Path, rtsp_url: str, broker_port: int, cache: Path, warning: float) -> None:
    path.write_text(f"""
mqtt: {{host: 127.0.0.1, port: {broker_port}, client_id: e2e, heartbeat_s: 5, stats_interval_s: 2,
        reconnect_max_s: 1}}
model: {{max_side: 320, cache_dir: "{cache}"}}
health: {{port: 0}}
alerts: {{raise_after_s: 1, clear_after_s: 1, hysteresis: 0.1, cooldown_s: 0, smoothing: {{window_s: 1}}}}
cameras:
  hall:
    url: {rtsp_url}
    sample_fps: 2
    read_timeout_s: 3
    open_timeout_s: 3
    reconnect_initial_s: 0.5
    reconnect_max_s: 1
    zones:
      floor:
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
        warning: {{count: {warning}}}
""")


def events(recorder, since: float = 0.0) -> list[dict]:
    return [json.loads(m.payload) for m in recorder.on("crowd/events", since)]


def wait_event(recorder, kind: str, since: float, timeout: float, **match) -> dict:
    found = recorder.wait_for(
        lambda m: m.topic == "crowd/events" and m.at >= since and m.payload and json.loads(m.payload)["type"] == kind
        and all(json.loads(m.payload)[k] == v for k, v in match.items()), timeout, f"a '{kind}' event {match}")
    return json.loads(found.payload)


@pytest.mark.slow
def test_daemon_end_to_end(tmp_path, tmp_path_factory, rtsp_server_factory, mosquitto, mqtt_recorder):
    scene = build_scene(tmp_path / "scene")
    camera = rtsp_server_factory(frames=scene, size="320x240", fps=10).start()
    config = tmp_path / "monitor.yaml"
    cache = tmp_path_factory.mktemp("engine-cache")
    write_config(config, camera.url, mosquitto.port, cache, warning=20)
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _scenario(daemon, recorder, camera, mosquitto, config, cache)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()
        print((tmp_path / "daemon.log").read_text()[-6000:])


def _scenario(daemon, recorder, camera, broker, config, cache) -> None:
    recorder.wait_payload("crowd/available", "online", timeout=120)
    first = recorder.wait_for(lambda m: m.topic == "crowd/hall/count" and m.payload, 60, "a count")
    assert json.loads(first.payload)["count"] > 0

    # The scene alternates busy (~30 counted at 320 px) and quiet (~10): an alert starts and ends by itself.
    start = wait_event(recorder, "start", 0, timeout=60, zone="floor", level="warning")
    end = wait_event(recorder, "end", 0, timeout=60, id=start["id"])
    assert start["threshold"] == 20 and start["count"] >= 20 * 0.9
    assert end["ended_at"] > end["started_at"] == start["started_at"]

    # SIGHUP with a threshold below even the quiet phase: an alert with the new threshold starts.
    write_config(config, camera.url, broker.port, cache, warning=2)
    hup = time.monotonic()
    daemon.send_signal(signal.SIGHUP)
    live = wait_event(recorder, "start", hup, timeout=40, threshold=2)
    assert live["level"] == "warning"

    # Camera dies: reconnecting within the read timeout; it comes back online by itself.
    camera.kill()
    killed = time.monotonic()
    recorder.wait_for(lambda m: m.topic == "crowd/hall/status" and m.at >= killed and m.text == "reconnecting",
                      15, "status reconnecting")
    back = time.monotonic()  # before start(): the reader may reconnect before start() returns
    camera.start()
    recorder.wait_payload("crowd/hall/status", "online", timeout=30, since=back)
    recorder.wait_for(lambda m: m.topic == "crowd/hall/count" and m.at >= back and m.payload, 30, "counts after the camera returned")

    # Broker dies and returns: the daemon reconnects and republishes availability and state.
    broker.kill()
    time.sleep(2)
    restarted = time.monotonic()  # before start(): the daemon may reconnect before start() returns
    broker.start()
    recorder.wait_payload("crowd/available", "online", timeout=30, since=restarted)
    recorder.wait_for(lambda m: m.topic == "crowd/hall/floor/state" and m.at >= restarted and m.payload, 30, "state republished")
    recorder.wait_for(lambda m: m.topic == "crowd/hall/floor/alert" and m.at >= restarted and m.text == "warning",
                      30, "current alert republished")

    # SIGTERM: drains, says stopped, exits 0 within a few seconds.
    term = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=20) == 0
    assert time.monotonic() - term < 15
    recorder.wait_payload("crowd/available", "stopped", timeout=10, since=term)
    stats = [json.loads(m.payload) for m in recorder.on("crowd/stats")]
    assert stats and stats[-1]["mqtt"]["dropped"] == 0
