"""INT8 by default: a real RTSP camera -> `crowd-monitor run` starts on the float engine, calibrates
INT8 on the camera's own frames in the background, checks its counts against the float engine on
later frames, switches between batches, and a restart adopts the remembered verdict without a new job.

Calibration is kept small (8 + 8 frames at 320x240) so the test takes about a minute.  The camera
shows the real Mall frames (or Debian's vtest.avi without the dataset): a check on a scene without
people would prove little.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.data import MALL, VTEST
from tests.support.rtsp import free_port

ROOT = Path(__file__).resolve().parents[2]
CHECK_FRAMES = 8


def write_config(path: Path, url: str, broker_port: int, http_port: int, cache: Path, state: Path) -> None:
    path.write_text(f"""
mqtt: {{host: 127.0.0.1, port: {broker_port}, client_id: int8-e2e, heartbeat_s: 5, stats_interval_s: 1,
        reconnect_max_s: 1}}
model:
  max_side: 320
  cache_dir: "{cache}"
  auto_int8: {{calibration_frames: 8, check_frames: {CHECK_FRAMES}, frame_interval_s: 0.5, nice: 1}}
health: {{port: {http_port}}}
history: {{enabled: false}}
state_dir: "{state}"
cameras:
  hall:
    url: {url}
    sample_fps: 4
    zones:
      floor: {{polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}}
""")


def get(port: int, path: str):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            body = answer.read().decode()
    except urllib.error.HTTPError as exc:  # 503 while unhealthy still carries the body
        body = exc.read().decode()
    return json.loads(body) if path != "/metrics" else body


def start(config: Path, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "a")
    return subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def stop(daemon: subprocess.Popen) -> None:
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0


def stats_with(recorder, since: float, timeout: float, what: str, **engine):
    found = recorder.wait_for(
        lambda m: m.topic == "crowd/stats" and m.at >= since
        and all(json.loads(m.payload)["engine"].get(k) == v for k, v in engine.items()), timeout, what)
    return json.loads(found.payload)


@pytest.mark.slow
def test_float_then_int8_after_the_counts_check(tmp_path, rtsp_server_factory, mosquitto, mqtt_recorder):
    if (MALL / "frames" / "seq_000001.jpg").exists():
        camera = rtsp_server_factory(size="320x240", fps=10).start()  # the Mall frames, looped
    elif VTEST.exists():
        camera = rtsp_server_factory(file=VTEST, size="320x240", fps=10, real_frames=False).start()
    else:
        pytest.skip("needs real people on camera: ../shared/data/mall or Debian's opencv-doc (vtest.avi)")
    config, port, state = tmp_path / "monitor.yaml", free_port(), tmp_path / "state"
    write_config(config, camera.url, mosquitto.port, port, tmp_path / "cache", state)
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    log_path = tmp_path / "daemon.log"
    daemon = start(config, log_path)
    try:
        _first_run(recorder, port, state, log_path)
        stop(daemon)
        restarted = time.monotonic()
        daemon = start(config, log_path)
        _second_run(recorder, port, state, restarted)
        daemon.send_signal(signal.SIGHUP)  # signals after a switch: the float engine's thread state is gone
        deadline = time.monotonic() + 30
        while "reloaded" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert daemon.poll() is None and "reloaded" in log_path.read_text()
        stop(daemon)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        print(log_path.read_text()[-8000:])


def _first_run(recorder, port: int, state: Path, log_path: Path) -> None:
    recorder.wait_payload("crowd/available", "online", timeout=120)
    first = stats_with(recorder, 0, 60, "stats from the float engine")["engine"]
    assert first["backend"] in ("openvino-bf16", "openvino-fp32") and first["precision"] in ("bf16", "fp32")
    assert first["precision_state"] in ("collecting", "calibrating")
    early = get(port, "/healthz")["engine"]
    assert early["precision"] == first["precision"] and early["state"] in ("collecting", "calibrating")

    switched = stats_with(recorder, 0, 150, "stats after the switch to INT8", backend="openvino-int8")["engine"]
    assert switched["precision"] == "int8" and switched["precision_state"] == "int8"
    assert "within" in switched["precision_reason"] and f"switched from {first['precision']}" in switched["precision_reason"]
    at = time.monotonic()
    health = get(port, "/healthz")["engine"]
    assert health["name"] == "openvino-int8" and health["state"] == "int8" and health["cached"] is False
    assert health["check"]["frames"] == CHECK_FRAMES and health["check"]["ok"]
    assert abs(health["check"]["sum_diff_pct"]) <= 1.0 and health["check"]["float_sum"] > CHECK_FRAMES
    metrics = get(port, "/metrics")
    assert 'crowd_monitor_engine_precision_info{engine="openvino-int8",precision="int8",state="int8"} 1' in metrics

    # Counting goes on, on INT8: fresh counts of a busy scene after the switch.
    counts = [json.loads(recorder.wait_for(lambda m: m.topic == "crowd/hall/count" and m.at >= at and m.payload,
                                           30, "a count after the switch").payload)["count"]]
    assert counts[0] > 1
    decisions = list((state / "int8").glob("*/decision.json"))
    assert len(decisions) == 1 and json.loads(decisions[0].read_text())["verdict"] == "int8"
    assert "320x240" in decisions[0].parent.name
    text = log_path.read_text()
    assert "engine switched from openvino-" in text and "to openvino-int8 between batches" in text


def _second_run(recorder, port: int, state: Path, since: float) -> None:
    job_log = next((state / "int8").glob("*/job/job.log"))
    written = job_log.stat().st_mtime
    stats_with(recorder, since, 120, "stats after a restart", precision="int8", precision_state="int8")
    health = get(port, "/healthz")["engine"]
    assert health["cached"] is True and health["name"] == "openvino-int8"
    assert job_log.stat().st_mtime == written  # the verdict was read, no job ran again
