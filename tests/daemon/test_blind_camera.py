"""A camera whose picture goes black mid-run: blind, its zone unknown, no alert; then back to counting.

Real RTSP server -> `crowd-monitor run` (subprocess) -> real Mosquitto.  The camera loops a short
stretch of real Mall frames, a long black stretch (lens covered) and a long stretch of Mall frames
again.  The zone's warning threshold is far below Mall's counts but must hold for longer than the
first stretch lasts, so the only alert may come from the last stretch, after the blind spell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.data import MALL, need

ROOT = Path(__file__).resolve().parents[2]
FPS = 10
SHORT, BLACK, LONG = 20, 150, 300  # frames: 2 s of people, 15 s of black, 30 s of people


def build_scene(folder: Path) -> Path:
    """seq_NNNNNN.jpg: Mall frames, black frames, Mall frames (looped by the server)."""
    frames = need(MALL / "frames", "Mall dataset")
    folder.mkdir()
    black = folder / "black.jpg"
    cv2.imwrite(str(black), np.zeros((480, 640, 3), np.uint8))
    sequence = [frames / f"seq_{n:06d}.jpg" for n in range(1, SHORT + 1)] + [black] * BLACK
    sequence += [frames / f"seq_{n:06d}.jpg" for n in range(SHORT + 1, SHORT + LONG + 1)]
    for index, source in enumerate(sequence, start=1):
        (folder / f"seq_{index:06d}.jpg").symlink_to(source)
    return folder


def write_config(path: Path, rtsp_url: str, broker_port: int, cache: Path) -> None:
    path.write_text(f"""
mqtt: {{host: 127.0.0.1, port: {broker_port}, client_id: blind, heartbeat_s: 5, stats_interval_s: 2}}
model: {{max_side: 320, cache_dir: "{cache}"}}
health: {{port: 0}}
alerts: {{raise_after_s: 6, clear_after_s: 60, cooldown_s: 0, smoothing: {{window_s: 1}}}}
cameras:
  door:
    url: {rtsp_url}
    sample_fps: 2
    zones:
      lobby:
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
        warning: {{count: 3}}
""")


@pytest.mark.slow
def test_a_camera_going_black_is_blind_unknown_and_raises_nothing(tmp_path, tmp_path_factory, rtsp_server_factory,
                                                                   mosquitto, mqtt_recorder):
    scene = build_scene(tmp_path / "scene")
    camera = rtsp_server_factory(frames=scene, size="640x480", fps=FPS).start()
    config = tmp_path / "monitor.yaml"
    write_config(config, camera.url, mosquitto.port, tmp_path_factory.mktemp("engine-cache"))
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _scenario(recorder)
    finally:
        daemon.terminate()
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
        print((tmp_path / "daemon.log").read_text()[-4000:])


def _scenario(recorder) -> None:
    recorder.wait_payload("crowd/available", "online", timeout=120)
    blind = recorder.wait_for(lambda m: m.topic == "crowd/door/status" and m.text == "blind", 90, "status blind")
    unknown = recorder.wait_for(lambda m: m.topic == "crowd/door/lobby/state" and m.at >= blind.at and m.payload
                                and json.loads(m.payload)["level"] == "unknown", 10, "zone unknown while blind")
    assert json.loads(unknown.payload)["count"] is None
    back = recorder.wait_for(lambda m: m.topic == "crowd/door/status" and m.at > blind.at and m.text == "online",
                             60, "status online again")
    counted = recorder.wait_for(lambda m: m.topic == "crowd/door/lobby/state" and m.at > back.at and m.payload
                                and json.loads(m.payload)["count"] is not None, 30, "counts after the picture came back")
    assert json.loads(counted.payload)["count"] > 3
    start = recorder.wait_for(lambda m: m.topic == "crowd/events" and m.payload
                              and json.loads(m.payload)["type"] == "start", 60, "an alert once people are seen again")
    assert start.at > back.at  # nothing started before: not during the first stretch, nor while blind
    blind_wall = time.time() - (time.monotonic() - blind.at)
    assert json.loads(start.payload)["started_at"] > blind_wall
    states = [json.loads(m.payload) for m in recorder.on("crowd/door/lobby/state") if blind.at <= m.at < back.at and m.payload]
    assert states and all(s["level"] == "unknown" for s in states)
