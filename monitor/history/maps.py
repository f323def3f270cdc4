"""Hourly mean density maps per camera: a small fixed grid per camera, and its rendering as PNG.

A density map's size follows the model input (``max_side``, auto), so maps are resampled onto a
grid fixed by the frame's aspect ratio only (at most 64 x 48): maps of one camera always add up.
Grid values are persons per grid cell, so a grid's sum is the frame's count.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import DensityResult
from .store import HOUR_S

GRID_W, GRID_H = 64, 48


def grid_shape(width: float, height: float) -> tuple[int, int]:
    """(w, h) of the grid for a frame of this aspect ratio, fitting GRID_W x GRID_H."""
    aspect = width / height if height > 0 else 1.0
    if aspect >= GRID_W / GRID_H:
        return GRID_W, max(1, round(GRID_W / aspect))
    return max(1, round(GRID_H * aspect)), GRID_H


def to_grid(result: DensityResult) -> np.ndarray | None:
    """The result's density map on its camera's grid (float32, sum kept); None for an empty map."""
    density = np.asarray(result.density, dtype=np.float32)
    if density.ndim != 2 or density.size == 0:
        return None
    extent = result.extent
    if extent is not None:  # the map may run past the frame (input padding): keep the frame's part
        w, h = max(1, min(density.shape[1], round(extent[0]))), max(1, min(density.shape[0], round(extent[1])))
        density = density[:h, :w]
    density = np.nan_to_num(density, nan=0.0, posinf=0.0, neginf=0.0)
    gw, gh = grid_shape(density.shape[1], density.shape[0])
    grid = cv2.resize(density, (gw, gh), interpolation=cv2.INTER_AREA)
    total = float(grid.sum())
    return grid * (float(density.sum()) / total) if total > 0 else grid


class HourlyMaps:
    """Per camera, the running sum of its grids in the current hour (written at every commit)."""

    def __init__(self) -> None:
        self._sums: dict[tuple[str, int], np.ndarray] = {}
        self._counts: dict[tuple[str, int], int] = {}
        self._dirty: set[tuple[str, int]] = set()
        self._seeded: set[tuple[str, int]] = set()  # hours merged with (or found absent from) the file

    def add(self, result: DensityResult) -> None:
        """Add one result's map to its camera's hour (a changed aspect ratio starts the hour afresh)."""
        grid = to_grid(result)
        if grid is None:
            return
        key = (result.camera, int(result.frame.captured_at // HOUR_S) * HOUR_S)
        total = self._sums.get(key)
        if total is None or total.shape != grid.shape:
            self._sums[key], self._counts[key] = np.zeros(grid.shape, np.float64), 0
        self._sums[key] += grid
        self._counts[key] += 1
        self._dirty.add(key)

    def needs_seed(self) -> list[tuple[str, int]]:
        """Hours this run has not written yet: a previous run may have stored part of them."""
        return [key for key in self._dirty if key not in self._seeded]

    def seed(self, key: tuple[str, int], stored: tuple[int, int, int, bytes] | None) -> None:
        """Fold the stored (w, h, n, mean) of an hour into ours, so a restart adds to it."""
        self._seeded.add(key)
        if stored is None or key not in self._sums:
            return
        w, h, n, blob = stored
        mean = np.frombuffer(blob, dtype=np.float16).astype(np.float64)
        if mean.size == w * h and (h, w) == self._sums[key].shape:
            self._sums[key] += mean.reshape(h, w) * n
            self._counts[key] += int(n)

    def take(self, keep_after: float) -> list[tuple]:
        """Rows (camera, t, w, h, n, float16 mean) of the hours changed since the last call.

        Hours that started before ``keep_after`` are forgotten once written (they are complete).
        """
        rows = []
        for key in sorted(self._dirty):
            total, n = self._sums[key], self._counts[key]
            mean = (total / n).astype(np.float16)
            rows.append((key[0], key[1], total.shape[1], total.shape[0], n, mean.tobytes()))
        self._dirty.clear()
        for key in [k for k in self._sums if k[1] + HOUR_S < keep_after]:
            del self._sums[key], self._counts[key]
        self._seeded = {k for k in self._seeded if k in self._sums}
        return rows



def mean_map(rows: list[tuple[int, int, int, bytes]]) -> tuple[np.ndarray | None, int]:
    """The frame-weighted mean of stored hourly maps (w, h, n, blob) of the most common grid, and frames."""
    shapes: dict[tuple[int, int], int] = {}
    for w, h, n, _ in rows:
        shapes[(w, h)] = shapes.get((w, h), 0) + n
    if not shapes:
        return None, 0
    w, h = max(shapes, key=shapes.get)
    total, frames = np.zeros((h, w), np.float64), 0
    for rw, rh, n, blob in rows:
        if (rw, rh) == (w, h):
            total += np.frombuffer(blob, dtype=np.float16).astype(np.float64).reshape(h, w) * n
            frames += n
    return (total / frames).astype(np.float32), frames


def render_png(grid: np.ndarray, scale: int = 8, peak: float | None = None) -> bytes:
    """The grid as a colour PNG (blue: empty, red: ``peak`` or the grid's maximum), ``scale`` px a cell."""
    top = float(peak) if peak else max(float(grid.max()), 1e-6)
    levels = np.clip(grid / top * 255.0, 0, 255).astype(np.uint8)
    image = cv2.applyColorMap(levels, cv2.COLORMAP_JET)
    image = cv2.resize(image, (grid.shape[1] * scale, grid.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("PNG encoding failed")
    return png.tobytes()
