"""CameraFleet: which part of each camera the worker infers, kept in step with reloads."""

from __future__ import annotations

from monitor.config import CameraConfig
from monitor.daemon.fleet import CameraFleet, counted_box


class RecordingWorker:
    """Stands in for the InferenceWorker: records the boxes it is given."""

    def __init__(self):
        self.boxes: dict[str, object] = {}

    def add_camera(self, name, slot, box=None):
        self.boxes[name] = box

    def set_box(self, name, box):
        self.boxes[name] = box

    def remove_camera(self, name):
        self.boxes.pop(name, None)


def camera(tmp_path, roi=None) -> CameraConfig:
    return CameraConfig(url=str(tmp_path / "missing.mp4"), roi=roi, reconnect_initial_s=30)


def test_counted_box_is_the_roi_bounding_box(tmp_path):
    assert counted_box(camera(tmp_path)) is None
    roi = [[0.2, 0.5], [0.9, 0.4], [0.8, 1.0], [0.1, 0.9]]
    assert counted_box(camera(tmp_path, roi)) == (0.1, 0.4, 0.9, 1.0)


def test_an_roi_edit_reaches_the_worker_without_restarting_the_camera(tmp_path):
    worker = RecordingWorker()
    fleet = CameraFleet(worker, on_status=lambda status: None)
    try:
        fleet.apply({"door": camera(tmp_path)})
        reader = fleet.readers()["door"]
        assert worker.boxes == {"door": None}
        roi = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
        changes = fleet.apply({"door": camera(tmp_path, roi)})
        assert changes == {"added": [], "removed": [], "restarted": []}
        assert fleet.readers()["door"] is reader
        assert worker.boxes == {"door": (0.0, 0.5, 1.0, 1.0)}
    finally:
        fleet.stop_all(timeout=2)
    assert worker.boxes == {}
