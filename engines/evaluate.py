"""Counting accuracy of an engine on an annotated dataset: MAE, RMSE, bias, per-image rows."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import Engine
from .counting import AUTO, count_images, video_side
from .datasets import Dataset, Sample, iter_images
from .finetune import evenly_spaced

Postprocess = Callable[[np.ndarray], np.ndarray]  # density map -> corrected density map


@dataclass(frozen=True)
class ImageResult:
    """One image's true and predicted count."""

    key: str
    number: int
    truth: float
    predicted: float
    side: int | None = None  # long side fed to the model (None: blind, not run)

    @property
    def error(self) -> float:
        """Predicted minus true (positive: the model over-counts)."""
        return self.predicted - self.truth


@dataclass(frozen=True)
class Metrics:
    """Mean absolute error, root mean squared error and mean signed error (bias) over ``n`` images."""

    n: int
    mae: float
    rmse: float
    bias: float

    def as_dict(self) -> dict[str, float | int]:
        """``{"n", "mae", "rmse", "bias"}`` rounded for printing."""
        return {"n": self.n, "mae": round(self.mae, 4), "rmse": round(self.rmse, 4), "bias": round(self.bias, 4)}


def metrics(results: Iterable[ImageResult]) -> Metrics:
    """MAE, RMSE and bias of the results (NaN for an empty list)."""
    errors = np.array([r.error for r in results], dtype=np.float64)
    if errors.size == 0:
        return Metrics(0, math.nan, math.nan, math.nan)
    return Metrics(int(errors.size), float(np.abs(errors).mean()), float(np.sqrt((errors ** 2).mean())),
                   float(errors.mean()))


def _batches(pairs: Iterator[tuple[Sample, np.ndarray]], size: int) -> Iterator[list[tuple[Sample, np.ndarray]]]:
    """Consecutive (sample, image) pairs in lists of up to ``size``."""
    batch: list[tuple[Sample, np.ndarray]] = []
    for pair in pairs:
        batch.append(pair)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def evaluate(engine: Engine, dataset: Dataset, max_side: int | str, *, postprocess: Postprocess | None = None,
             one_camera: bool | None = None,
             progress: Callable[[int, int, ImageResult], None] | None = None) -> tuple[Metrics, list[ImageResult]]:
    """Run ``engine`` on every sample of ``dataset``; ``progress(done, total, last)`` after each image.

    ``max_side="auto"`` is chosen once for the frames of one camera (as the daemon does per camera)
    and per image otherwise.  ``one_camera`` defaults to: a video, or the Mall dataset (one fixed
    camera); ShanghaiTech and folders of counted images are independent pictures.
    """
    if one_camera is None:
        one_camera = dataset.format == "mall" or bool(dataset.samples) and all(
            s.frame_index is not None for s in dataset.samples)
    if max_side == AUTO and one_camera and dataset.samples:
        choice = video_side(engine, [image for _, image in iter_images(evenly_spaced(list(dataset.samples), 8))])
        max_side = choice.side if choice is not None else AUTO
    results: list[ImageResult] = []
    total = len(dataset.samples)
    size = max(1, engine.max_batch)
    for batch in _batches(iter_images(dataset.samples), size):
        counted = count_images(engine, [image for _, image in batch], max_side)
        for (sample, image), frame in zip(batch, counted):
            predicted = frame.count
            if postprocess is not None and frame.density is not None:
                predicted = float(postprocess(frame.density).sum())
            height, width = image.shape[:2]
            result = ImageResult(sample.key, sample.number, sample.count_in(height, width), predicted, frame.side)
            results.append(result)
            if progress is not None:
                progress(len(results), total, result)
    return metrics(results), results


def sides_used(results: Iterable[ImageResult]) -> dict[str, int]:
    """How many images were fed at each long side ("blind": not run), most used first."""
    tally: dict[str, int] = {}
    for r in results:
        key = "blind" if r.side is None else str(r.side)
        tally[key] = tally.get(key, 0) + 1
    return dict(sorted(tally.items(), key=lambda kv: -kv[1]))


def write_csv(results: Iterable[ImageResult], path: str | Path) -> Path:
    """Per-image rows ``key,number,truth,predicted,error`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "number", "truth", "predicted", "error", "max_side"])
        for r in results:
            writer.writerow([r.key, r.number, f"{r.truth:g}", f"{r.predicted:.3f}", f"{r.error:.3f}",
                             "blind" if r.side is None else r.side])
    return path
