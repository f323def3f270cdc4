"""Gains from computing less, measured on the best engine: batching, ROI windows, the resolution policy.

An ROI window (a camera whose ROI covers part of the frame; ``engines.preprocess.input_window``)
is timed on the same frames as the main comparison, and its count inside the ROI's box compared
with torch fp32 on the full frame, so its speed-up over torch is measured with the counts it keeps.

The resolution policy (``model.max_side``) trades speed for accuracy, and CSRNet's counts depend on
the pixel size of heads: the report gives each setting's latency, its count change against full
resolution and, where the dataset has ground truth, its error against the annotated counts.
"""

from __future__ import annotations

import numpy as np

from ..preprocess import input_window, model_input_size, paste_map, prepare
from . import frames as framesrc
from .measure import Run, accuracy, time_engine

MALL_SIDES = (640, 480, 320)
SHANGHAITECH_SIDES = (1024, 768, 640, 512)
ROI_BOXES = {"lower 60% (a ceiling or sky band above)": (0.0, 0.4, 1.0, 1.0),
             "right 60% x lower 70% (a corner of the hall)": (0.4, 0.3, 1.0, 1.0)}


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


def _box_counts(maps: list[np.ndarray], box) -> np.ndarray:
    """Count of each map inside the relative box (whole cells)."""
    height, width = maps[0].shape
    rows = slice(int(box[1] * height), int(np.ceil(box[3] * height)))
    cols = slice(int(box[0] * width), int(np.ceil(box[2] * width)))
    return np.array([float(m[rows, cols].sum()) for m in maps])


def _ratio(slow: float, fast: float) -> float | None:
    """slow / fast rounded, None when ``fast`` was too quick to measure."""
    return round(float(slow) / float(fast), 2) if fast > 0 else None


def window_rows(engine, name: str, inputs: list[np.ndarray], full: Run, reference: Run) -> list[dict]:
    """Each ROI box: the window's latency and its count in the box against the full frame and torch."""
    rows = []
    height, width = inputs[0].shape[1:]
    for label, box in ROI_BOXES.items():
        window = input_window(width, height, max(width, height), box)
        if window is None:
            rows.append({"roi": label, "box": list(box), "size": full.size,
                         "skipped": "with its margin of context the window is the whole frame at this size"})
            continue
        cut = [np.ascontiguousarray(x[:, window.y0:window.y1, window.x0:window.x1]) for x in inputs]
        run = time_engine(engine, cut, name, f"{window.x1 - window.x0}x{window.y1 - window.y0}")
        maps = [paste_map(m, window, (width, height)) for m in run.maps]
        ours, best, torch = (_box_counts(m, box) for m in (maps, full.maps, reference.maps))
        rel = np.abs(ours - torch) / np.maximum(torch, 1e-6) * 100.0
        rows.append({"roi": label, "box": list(box), "engine": name, "size": full.size, "window": run.size,
                     "area_fraction": round((window.x1 - window.x0) * (window.y1 - window.y0)
                                            / (width * height), 3),
                     "median_ms": round(run.median_ms, 1), "full_frame_ms": round(full.median_ms, 1),
                     "speedup_vs_full_frame": _ratio(full.median_ms, run.median_ms),
                     f"speedup_vs_{reference.name}": _ratio(reference.median_ms, run.median_ms),
                     f"cpu_speedup_vs_{reference.name}": _ratio(np.median(reference.cpu_ms), np.median(run.cpu_ms)),
                     "count_in_box_mean": round(float(ours.mean()), 3),
                     "count_in_box_diff_vs_full_frame_pct": round(float((ours.sum() / best.sum() - 1) * 100), 3),
                     f"count_in_box_diff_vs_{reference.name}_pct_mean": round(float(rel.mean()), 3),
                     f"total_count_in_box_diff_vs_{reference.name}_pct":
                         round(float((ours.sum() / torch.sum() - 1) * 100), 3)})
    return rows


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
