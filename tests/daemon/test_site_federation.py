"""A site zone summed across three daemons (real processes) and two bridged Mosquittos.

The central broker serves the site daemon and the ``south`` daemon; the ``north`` daemon publishes
to its box's own broker, bridged to the central one with ``config/mosquitto-bridge.conf``.  Each
camera plays one still vtest.avi frame in a loop, so its count is constant (within 1%: the engine
is not bit-exact across batches) and the site's sum can be checked against the zones' own.  ``kill -9`` of north (its will delayed well past the test) must make the site
stale through the expiry alone, with level ``unknown``; its restart must restore the sum; a clean
stop of south (``stopped`` on its ``P/available``) must make it stale at once.
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

from monitor.demo import VTEST
from tests.support.broker import bridge_lines

ROOT = Path(__file__).resolve().parents[2]
EXPIRY_S = 6.0
SITE = "crowd-site/site/venue/state"
ZONES = {name: f"crowd-{name}/door/floor/state" for name in ("north", "south", "site")}

DAEMON = """\
mqtt: {{host: 127.0.0.1, port: {port}, client_id: {name}, topic_prefix: crowd-{name}, heartbeat_s: 2,
        will_delay_s: 60, reconnect_max_s: 1, homeassistant: false}}
model: {{max_side: 128, precision: fp32, cache_dir: "{cache}"}}  # fp32: no precision switch mid-test
health: {{enabled: false}}
history: {{enabled: false}}
alerts: {{raise_after_s: 0, clear_after_s: 0, smoothing: {{method: none}}}}
cameras:
  door:
    url: {video}
    loop: true
    sample_fps: 1
    frozen_after_s: 0
    zones:
      floor: {{polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}}
"""
SITE_ZONES = f"""\
remote_zones: {{expiry_s: {EXPIRY_S}}}
site_zones:
  venue:
    zones: [door.floor]
    remote: {{crowd-north: [door.floor], crowd-south: [door.floor]}}
    warning: {{count: 1000}}
    missing_trust_s: 0   # a missing daemon's zone may hold any number: the site reads unknown
"""


def still_video(path: Path, frame_index: int) -> Path:
    """A short MJPEG AVI repeating one vtest.avi frame (constant counts)."""
    import cv2

    capture = cv2.VideoCapture(str(VTEST))
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
    ok, image = capture.read()
    capture.release()
    assert ok, f"cannot read frame {frame_index} of {VTEST}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (image.shape[1], image.shape[0]))
    for _ in range(10):
        writer.write(image)
    writer.release()
    return path


class Daemon:
    """``crowd-monitor run`` in a subprocess, with its log."""

    def __init__(self, folder: Path, name: str, text: str):
        self.name, self.config, self.log_path = name, folder / f"{name}.yaml", folder / f"{name}.log"
        self.config.write_text(text)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Daemon":
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(self.config)], cwd=ROOT,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no goodbye, no clean stop
            self.proc.wait(10)


def state(message) -> dict:
    return json.loads(message.payload)


@pytest.mark.slow
def test_a_site_zone_sums_three_daemons_across_a_bridge(tmp_path, tmp_path_factory, mosquitto_factory, mqtt_recorder):
    if not VTEST.exists():
        pytest.skip(f"{VTEST} missing (apt install opencv-doc)")
    central = mosquitto_factory()
    box = mosquitto_factory(extra=bridge_lines(central, "crowd-north", "bridge-north"))
    cache = tmp_path_factory.mktemp("engine-cache")
    ports = {"north": box.port, "south": central.port, "site": central.port}
    daemons = {}
    for index, name in enumerate(ports):
        text = DAEMON.format(port=ports[name], name=name, cache=cache,
                             video=still_video(tmp_path / f"{name}.avi", 150 * index + 100))
        daemons[name] = Daemon(tmp_path, name, text + (SITE_ZONES if name == "site" else ""))
    recorder = mqtt_recorder(central, ["crowd-site/#", "crowd-north/#", "crowd-south/#"])
    try:
        for daemon in daemons.values():
            daemon.start()
        _scenario(daemons, recorder)
    finally:
        for daemon in daemons.values():
            daemon.kill()
        for daemon in daemons.values():
            print(f"--- {daemon.name} ---\n{daemon.log_path.read_text()[-3000:]}")


def _counts(recorder, since: float) -> dict[str, float]:
    """The constant count of each daemon's zone, as seen on the central broker."""
    found = {}
    for name, topic in ZONES.items():
        message = recorder.wait_for(lambda m, t=topic: m.topic == t and m.at >= since and m.payload
                                    and state(m)["count"] is not None, 240, f"a count on {topic}")
        found[name] = state(message)["count"]
    return found


def _full_sum(recorder, since: float, timeout: float):
    return recorder.wait_for(lambda m: m.topic == SITE and m.at >= since and m.payload and state(m)["stale"] == []
                             and state(m)["count"] is not None, timeout, "the site's full sum")


def _scenario(daemons, recorder) -> None:
    counts = _counts(recorder, 0.0)
    full = state(_full_sum(recorder, 0.0, 120))
    print("zone counts", counts, "site", full)
    assert full["count"] == pytest.approx(sum(counts.values()), rel=0.02) and full["level"] == "normal"
    assert min(counts.values()) > 0.05 * sum(counts.values())  # leaving any one out shows

    # kill -9 of the daemon behind the bridge: its will waits 60 s, so only the expiry can tell.
    killed = time.monotonic()
    daemons["north"].kill()
    stale = recorder.wait_for(lambda m: m.topic == SITE and m.at >= killed and m.payload
                              and "crowd-north/door" in state(m)["stale"], EXPIRY_S + 10, "the site stale")
    assert stale.at - killed <= EXPIRY_S + 3  # its last state was fresh at the kill; one tick and delivery
    body = state(stale)
    assert body["level"] == "unknown"
    assert body["count"] == pytest.approx(counts["south"] + counts["site"], rel=0.02)

    # Restarted: the sum is whole again.
    restarted = time.monotonic()
    daemons["north"].start()
    back = state(_full_sum(recorder, restarted, 180))
    assert back["count"] == pytest.approx(sum(counts.values()), rel=0.02) and back["level"] == "normal"

    # A clean stop says "stopped" on its P/available: stale at once, without waiting for the expiry.
    stopped = time.monotonic()
    daemons["south"].proc.send_signal(signal.SIGTERM)
    gone = recorder.wait_for(lambda m: m.topic == SITE and m.at >= stopped and m.payload
                             and "crowd-south/door" in state(m)["stale"], EXPIRY_S, "the site stale after a stop")
    assert gone.at - stopped < EXPIRY_S - 1 and state(gone)["level"] == "unknown"
