"""Gains from computing less, measured on the best engine: batching frames, and the resolution policy.

The resolution policy (``model.max_side``) trades speed for accuracy, and CSRNet's counts depend on
the pixel size of heads: the report gives each setting's latency, its count change against full
resolution and, where the dataset has ground truth, its error against the annotated counts.
"""

from __future__ import annotations

import numpy as np

from ..preprocess import model_input_size, prepare
from . import frames as framesrc
from .measure import accuracy, time_engine

MALL_SIDES = (640, 480, 320)
SHANGHAITECH_SIDES = (1024, 768, 640, 512)


def batching_rows(engine, name: str, inputs: list[np.ndarray], single, batch: int) -> list[dict]:
    """Per-frame latency of one call with ``batch`` frames against one frame per call."""
    if batch > engine.max_batch or len(inputs) < batch:
        return []
    run = time_engine(engine, inputs, name, single.size, batch=batch)
    per_frame = run.median_ms / batch
    return [{"engine": name, "size": single.size, "batch": 1, "ms_per_frame": round(single.median_ms, 1),
             "fps": round(single.fps, 3)},
            {"engine": name, "size": single.size, "batch": batch, "ms_per_frame": round(per_frame, 1),
             "fps": round(run.fps, 3), "gain_vs_batch_1": round(single.median_ms / per_frame, 3)}]


def _policy_rows(engine, name: str, dataset: str, images: list[np.ndarray], truth, sides) -> list[dict]:
    """One row per ``max_side``: input size, latency, speed-up and count change against the first side."""
    rows, full = [], None
    for side in sides:
        inputs = [prepare(image, side) for image in images]
        width, height = model_input_size(images[0].shape[1], images[0].shape[0], side)
        run = time_engine(engine, inputs, name, f"{width}x{height}")
        full = full or run
        row = {"dataset": dataset, "engine": name, "max_side": side, "input": f"{width}x{height}",
               "frames": len(images), "median_ms": round(run.median_ms, 1),
               "speedup_vs_full": round(full.median_ms / run.median_ms, 2),
               "count_change_vs_full_pct": round(float((run.counts.sum() / full.counts.sum() - 1) * 100), 2),
               "count_mean": round(float(run.counts.mean()), 2)}
        row.update(accuracy(run.counts, truth))
        rows.append(row)
    return rows


def resolution_rows(engine, name: str, options) -> list[dict]:
    """Resolution policy on native-resolution real frames with ground truth (Mall; ShanghaiTech B)."""
    rows: list[dict] = []
    mall = options.data or framesrc.default_data_dir("mall")
    if mall is not None and (mall / "frames").is_dir():
        numbers = framesrc.spread(801, framesrc.MALL_FRAMES, options.frames)
        images = framesrc.load_frames(framesrc.mall_paths(mall, numbers))
        rows += _policy_rows(engine, name, "mall 640x480", images, framesrc.mall_counts(mall, numbers), MALL_SIDES)
    shanghaitech = framesrc.default_data_dir("shanghaitech")
    found = framesrc.shanghaitech_images(shanghaitech / "part_B", options.frames) if shanghaitech else None
    if found:
        paths, truth = found
        images = framesrc.load_frames(paths)
        if len({image.shape for image in images}) == 1:
            rows += _policy_rows(engine, name, "shanghaitech B 1024x768", images, truth, SHANGHAITECH_SIDES)
    return rows
