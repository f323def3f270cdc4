"""Counting accuracy of an engine on an annotated dataset: MAE, RMSE, bias, per-image rows."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets import Dataset, Sample, iter_images
from .preprocess import prepare

Postprocess = Callable[[np.ndarray], np.ndarray]  # density map -> corrected density map


@dataclass(frozen=True)
class ImageResult:
    """One image's true and predicted count."""

    key: str
    number: int
    truth: float
    predicted: float

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


def density_maps(engine, images: list[np.ndarray], max_side: int) -> list[np.ndarray]:
    """The engine's density map of each image (batched by size, up to ``engine.max_batch``)."""
    prepared = [prepare(image, max_side) for image in images]
    maps: list[np.ndarray | None] = [None] * len(images)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for index, tensor in enumerate(prepared):
        by_size.setdefault(tensor.shape, []).append(index)
    limit = max(1, int(getattr(engine, "max_batch", 1)))
    for indices in by_size.values():
        for start in range(0, len(indices), limit):
            chunk = indices[start:start + limit]
            out = engine.infer(np.stack([prepared[i] for i in chunk]))
            for i, density in zip(chunk, out):
                maps[i] = np.asarray(density, dtype=np.float32)
    return maps  # type: ignore[return-value]


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


def evaluate(engine, dataset: Dataset, max_side: int, *, postprocess: Postprocess | None = None,
             progress: Callable[[int, int, ImageResult], None] | None = None) -> tuple[Metrics, list[ImageResult]]:
    """Run ``engine`` on every sample of ``dataset``; ``progress(done, total, last)`` after each image."""
    results: list[ImageResult] = []
    total = len(dataset.samples)
    size = max(1, int(getattr(engine, "max_batch", 1)))
    for batch in _batches(iter_images(dataset.samples), size):
        maps = density_maps(engine, [image for _, image in batch], max_side)
        for (sample, image), density in zip(batch, maps):
            if postprocess is not None:
                density = postprocess(density)
            height, width = image.shape[:2]
            result = ImageResult(sample.key, sample.number, sample.count_in(height, width), float(density.sum()))
            results.append(result)
            if progress is not None:
                progress(len(results), total, result)
    return metrics(results), results


def write_csv(results: Iterable[ImageResult], path: str | Path) -> Path:
    """Per-image rows ``key,number,truth,predicted,error`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "number", "truth", "predicted", "error"])
        for r in results:
            writer.writerow([r.key, r.number, f"{r.truth:g}", f"{r.predicted:.3f}", f"{r.error:.3f}"])
    return path
