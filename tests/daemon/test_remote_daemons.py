"""Three daemons (real `crowd-monitor run` processes) sharing one real Triton server (`crowd-monitor serve`).

Each daemon reads its own GStreamer RTSP camera (Mall frames at 320x240 when present) and publishes
to a real Mosquitto; all three send their frames to one server with ``model.backend: remote``.
Each daemon has one camera, so each request holds one frame: a batch larger than 1 in Triton's
own statistics can only be frames of different daemons merged by its dynamic batcher.  The server
is then killed (SIGKILL of its process group) and restarted on the same ports: every daemon must
report the gap (``/healthz`` 503, ``/metrics`` engine_up 0, ``P/CAM/status/detail``), publish no
count while it lasts (its zone's state loses its count once the camera is stale), resume with
readings of frames taken after the restart, and never exit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.broker import free_port
from tests.support.http import http_get
from tests.support.rtsp import RtspServer
from tests.support.triton import make_triton_server
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("north", "south", "east")

DAEMON = """\
mqtt: {{host: 127.0.0.1, port: {broker}, client_id: {name}, topic_prefix: crowd-{name}, homeassistant: false}}
model: {{backend: remote, url: "grpc://127.0.0.1:{grpc}", timeout_s: 10, max_side: 320}}
health: {{host: 127.0.0.1, port: {health}}}
history: {{enabled: false}}
cameras:
  door:
    url: {camera}
    sample_fps: 2
    read_timeout_s: 4                 # a camera without readings for 8 s is stale (its zone's count null)
    frozen_after_s: 0
    zones:
      floor: {{polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}}
"""


class Box:
    """One camera box: an RTSP camera and a ``crowd-monitor run`` process reading it."""

    def __init__(self, folder: Path, name: str, broker: int, grpc: int):
        self.name, self.health = name, free_port()
        self.camera = RtspServer(size="320x240", fps=5).start()
        self.config, self.log_path = folder / f"{name}.yaml", folder / f"{name}.log"
        self.config.write_text(DAEMON.format(name=name, broker=broker, grpc=grpc, health=self.health,
                                             camera=self.camera.url))
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(self.config)], cwd=ROOT,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def get(self, path: str) -> tuple[int, str]:
        """Status code and body of ``path`` on the daemon's health server (0 while it does not answer)."""
        try:
            return http_get(self.health, path, timeout=5)
        except OSError:
            return 0, ""

    def metric(self, name: str) -> float | None:
        """The value of an unlabelled (or first) sample of ``crowd_monitor_<name>`` in /metrics."""
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(f"crowd_monitor_{name}"):
                return float(line.split()[-1])
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.camera.kill()


def detail(recorder, name: str) -> dict | None:
    """The last ``P/CAM/status/detail`` of a daemon's camera."""
    message = recorder.last(f"crowd-{name}/door/status/detail")
    return json.loads(message.payload) if message is not None and message.payload else None


def readings_since(recorder, name: str, since: float) -> list:
    """Count messages of a daemon's camera measured after ``since`` (wall clock, the payload's ``ts``).

    Retained state is republished every ``heartbeat_s`` with its own measurement time, so an old
    count may arrive again during a gap; a new reading is one with a new ``ts``.
    """
    return [m for m in recorder.on(f"crowd-{name}/door/count") if m.payload and json.loads(m.payload)["ts"] >= since]


@pytest.mark.slow
def test_three_daemons_share_one_server_batched_and_survive_its_restart(tmp_path, tmp_path_factory, gst_rtsp,
                                                                        mosquitto, mqtt_recorder):
    # 150 ms: a daemon's request waits that long for others; 2 fps each keeps the CPU engine ahead
    server = make_triton_server(tmp_path_factory, queue_delay_ms=150)
    server.start()
    recorder = mqtt_recorder(mosquitto, [f"crowd-{name}/#" for name in NAMES])
    boxes = []
    try:
        boxes = [Box(tmp_path, name, mosquitto.port, server.grpc_port) for name in NAMES]
        _batched(server, boxes, recorder)
        _killed_and_restarted(server, boxes, recorder)
        for box in boxes:
            box.proc.send_signal(signal.SIGTERM)
        assert [box.proc.wait(30) for box in boxes] == [0, 0, 0], "a daemon did not stop cleanly"
    finally:
        server.kill()
        for box in boxes:
            box.close()
        for box in boxes:
            print(f"--- {box.name} ---\n{box.log_path.read_text()[-2500:]}")


def _batched(server, boxes, recorder) -> None:
    for box in boxes:
        wait_until(lambda b=box: readings_since(recorder, b.name, 0.0), 120, f"a count from {box.name}")
    before, start = server.statistics(), time.monotonic()

    def merged():
        """Statistics once 10 s have passed and a batch larger than 1 has run since ``before``."""
        stats = server.statistics()
        larger = sum(n for size, n in stats["batches"].items() if size > 1)
        return stats if time.monotonic() - start >= 10 and larger > sum(
            n for size, n in before["batches"].items() if size > 1) else None

    stats = wait_until(merged, 60, "a batch larger than 1 in Triton's statistics")
    frames = stats["inference_count"] - before["inference_count"]
    executions = stats["execution_count"] - before["execution_count"]
    print(f"Triton statistics: batch sizes {stats['batches']}; since all three counted: "
          f"{frames} frames in {executions} executions in {time.monotonic() - start:.0f} s")
    assert max(stats["batches"]) > 1 and frames > executions
    assert all(box.proc.poll() is None for box in boxes)


def _killed_and_restarted(server, boxes, recorder) -> None:
    # a server too slow for timeout_s on this loaded machine is a gap too: count the kill's from here
    gaps = [box.metric("engine_gaps_total") for box in boxes]
    server.kill()
    killed = time.time()
    for box, before in zip(boxes, gaps):
        wait_until(lambda b=box: (detail(recorder, b.name) or {}).get("gap"), 60, f"the gap in {box.name}'s status")
        code, body = wait_until(lambda b=box: (lambda r: r if r[0] == 503 else None)(b.get("/healthz")), 30,
                                f"{box.name}'s /healthz to fail")
        assert "model server unreachable" in body
        assert box.metric("engine_up") == 0 and box.metric("engine_gaps_total") == before + 1
        body = detail(recorder, box.name)
        assert body["state"] == "online" and body["counting"] is False and "127.0.0.1" in body["gap"]["reason"]
    time.sleep(5)
    assert not [m for box in boxes for m in readings_since(recorder, box.name, killed)], "readings during the gap"
    gap_frames = [box.metric("camera_gap_frames_total") for box in boxes]
    assert all(n and n > 0 for n in gap_frames), gap_frames
    for box in boxes:  # the last count is not kept as the zone's: it goes unknown once the camera is stale
        wait_until(lambda b=box: (lambda m: m and m.payload and json.loads(m.payload)["count"] is None)(
            recorder.last(f"crowd-{b.name}/door/floor/state")), 20, f"{box.name}'s zone state without a count")

    assert not [m for box in boxes for m in readings_since(recorder, box.name, killed)], "readings during the gap"
    restarted = time.time()
    server.start()
    for box in boxes:
        # the first new reading is of a frame taken after the restart: none was kept from the gap
        first = wait_until(lambda b=box: readings_since(recorder, b.name, killed), 120, f"{box.name}'s readings back")
        assert json.loads(first[0].payload)["ts"] >= restarted
        wait_until(lambda b=box: (detail(recorder, b.name) or {}).get("counting"), 30, f"{box.name} counting again")
        assert wait_until(lambda b=box: b.get("/healthz")[0] == 200, 30, f"{box.name}'s /healthz ok")
        assert box.metric("engine_up") == 1 and box.metric("engine_gaps_total") >= gaps[boxes.index(box)] + 1
        assert box.proc.poll() is None, f"{box.name} exited"
