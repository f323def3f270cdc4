"""Live reload (what SIGHUP does): cameras added and removed without touching the others, thresholds
changed in place, and an invalid new file rejected with its errors while the running config stays."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.daemon import Daemon
from monitor.demo import VTEST

CAMERA = """\
  {name}:
    url: {url}
    sample_fps: 2
    loop: true
    zones:
      all:
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
        warning: {{count: {warning}}}
        raise_after_s: 0
"""


def write(path: Path, broker_port: int, cache: Path, cameras: dict[str, float]) -> None:
    body = "".join(CAMERA.format(name=name, url=VTEST, warning=warning) for name, warning in cameras.items())
    path.write_text(f"mqtt: {{host: 127.0.0.1, port: {broker_port}, client_id: reload-test}}\n"
                    f"model: {{max_side: 256, cache_dir: \"{cache}\"}}\nhealth: {{enabled: false}}\n"
                    f"alerts: {{smoothing: {{method: none}}}}\ncameras:\n{body}")


@pytest.fixture
def running(tmp_path, tmp_path_factory, mosquitto):
    if not VTEST.exists():
        pytest.skip(f"{VTEST} missing (apt install opencv-doc)")
    config = tmp_path / "monitor.yaml"
    cache = tmp_path_factory.mktemp("cache")
    write(config, mosquitto.port, cache, {"north": 1000, "south": 1000})
    daemon = Daemon(config, load_config(config))
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not hasattr(daemon, "fleet") and time.monotonic() < deadline:
        time.sleep(0.1)
    yield daemon, config, cache, mosquitto
    daemon.request_stop()
    thread.join(30)
    assert not thread.is_alive(), "the daemon did not stop"


def wait(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(what)


@pytest.mark.slow
def test_reload_adds_and_removes_cameras_without_touching_others(running, mqtt_recorder):
    daemon, config, cache, broker = running
    recorder = mqtt_recorder(broker, ["crowd/#"])
    wait(lambda: recorder.last("crowd/south/count") is not None and recorder.last("crowd/north/count") is not None,
         60, "counts from both cameras")
    north_reader = daemon.fleet.readers()["north"]
    write(config, broker.port, cache, {"north": 1000, "east": 1000})
    asked = time.monotonic()
    daemon.request_reload()
    wait(lambda: "east" in daemon.fleet.readers() and "south" not in daemon.fleet.readers(), 30, "fleet change")
    assert daemon.fleet.readers()["north"] is north_reader and north_reader.alive  # untouched
    assert north_reader.status().counters.reconnects == 0
    reloaded = time.monotonic()
    recorder.wait_for(lambda m: m.topic == "crowd/east/count" and m.payload and m.at >= reloaded, 60, "east counts")
    # The removed camera's retained topics are cleared, never left stale.
    for topic in ("crowd/south/count", "crowd/south/all/state", "crowd/south/status"):
        recorder.wait_for(lambda m: m.topic == topic and not m.payload and m.at >= asked, 30, f"{topic} cleared")
    assert "crowd/south/count" not in recorder.retained()


@pytest.mark.slow
def test_reload_changes_threshold_live_and_rejects_a_bad_file(running, mqtt_recorder, caplog):
    daemon, config, cache, broker = running
    recorder = mqtt_recorder(broker, ["crowd/#"])
    wait(lambda: recorder.last("crowd/north/all/state") is not None, 60, "zone state")
    assert not recorder.on("crowd/events")
    write(config, broker.port, cache, {"north": 0.5, "south": 1000})  # vtest always shows more than 0.5
    daemon.request_reload()
    start = json.loads(recorder.wait_for(lambda m: m.topic == "crowd/events", 30, "an alert").payload)
    assert (start["type"], start["camera"], start["threshold"]) == ("start", "north", 0.5)

    config.write_text(config.read_text().replace("sample_fps: 2", "sample_fps: -1", 1))
    expected = f"{config}:8: cameras.north.sample_fps: input should be greater than 0"
    with caplog.at_level(logging.ERROR, logger="monitor.daemon"):
        daemon.request_reload()
        wait(lambda: expected in caplog.text, 30, "the rejection logged")
    assert "reload rejected, keeping the running config" in caplog.text
    assert daemon.config.cameras["north"].sample_fps == 2  # the running config is kept
    before = len(recorder.on("crowd/north/count"))
    wait(lambda: len(recorder.on("crowd/north/count")) > before + 1, 30, "counts continue")
