"""SIGHUP with hostile config files: the daemon refuses each in one line, keeps running, and still stops in time.

A real ``crowd-monitor run`` (subprocess) counts a looping video and publishes to a real Mosquitto.
Before the limits, a 354-byte alias bomb grew it to 3.6 GB and ended it with exit 1 (restarted in a
loop by systemd), a FIFO hung it, and a 10,000-point polygon held its main loop for two minutes.
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
from tests.config.test_hostile_files import bomb, circle
from tests.support.broker import free_port
from tests.support.http import http_get

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
mqtt: {{host: 127.0.0.1, port: {broker}, client_id: hostile-reload, heartbeat_s: 5}}
model: {{max_side: 256, cache_dir: "{cache}"}}
health: {{host: 127.0.0.1, port: {health}}}
alerts: {{smoothing: {{method: none}}}}
cameras:
  street:
    url: {video}
    sample_fps: 2
    loop: true
    zones:
      all:
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
        warning: {{count: 1000}}
"""


POLYGON = "cameras:\n  street:\n    url: x\n    zones:\n      z:\n        polygon: {polygon}\n"


class Daemon:
    """The daemon process, its log, and its health endpoint."""

    def __init__(self, config: Path, health_port: int, log: Path):
        self.config, self.health_port, self.log_path = config, health_port, log
        self._log = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def log(self) -> str:
        """Everything it logged so far."""
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float, after: int = 0) -> None:
        """Wait until ``text`` appears in the log past offset ``after``."""
        deadline = time.monotonic() + timeout
        while text not in self.log()[after:]:
            assert self.proc.poll() is None, f"the daemon exited with {self.proc.returncode}:\n{self.log()[-3000:]}"
            assert time.monotonic() < deadline, f"{text!r} not logged in {timeout} s:\n{self.log()[-3000:]}"
            time.sleep(0.02)

    def get(self, path: str) -> tuple[int, str]:
        """Status and body of ``GET path`` on the health endpoint."""
        return http_get(self.health_port, path)

    def high_water_mb(self) -> float:
        """Peak resident memory of the daemon so far (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM")

    def close(self) -> None:
        """Kill it if still running; close the log."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def replace(config: Path, make) -> None:
    """Swap the config file for what ``make(path)`` creates there."""
    config.unlink()
    make(config)


HOSTILE = [
    ("alias bomb", lambda p: p.write_text(bomb()), "6: f[4]: the document expands to more than 200000 YAML nodes"),
    ("FIFO", os.mkfifo, "1: (root): not a regular file (a FIFO)"),
    ("/dev/zero", lambda p: p.symlink_to("/dev/zero"), "1: (root): not a regular file (a character device)"),
    ("10,000-point polygon", lambda p: p.write_text(POLYGON.format(polygon=circle(10_000))),
     "6: cameras.street.zones.z.polygon: has 10000 items; at most 500 are allowed"),
    ("64 MB file", lambda p: p.write_bytes(b"cameras: {}\n" + (b"#" * 99 + b"\n") * 640_000),
     "1: (root): file is 64000012 bytes; config files are limited to 1048576 bytes (1 MiB)"),
]


@pytest.mark.slow
def test_hostile_reloads_are_refused_and_sigterm_during_a_reload_exits_in_time(tmp_path, tmp_path_factory, mosquitto,
                                                                                mqtt_recorder):
    if not VTEST.exists():
        pytest.skip(f"{VTEST} missing (apt install opencv-doc)")
    config, health = tmp_path / "monitor.yaml", free_port()
    good = GOOD.format(broker=mosquitto.port, cache=tmp_path_factory.mktemp("cache"), health=health, video=VTEST)
    config.write_text(good)
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    daemon = Daemon(config, health, tmp_path / "daemon.log")
    try:
        recorder.wait_for(lambda m: m.topic == "crowd/street/count" and m.payload, 240, "a first count")
        assert daemon.get("/healthz")[0] == 200
        memory_before = daemon.high_water_mb()
        for failures, (what, make, expected) in enumerate(HOSTILE, start=1):
            replace(config, make)
            mark = len(daemon.log())
            asked = time.monotonic()
            daemon.proc.send_signal(signal.SIGHUP)
            daemon.wait_log(f"{config}:{expected}", 30, mark)
            assert "reload rejected, keeping the running config" in daemon.log()[mark:], what
            code, body = daemon.get("/healthz")  # healthy: the previous config runs; the failure is a warning
            assert code == 200 and expected in json.loads(body)["warnings"][0], (what, body)
            metrics = daemon.get("/metrics")[1]
            assert f'crowd_monitor_config_reloads_total{{result="failed"}} {failures}' in metrics, what
            assert "crowd_monitor_config_reload_failed 1" in metrics, what
            recorder.wait_for(lambda m: m.topic == "crowd/street/count" and m.at > asked and m.payload, 30,
                              f"counts after the {what}")  # the main loop kept turning
        assert daemon.high_water_mb() - memory_before < 300  # the bomb alone reached 3.6 GB

        replace(config, lambda p: p.write_text(good))  # a good file again: the warning goes away
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_log(f"reloaded {config}", 30)
        code, body = daemon.get("/healthz")
        assert code == 200 and {k: v for k, v in json.loads(body).items() if k != "engine"} == {
            "status": "ok", "problems": [], "warnings": []}

        _sigterm_during_a_slow_reload(daemon, config, recorder)
    finally:
        daemon.close()


def _sigterm_during_a_slow_reload(daemon: Daemon, config: Path, recorder) -> None:
    """About 1 MiB of 500-point zones takes seconds to check: SIGTERM meanwhile still stops within 20 s."""
    zone = circle(500)
    cameras = "".join(f"  cam{i}:\n    url: rtsp://127.0.0.1:9/{i}\n    zones:\n      z:\n        polygon: {zone}\n"
                      for i in range(90))
    replace(config, lambda p: p.write_text(f"cameras:\n{cameras}site_zones:\n  s: [nowhere.z]\n"))
    mark = len(daemon.log())
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log(f"reloading {config}", 10, mark)
    term = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=20) == 0  # TimeoutStopSec=20; never exit 1 because of a reload
    assert time.monotonic() - term < 20
    assert "a config reload was still being read: it is abandoned" in daemon.log()[mark:]
    recorder.wait_payload("crowd/available", "stopped", timeout=10)
