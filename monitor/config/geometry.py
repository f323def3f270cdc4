"""Polygon checks used by the config validators (pure functions on relative coordinates)."""

from __future__ import annotations

from collections.abc import Sequence

Point = Sequence[float]

MAX_POLYGON_POINTS = 500  # a zone drawn by hand has tens of points; this bounds the all-pairs edge test


def polygon_area(points: Sequence[Point]) -> float:
    """Signed-free area of a simple polygon (shoelace formula)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


def self_intersection(points: Sequence[Point]) -> tuple[int, int] | None:
    """Indices (i, j), i < j, of the first two non-adjacent edges that touch, or None for a simple polygon.

    Two closed segments touch when each one's end points lie on opposite sides of the other, or
    one end point lies on the other segment.  Every pair of edges whose bounding boxes meet is
    tested at once with numpy; polygons are limited to ``MAX_POLYGON_POINTS`` points, so this takes
    milliseconds where a loop over pairs in Python took minutes for 10,000 points.
    """
    import numpy as np  # only when a polygon is checked: the CLI's light commands do not pay for it

    n = len(points)
    if n < 4:
        return None  # a triangle's edges are all neighbours
    start = np.asarray(points, dtype=np.float64)
    end = np.roll(start, -1, axis=0)
    low, high = np.minimum(start, end), np.maximum(start, end)
    boxes_meet = ((low[:, None, 0] <= high[None, :, 0]) & (low[None, :, 0] <= high[:, None, 0])
                  & (low[:, None, 1] <= high[None, :, 1]) & (low[None, :, 1] <= high[:, None, 1]))
    later = np.triu(np.ones((n, n), dtype=bool), k=2)  # j > i + 1: neighbouring edges share a vertex
    later[0, n - 1] = False  # the last edge and the first are neighbours too
    i, j = np.nonzero(boxes_meet & later)  # row-major: the same first pair as a loop over i, then j
    a, b, c, d = start[i], end[i], start[j], end[j]
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    crossing = ((o1 > 0) != (o2 > 0)) & ((o3 > 0) != (o4 > 0)) & (o1 != 0) & (o2 != 0) & (o3 != 0) & (o4 != 0)
    touching = ((o1 == 0) & _within(a, b, c)) | ((o2 == 0) & _within(a, b, d)) \
        | ((o3 == 0) & _within(c, d, a)) | ((o4 == 0) & _within(c, d, b))
    hits = np.flatnonzero(crossing | touching)
    return (int(i[hits[0]]), int(j[hits[0]])) if len(hits) else None


def _orient(a, b, c):
    """Twice the signed area of triangles a, b, c (> 0: c left of a->b), on arrays of points (last axis x, y)."""
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0])


def _within(a, b, p):
    """``p`` lies in the bounding box of ``a``-``b`` (on the segment when the three are collinear)."""
    import numpy as np

    return ((np.minimum(a[..., 0], b[..., 0]) <= p[..., 0]) & (p[..., 0] <= np.maximum(a[..., 0], b[..., 0]))
            & (np.minimum(a[..., 1], b[..., 1]) <= p[..., 1]) & (p[..., 1] <= np.maximum(a[..., 1], b[..., 1])))


def polygon_problem(points: Sequence[Point]) -> str | None:
    """Why a polygon cannot be used as a zone, or None when it is fine."""
    if len({(float(x), float(y)) for x, y in points}) != len(points):
        return "polygon repeats a point"
    crossing = self_intersection(points)
    if crossing is not None:
        return f"polygon edges {crossing[0]} and {crossing[1]} cross (self-intersecting polygon)"
    if polygon_area(points) < 1e-6:
        return "polygon has no area"
    return None
