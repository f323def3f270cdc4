"""Exact fractional coverage of map cells by a polygon (anti-aliasing without supersampling).

A density map of H x W cells covers the whole frame; cell (i, j) is the square
``[j/W, (j+1)/W] x [i/H, (i+1)/H]`` in relative image coordinates.  The coverage of a cell is the
fraction of its area inside the polygon, in [0, 1], computed exactly: for a vertical line the
length of ``polygon ∩ row band`` is a signed sum over the boundary crossings of
``clamp(y, row_top, row_bottom)``, so integrating over x edge by edge (Green's theorem) gives
``area(polygon ∩ cell)`` as a sum of closed-form integrals of a clamped linear function.  Counts
therefore change continuously when a polygon edge moves across a cell, and the coverages of a
polygon sum to its area x H x W (up to float rounding).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Polygon = Sequence[Sequence[float]]

_FLAT = 1e-12  # below this change of y along a piece, the piece is treated as horizontal


def _mean_clamp(ta: np.ndarray, tb: np.ndarray) -> np.ndarray:
    """Mean of clamp(t, 0, 1) for t moving linearly from ``ta`` to ``tb``.

    Split into the parts below 0, inside [0, 1] and above 1; each part's length is a difference of
    nearby floats (exact), so a nearly horizontal edge loses no precision to cancellation.
    """
    lo, hi = np.minimum(ta, tb), np.maximum(ta, tb)
    span = hi - lo
    a, b = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
    above = np.maximum(hi - np.maximum(lo, 1.0), 0.0)
    flat = span < _FLAT
    sloped = ((b - a) * 0.5 * (a + b) + above) / np.where(flat, 1.0, span)
    return np.where(flat, np.clip(0.5 * (lo + hi), 0.0, 1.0), sloped)


def _edge_contribution(out: np.ndarray, xa: float, ya: float, xb: float, yb: float) -> None:
    """Add one edge's signed integral of clamp(y - row, 0, 1) dx, per cell, in cell units."""
    height, width = out.shape
    if xa == xb:
        return  # vertical edges enclose no area under themselves
    lo, hi = min(xa, xb), max(xa, xb)
    first, last = max(int(np.floor(lo)), 0), min(int(np.ceil(hi)), width)
    if first >= last:
        return
    cols = np.arange(first, last, dtype=np.float64)
    x0 = np.clip(cols, lo, hi)
    x1 = np.clip(cols + 1.0, lo, hi)
    slope = (yb - ya) / (xb - xa)
    y0 = ya + slope * (x0 - xa)
    y1 = ya + slope * (x1 - xa)
    sign = 1.0 if xb > xa else -1.0
    rows = np.arange(height, dtype=np.float64)[:, None]
    mean = _mean_clamp(y0[None, :] - rows, y1[None, :] - rows)
    out[:, first:last] += sign * (x1 - x0)[None, :] * mean


def polygon_coverage(polygon: Polygon, shape: tuple[int, int]) -> np.ndarray:
    """H x W float64 array: the fraction of each cell inside ``polygon`` (relative coordinates)."""
    height, width = int(shape[0]), int(shape[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"map shape must be positive, got {shape}")
    points = np.asarray(polygon, dtype=np.float64) * np.array([width, height], dtype=np.float64)
    if points.ndim != 2 or points.shape[0] < 3 or points.shape[1] != 2:
        raise ValueError("a polygon needs at least three [x, y] points")
    signed = np.zeros((height, width), dtype=np.float64)
    closed = np.vstack([points, points[:1]])
    for (xa, ya), (xb, yb) in zip(closed[:-1], closed[1:]):
        _edge_contribution(signed, float(xa), float(ya), float(xb), float(yb))
    # Orientation decides the overall sign; far cells may keep rounding residue of about 1e-15.
    if signed.sum() < 0:
        signed = -signed
    coverage = np.clip(signed, 0.0, 1.0)
    coverage[coverage < 1e-9] = 0.0
    return coverage


def union_coverage(polygons: Sequence[Polygon], shape: tuple[int, int]) -> np.ndarray:
    """Coverage of the union of polygons, exact where they do not overlap inside one cell.

    Overlapping polygons are summed and capped at 1, which is exact for cells fully covered and
    slightly over-counts only cells that two different polygon edges cross.
    """
    total = np.zeros((int(shape[0]), int(shape[1])), dtype=np.float64)
    for polygon in polygons:
        total += polygon_coverage(polygon, shape)
    return np.minimum(total, 1.0)
