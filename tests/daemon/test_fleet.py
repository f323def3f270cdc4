"""CameraFleet: which part of each camera the worker infers, kept in step with reloads."""

from __future__ import annotations

from monitor.config import CameraConfig
from monitor.daemon.fleet import CameraFleet, counted_box


class RecordingWorker:
    """Stands in for the InferenceWorker: records the boxes, input sizes and map corrections it is given."""

    def __init__(self):
        self.boxes: dict[str, object] = {}
        self.sides: dict[str, int | None] = {}
        self.corrections: dict[str, bool | None] = {}
        self.gains: dict[str, float] = {}

    def add_camera(self, name, slot, box=None, max_side=None, correction=None, gain=1.0):
        self.set_input(name, box, max_side, correction, gain)

    def set_input(self, name, box, max_side=None, correction=None, gain=1.0):
        self.boxes[name], self.sides[name], self.corrections[name], self.gains[name] = box, max_side, correction, gain

    def remove_camera(self, name):
        for inputs in (self.boxes, self.sides, self.corrections, self.gains):
            inputs.pop(name, None)


def camera(tmp_path, roi=None, max_side=None, correction=None, count_gain=1.0) -> CameraConfig:
    return CameraConfig(url=str(tmp_path / "missing.mp4"), roi=roi, reconnect_initial_s=30, max_side=max_side,
                        correction=correction, count_gain=count_gain)


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
        assert worker.sides == {"door": None}
        fleet.apply({"door": camera(tmp_path, roi, max_side=448)})  # so is an input-size edit
        assert fleet.readers()["door"] is reader and worker.sides == {"door": 448}
        assert worker.corrections == {"door": None}
        fleet.apply({"door": camera(tmp_path, roi, max_side=448, correction=True, count_gain=1.3)})  # calibrate's
        assert fleet.readers()["door"] is reader and worker.corrections == {"door": True}
        assert worker.gains == {"door": 1.3}
    finally:
        fleet.stop_all(timeout=2)
    assert worker.boxes == {} and worker.sides == {}
