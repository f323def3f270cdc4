"""The daemon's self-report counts frames as they are read, not as of the camera's last state change."""

from __future__ import annotations

import time

from monitor.config import CameraConfig
from monitor.daemon.fleet import CameraFleet
from monitor.daemon.telemetry import Telemetry
from monitor.health.metrics import render_metrics
from monitor.pipeline import InferenceWorker
from tests.pipeline.fakes import SleepyEngine
from tests.support.data import VTEST, need


def test_frames_read_keep_climbing_with_processed():
    worker = InferenceWorker(SleepyEngine(), 256, lambda result: None)
    statuses = []  # what reaches the daemon's main loop: one status per state change
    fleet = CameraFleet(worker, statuses.append)
    telemetry = Telemetry(worker, live_statuses=fleet.statuses)
    worker.start()
    try:
        fleet.apply({"street": CameraConfig(url=str(need(VTEST, "vtest.avi")), sample_fps=5, loop=True)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for status in statuses[:]:
                telemetry.record_status(status)
            snap = telemetry.snapshot()
            camera = snap.cameras[0]
            if camera.processed >= 5:
                break
            time.sleep(0.2)
        assert camera.processed >= 5, camera
        assert camera.frames >= camera.processed  # sampled frames are among those read
        assert camera.state == "online" and len(statuses) == 1  # no state change since the first frame
        assert f'crowd_monitor_camera_frames_total{{camera="street"}} {camera.frames}\n' in render_metrics(snap)
    finally:
        fleet.stop_all(timeout=5)
        worker.stop()
