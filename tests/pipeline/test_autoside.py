"""max_side auto in the worker (fake engine whose count depends on the input size) and its schedule."""

from __future__ import annotations

import time

import numpy as np

from engines.scale import choose, probe_sides
from monitor.pipeline import InferenceWorker, LatestFrameSlot
from monitor.pipeline.autoside import AutoSide
from monitor.types import Frame

from .test_worker import collector


class AreaEngine:
    """Counts grow with the input's area: a scene where people look too large (no size holds)."""

    name, fixed_size, max_batch = "fake-area", None, 4

    def __init__(self, per_pixel: float = 1e-4):
        self.per_pixel, self.shapes = per_pixel, []

    def infer(self, batch: np.ndarray) -> np.ndarray:
        n, _, h, w = batch.shape
        self.shapes.append((h, w))
        return np.full((n, h // 8, w // 8), self.per_pixel * h * w / ((h // 8) * (w // 8)), np.float32)

    def close(self) -> None:
        """Nothing to release."""


def frame(camera: str, seq: int, size=(640, 480)) -> Frame:
    image = np.random.default_rng(seq).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Frame(camera, seq, time.time(), image, time.monotonic())


def test_an_auto_camera_is_probed_once_then_runs_at_the_chosen_size():
    engine = AreaEngine()
    results, on_result = collector()
    chosen = []
    worker = InferenceWorker(engine, "auto", on_result, on_side=lambda cam, choice: chosen.append((cam, choice)))
    slot = LatestFrameSlot()
    worker.add_camera("street", slot)
    slot.put(frame("street", 1))
    worker.run_once()
    assert sorted(engine.shapes) == [(240, 320), (360, 480), (480, 640)]  # probed at three sizes
    assert chosen[0][1].side == 320 and "keeps falling" in chosen[0][1].reason  # 0.56 kept at 3/4, 0.44 at 1/2
    assert results[0].input_size == (320, 240) and results[0].density.shape == (30, 40)
    slot.put(frame("street", 2))
    worker.run_once()
    assert engine.shapes[-1] == (240, 320) and len(engine.shapes) == 4  # no new probe
    assert worker.stats()["cameras"]["street"]["input_side"]["side"] == 320


def test_an_explicit_size_wins_over_auto():
    engine = AreaEngine()
    results, on_result = collector()
    worker = InferenceWorker(engine, "auto", on_result)
    slot = LatestFrameSlot()
    worker.add_camera("hall", slot, max_side=512)
    slot.put(frame("hall", 1))
    worker.run_once()
    assert engine.shapes == [(384, 512)] and worker.stats()["cameras"]["hall"]["input_side"] is None


def test_full_size_where_the_count_survives_halving_or_the_crowd_is_dense():
    sides = probe_sides(1024, 768)
    assert sides == [1024, 768, 512]
    assert choose({1024: 50.0, 768: 40.0, 512: 20.0}).side == 1024  # 0.8 kept at 3/4
    assert choose({1024: 50.0, 768: 35.0, 512: 25.0}).side == 768  # falls to 0.7, then holds (0.71)
    assert choose({1024: 50.0, 768: 35.0, 512: 15.0}).side == 512  # keeps falling (0.7, 0.43)
    assert choose({1024: 150.0, 768: 90.0, 512: 40.0}).side == 1024  # a dense crowd keeps its heads
    assert choose({1024: 270.0, 768: 180.0, 512: 160.0}, frames=3).side == 768  # 90 a frame is not dense
    kept = choose({1024: 1.0, 768: 0.5, 512: 0.2}, previous=768)
    assert kept.side == 768 and "too few" in kept.reason  # an empty scene decides nothing


def test_probes_come_more_rarely_then_every_recheck_and_restart_on_a_new_size():
    auto = AutoSide(recheck_s=600)
    assert auto.due(0.0, (640, 480))
    auto.record({640: 50.0, 480: 48.0, 320: 30.0}, now=0.0)
    assert auto.side == 640 and not auto.due(29.0, (640, 480)) and auto.due(30.0, (640, 480))
    for i, now in enumerate((30.0, 90.0, 210.0, 450.0, 1050.0)):
        assert auto.due(now, (640, 480))
        auto.record({640: 50.0, 480: 30.0, 320: 20.0}, now=now)
    assert auto.side == 480  # pooled: 0.62 kept at 3/4, then 0.67  # the last five probes outweigh the first
    assert not auto.due(1050.0 + 599.0, (640, 480)) and auto.due(1050.0 + 600.0, (640, 480))
    assert auto.due(1100.0, (1280, 720)) and auto.side is None  # new camera resolution: start over


class ContentEngine:
    """Dark pictures behave like large people (count keeps falling when shrunk), light ones hold."""

    name, fixed_size, max_batch = "fake-content", None, 1

    def infer(self, batch: np.ndarray) -> np.ndarray:
        n, _, h, w = batch.shape
        maps = []
        for image in batch:
            count = 40.0 * (h * w / (480 * 640)) if image.mean() < 0 else 40.0
            maps.append(np.full((h // 8, w // 8), count / ((h // 8) * (w // 8)), np.float32))
        return np.stack(maps)

    def close(self) -> None:
        """Nothing to release."""


def scene(level: int) -> np.ndarray:
    """A 640x480 picture with structure (not blind), dark or light."""
    x = np.linspace(0, 6 * np.pi, 640)
    wave = (np.sin(x)[None, :] * np.cos(np.linspace(0, 4 * np.pi, 480))[:, None] * 60).astype(np.int16)
    return np.clip(level + wave, 0, 255).astype(np.uint8)[:, :, None].repeat(3, axis=2)


def test_evaluate_chooses_once_for_one_camera_and_per_image_otherwise(tmp_path):
    import csv

    import cv2

    from engines.datasets import open_dataset
    from engines.evaluate import evaluate

    rows = []
    for i, level in enumerate((40, 40, 215)):
        cv2.imwrite(str(tmp_path / f"{i}.png"), scene(level))
        rows.append([f"{i}.png", 5])
    with open(tmp_path / "counts.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["image", "count"], *rows])
    dataset = open_dataset(tmp_path, "counts")
    _, apart = evaluate(ContentEngine(), dataset, "auto")
    assert [r.side for r in apart] == [320, 320, 640]  # each picture on its own
    _, together = evaluate(ContentEngine(), dataset, "auto", one_camera=True)
    assert [r.side for r in together] == [480] * 3  # one camera: one size from the pooled counts (0.71, 0.71)


def test_the_probe_schedule_counts():
    from engines.scale import probe_interval, probes_within

    assert [probe_interval(n, 600) for n in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 480, 600]
    assert probes_within(0, 600) == 1 and probes_within(30, 600) == 2  # at once, then after 30 s
    assert probes_within(3600, 600) == 10  # 0, 30, 90, 210, 450, 930, 1530, 2130, 2730, 3330


def test_the_largest_side_an_engine_must_take():
    from engines.scale import AUTO_CAP, largest_side

    assert largest_side(["auto", 640, None]) == AUTO_CAP  # auto probes up to its cap
    assert largest_side([448, None, 960]) == 960
