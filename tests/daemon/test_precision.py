"""The decision logic of ``precision: auto`` on a CPU: the counts check, the verdict cache, the switch.

Unit tests of logic: the INT8 job is replaced by a function that judges given counts, and engines
by named stand-ins; the real job and engines run in ``test_auto_int8.py``.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from engines.export.int8_check import cache_key, hardware_identity, judge
from monitor.config.model import ModelConfig
from monitor.daemon.precision import AutoPrecision
from monitor.types import DensityResult, Frame, StageTimings

SETTINGS = {"calibration_frames": 3, "check_frames": 2, "frame_interval_s": 1.0, "nice": 0}


class NamedEngine:
    """Stands in for an engine: only its name, reason and closing matter here."""

    def __init__(self, name: str, reason: str = "auto picked openvino; the CPU has native bf16"):
        self.name, self.reason, self.closed = name, reason, False

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def result(camera: str, seq: int, size=(64, 48)) -> DensityResult:
    image = np.random.default_rng(seq).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    density = np.zeros((size[1] // 8, size[0] // 8), np.float32)
    return DensityResult(Frame(camera, seq, time.time(), image), density, StageTimings(0, 0, 0), time.time(), size)


def judged_runner(float_counts, int8_counts, calls: list):
    """A job that calibrates nothing and judges the given counts, writing its decision like the real one."""
    def run(folder, stop):
        calls.append(folder)
        job = json.loads((folder / "job.json").read_text())
        assert len(list((folder / "calibration").glob("*.jpg"))) == SETTINGS["calibration_frames"]
        assert len(list((folder / "check").glob("*.jpg"))) == SETTINGS["check_frames"]
        verdict = judge(float_counts, int8_counts, job["tolerance_pct"])
        decision = {"verdict": "int8" if verdict.ok else "float", "model": job["out"], "check": verdict.as_dict(),
                    "decided_at": "2026-01-01T00:00:00Z"}
        (folder.parent / "decision.json").write_text(json.dumps(decision))
        open(job["out"], "w").close()
        return decision
    return run


def feed(auto: AutoPrecision, clock: Clock, frames: int, cameras=("hall",)) -> None:
    for seq in range(frames):
        for camera in cameras:
            auto.offer_result(result(camera, seq))
        clock.now += 1.0


def make(tmp_path, runner, offered: list, clock: Clock, precision="auto", engine="openvino-bf16"):
    model = ModelConfig(precision=precision, auto_int8=SETTINGS)
    return AutoPrecision(model, NamedEngine(engine), tmp_path, lambda engine, adopted: (offered.append(engine), adopted()), lambda: {"hall"}, runner=runner,
                         opener=lambda path: NamedEngine("openvino-int8"), clock=clock)


def test_judge_passes_within_one_percent_and_fails_beyond():
    assert judge([20.0, 30.0], [20.1, 30.1]).ok
    off = judge([20.0, 30.0], [20.4, 30.4])  # +1.6% in sum, each frame well within a head
    assert not off.ok and "+1.60%" in off.reason and off.sum_diff_pct == pytest.approx(1.6)
    one_frame = judge([10.0, 10.0, 10.0], [8.5, 10.6, 10.9])  # the sum agrees, one frame does not
    assert not one_frame.ok and "one frame off" in one_frame.reason
    assert judge([0.05, 0.0], [0.055, 0.005]).ok  # a nearly empty scene: one head per frame as the base
    assert not judge([1.0], [float("nan")]).ok and not judge([], []).ok


def test_cache_key_names_weights_sizes_and_hardware():
    hardware = hardware_identity()
    key = cache_key("ab" * 32, [(640, 480), (320, 240), (640, 480)], hardware)
    assert key.startswith("csrnet-" + "ab" * 8 + "-320x240+640x480-hw")
    assert key != cache_key("ab" * 32, [(640, 480)], hardware)
    assert key != cache_key("ab" * 32, [(640, 480), (320, 240)], {**hardware, "openvino": "0.0"})


def test_failed_check_stays_float_and_is_not_retried(tmp_path):
    calls, offered, clock = [], [], Clock()
    auto = make(tmp_path, judged_runner([20.0, 30.0], [21.0, 31.0], calls), offered, clock)
    assert auto.report.state == "collecting" and auto.report.precision == "bf16"
    feed(auto, clock, 5)
    assert auto.wait(10)
    assert len(calls) == 1 and offered == []
    assert auto.report.state == "float" and auto.report.precision == "bf16" and not auto.report.cached
    assert "INT8 refused" in auto.report.reason and "+4.00%" in auto.report.reason
    decision = json.loads((auto.folder / "decision.json").read_text())
    assert decision["verdict"] == "float"
    job = json.loads((calls[0] / "job.json").read_text())  # the job builds the model the daemon runs
    assert job["model"] == "csrnet-0.2" and job["adapter"] == "auto" and job["float_precision"] == "bf16"

    # The next start with the same weights, sizes and hardware reads the verdict: no new job.
    again = make(tmp_path, judged_runner([1.0], [1.0], calls), offered, clock)
    feed(again, clock, 1)  # one frame of the only camera: the sizes are known, the cache is read
    assert again.wait(10)
    assert len(calls) == 1 and offered == []
    assert again.report.state == "float" and again.report.cached and "INT8 refused" in again.report.reason


def test_passed_check_offers_int8_and_a_new_size_calibrates_again(tmp_path):
    calls, offered, clock = [], [], Clock()
    auto = make(tmp_path, judged_runner([20.0, 30.0], [20.1, 29.95], calls), offered, clock)
    feed(auto, clock, 2)
    assert calls == []  # 2 of 5 frames kept, nothing decided yet
    feed(auto, clock, 3)
    assert auto.wait(10)
    assert [e.name for e in offered] == ["openvino-int8"]
    assert auto.report.state == "int8" and auto.report.precision == "int8"
    assert auto.report.check["sum_diff_pct"] == pytest.approx(0.1)

    cached = make(tmp_path, judged_runner([1.0], [5.0], calls), offered, clock)
    feed(cached, clock, 1)
    assert cached.wait(10) and cached.report.state == "int8" and cached.report.cached and len(calls) == 1

    other_size = make(tmp_path, judged_runner([20.0, 30.0], [20.0, 30.0], calls), offered, clock)
    for seq in range(5):
        other_size.offer_result(result("hall", seq, size=(96, 72)))
        clock.now += 1.0
    assert other_size.wait(10) and len(calls) == 2 and other_size.folder != auto.folder


def test_frames_are_spaced_and_explicit_precision_wins(tmp_path):
    calls, offered, clock = [], [], Clock()
    auto = make(tmp_path, judged_runner([1.0], [1.0], calls), offered, clock)
    for seq in range(20):  # 20 frames within half a second: one kept
        auto.offer_result(result("hall", seq))
        clock.now += 0.02
    assert len(auto._kept) == 1

    fixed = make(tmp_path, judged_runner([1.0], [1.0], calls), offered, clock, precision="bf16")
    feed(fixed, clock, 6)
    assert fixed.report.state == "fixed" and "precision bf16 is set in the config" in fixed.report.reason
    gpu = make(tmp_path, judged_runner([1.0], [1.0], calls), offered, clock, engine="tensorrt-fp16")
    assert gpu.report.state == "fixed" and "not tensorrt-fp16" in gpu.report.reason
    assert calls == [] and offered == []


def test_a_passed_verdict_whose_model_is_gone_calibrates_again(tmp_path):
    calls, offered, clock = [], [], Clock()
    first = make(tmp_path, judged_runner([20.0, 30.0], [20.0, 30.0], calls), offered, clock)
    feed(first, clock, 5)
    assert first.wait(10) and first.report.state == "int8"
    (first.folder / "csrnet-int8.xml").unlink()
    again = make(tmp_path, judged_runner([20.0, 30.0], [20.0, 30.0], calls), offered, clock)
    feed(again, clock, 5)  # the frames kept before the look-up count towards the new job
    assert again.wait(10) and len(calls) == 2 and again.report.state == "int8" and not again.report.cached
