"""The reading gap (model server slow or gone) in each camera's MQTT status: ``P/CAM/status/detail``.

``P/CAM/status`` stays the bare word that Home Assistant and dashboards compare; the detail topic
beside it says why, and whether the camera's frames are counted.
"""

from __future__ import annotations

import json
import threading
import time

import jsonschema
import pytest

from monitor.config import parse_config
from monitor.daemon import Daemon
from monitor.demo import VTEST
from monitor.pipeline.outage import EngineOutage
from monitor.publish import load_schema
from monitor.publish.payloads import detail_body
from monitor.types import CameraState, CameraStatus
from tests.support.broker import free_port

DETAIL = "crowd/door/status/detail"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_gap_is_reported_per_camera_and_ends_with_the_next_success():
    mono, wall = Clock(50.0), Clock(1000.0)
    outage = EngineOutage(clock=mono, wall=wall)
    outage.dropped("door")  # frames lost in an earlier gap do not count in the next one
    online = CameraStatus("door", CameraState.ONLINE, "", since=900.0)
    assert outage.gap_of("door") is None
    body = detail_body(online, None, 1000.0)
    assert body["counting"] is True and body["gap"] is None
    outage.failed(ConnectionError("gpu:8001 refused"))
    outage.dropped("door")
    outage.dropped("door")
    mono.t, wall.t = 60.0, 1010.0
    outage.failed(ConnectionError("gpu:8001 timed out"))
    gap = outage.gap_of("door")
    assert (gap.since, gap.reason, gap.frames) == (1000.0, "gpu:8001 timed out", 2)
    body = detail_body(online, gap, 1010.0)
    jsonschema.validate(body, load_schema("camera_status_detail"))
    assert body["state"] == "online" and body["counting"] is False and body["gap"]["frames"] == 2
    outage.succeeded()
    assert outage.gap_of("door") is None
    blind = detail_body(CameraStatus("door", CameraState.BLIND, "uniform picture", 1011.0), None, 1012.0)
    jsonschema.validate(blind, load_schema("camera_status_detail"))
    assert blind["counting"] is False and blind["reason"] == "uniform picture"


def write_config(path, broker_port: int, server_port: int) -> None:
    path.write_text(f"""
mqtt: {{host: 127.0.0.1, port: {broker_port}, client_id: gap-status, homeassistant: false}}
model: {{url: "grpc://127.0.0.1:{server_port}", timeout_s: 1, max_side: 128}}
health: {{enabled: false}}
history: {{enabled: false}}
cameras:
  door:
    url: {VTEST}
    loop: true
    sample_fps: 2
    zones:
      floor: {{polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}}
""")


def test_a_daemon_whose_model_server_is_gone_says_so_in_the_camera_status(tmp_path, mosquitto, mqtt_recorder):
    pytest.importorskip("tritonclient", reason="the remote engine needs the remote extra")
    if not VTEST.exists():
        pytest.skip(f"{VTEST} missing (apt install opencv-doc)")
    config = tmp_path / "monitor.yaml"
    write_config(config, mosquitto.port, free_port())  # nothing listens there
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    daemon = Daemon(config, parse_config(config.read_text(), str(config)))
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        found = recorder.wait_for(lambda m: m.topic == DETAIL and m.payload and json.loads(m.payload)["gap"]
                                  and json.loads(m.payload)["gap"]["frames"] >= 2, 60, "a gap in the status detail")
        body = json.loads(found.payload)
        jsonschema.validate(body, load_schema("camera_status_detail"))
        assert found.retain and body["state"] == "online" and body["counting"] is False
        assert "127.0.0.1" in body["gap"]["reason"] and body["gap"]["since"] <= time.time()
        assert recorder.last("crowd/door/status").text == "online"  # the bare word is unchanged
        assert not [m for m in recorder.on("crowd/door/count") if m.payload]  # no reading passed as fresh
    finally:
        daemon.request_stop()
        thread.join(30)
    assert not thread.is_alive(), "the daemon did not stop"
