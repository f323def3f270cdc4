"""Plane geometry on relative image coordinates (0..1): polygon checks, map-cell coverage, floor areas.

One module below both ``config`` (which checks polygons and calibrations) and ``zones`` (which
rasterises them onto density maps), so neither imports the other for it.  Pure functions on
sequences of ``[x, y]`` points or numpy arrays; no state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Point = Sequence[float]
Points = Sequence[Point]

MAX_POLYGON_POINTS = 500  # a zone drawn by hand has tens of points; this bounds the all-pairs edge test
_FLAT = 1e-12  # below this change of y along a piece, the piece is treated as horizontal


class CalibrationError(ValueError):
    """The four point pairs do not define a usable floor homography."""


# -- polygons ---------------------------------------------------------------------------------------
def polygon_area(points) -> float | np.ndarray:
    """Area of a simple polygon (N x 2) or of a stack of them (... x N x 2), by the shoelace formula."""
    pts = np.asarray(points, dtype=np.float64)
    x, y = pts[..., 0], pts[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1))


def self_intersection(points: Points) -> tuple[int, int] | None:
    """Indices (i, j), i < j, of the first two non-adjacent edges that touch, or None for a simple polygon.

    Two closed segments touch when each one's end points lie on opposite sides of the other, or
    one end point lies on the other segment.  Every pair of edges whose bounding boxes meet is
    tested at once with numpy; polygons are limited to ``MAX_POLYGON_POINTS`` points, so this takes
    milliseconds where a loop over pairs in Python took minutes for 10,000 points.
    """
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
    return ((np.minimum(a[..., 0], b[..., 0]) <= p[..., 0]) & (p[..., 0] <= np.maximum(a[..., 0], b[..., 0]))
            & (np.minimum(a[..., 1], b[..., 1]) <= p[..., 1]) & (p[..., 1] <= np.maximum(a[..., 1], b[..., 1])))


def polygon_problem(points: Points) -> str | None:
    """Why a polygon cannot be used as a zone, or None when it is fine."""
    if len({(float(x), float(y)) for x, y in points}) != len(points):
        return "polygon repeats a point"
    crossing = self_intersection(points)
    if crossing is not None:
        return f"polygon edges {crossing[0]} and {crossing[1]} cross (self-intersecting polygon)"
    if polygon_area(points) < 1e-6:
        return "polygon has no area"
    return None


# -- exact coverage of map cells --------------------------------------------------------------------
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


def polygon_coverage(polygon: Points, shape: tuple[int, int]) -> np.ndarray:
    """H x W float64 array: the fraction of each cell inside ``polygon`` (relative coordinates).

    Cell (i, j) is ``[j/W, (j+1)/W] x [i/H, (i+1)/H]``.  For a vertical line the length of
    ``polygon ∩ row band`` is a signed sum over the boundary crossings of ``clamp(y, top, bottom)``,
    so integrating over x edge by edge (Green's theorem) gives ``area(polygon ∩ cell)`` exactly, as
    closed-form integrals of a clamped linear function: counts change continuously when an edge
    moves across a cell, and the coverages sum to the polygon's area x H x W.
    """
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


def union_coverage(polygons: Sequence[Points], shape: tuple[int, int]) -> np.ndarray:
    """Coverage of the union of polygons, exact where they do not overlap inside one cell.

    Overlapping polygons are summed and capped at 1, which is exact for cells fully covered and
    slightly over-counts only cells that two different polygon edges cross.
    """
    total = np.zeros((int(shape[0]), int(shape[1])), dtype=np.float64)
    for polygon in polygons:
        total += polygon_coverage(polygon, shape)
    return np.minimum(total, 1.0)


# -- the floor plane: ground-plane calibration ------------------------------------------------------
def _normaliser(points: np.ndarray) -> np.ndarray:
    """Similarity moving points to their centroid with mean distance sqrt(2) (Hartley)."""
    centre = points.mean(axis=0)
    spread = np.sqrt(((points - centre) ** 2).sum(axis=1)).mean()
    scale = np.sqrt(2.0) / spread if spread > 0 else 1.0
    return np.array([[scale, 0.0, -scale * centre[0]], [0.0, scale, -scale * centre[1]], [0.0, 0.0, 1.0]])


def _has_collinear_triple(points: np.ndarray) -> bool:
    """True when any three of the four points are (nearly) on one line."""
    scale = max(float(np.ptp(points, axis=0).max()), 1e-12) ** 2
    return any(abs(_orient(*np.delete(points, skip, axis=0))) < 1e-6 * scale for skip in range(4))


def homography(image_points: Points, world_points: Points) -> np.ndarray:
    """3 x 3 matrix mapping relative image points to floor metres, scaled so w > 0 on the floor.

    A pinhole camera maps the floor plane to the image by a homography; four point pairs fix its
    eight degrees of freedom exactly (normalised direct linear transform): ``(X, Y) = ((h11 x +
    h12 y + h13) / w, (h21 x + h22 y + h23) / w)`` with ``w = h31 x + h32 y + 1``.  Points with
    ``w <= 0`` are on or above the horizon and have no place on the floor.
    """
    src = np.asarray(image_points, dtype=np.float64)
    dst = np.asarray(world_points, dtype=np.float64)
    if src.shape != (4, 2) or dst.shape != (4, 2):
        raise CalibrationError("calibration needs exactly four image points and four world points")
    for name, pts in (("image", src), ("world", dst)):
        if _has_collinear_triple(pts):
            raise CalibrationError(f"three of the {name} points lie on one line; choose four spread-out points")
    t_src, t_dst = _normaliser(src), _normaliser(dst)
    a = np.hstack([src, np.ones((4, 1))]) @ t_src.T
    b = np.hstack([dst, np.ones((4, 1))]) @ t_dst.T
    rows = []
    for (x, y, _), (u, v, _) in zip(a, b):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, -u])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, -v])
    _, singular, vt = np.linalg.svd(np.asarray(rows))
    # Eight equations, nine unknowns up to scale: a unique answer leaves exactly one null direction.
    if singular[-1] < 1e-9 * singular[0]:
        raise CalibrationError("the calibration points do not define a unique floor plane")
    matrix = np.linalg.inv(t_dst) @ vt[-1].reshape(3, 3) @ t_src
    matrix /= np.abs(matrix).max()
    w = _horizon_side(matrix, src)
    if not (np.all(w > 0) or np.all(w < 0)):
        raise CalibrationError("the world points are not in the same order around the floor as the image points")
    return matrix * np.sign(w[0])


def _horizon_side(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """w of each point: positive on the floor side once the matrix is normalised."""
    return points @ matrix[2, :2] + matrix[2, 2]


def on_floor(matrix: np.ndarray, points: Points, margin: float = 1e-9) -> bool:
    """True when every point lies strictly on the floor side of the horizon line."""
    w = _horizon_side(matrix, np.asarray(points, dtype=np.float64).reshape(-1, 2))
    return bool(np.all(w > margin))


def to_floor(matrix: np.ndarray, points: Points) -> np.ndarray:
    """N x 2 floor positions in metres of N relative image points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    mapped = pts @ matrix[:, :2].T + matrix[:, 2]
    return mapped[:, :2] / mapped[:, 2:3]


def floor_area(matrix: np.ndarray, polygon: Points) -> float:
    """Floor area in m2 of an image polygon, or NaN when it reaches the horizon.

    A homography maps straight lines to straight lines, so the polygon maps to the polygon of its
    mapped vertices and this area is exact.
    """
    if not on_floor(matrix, polygon):
        return float("nan")
    return float(polygon_area(to_floor(matrix, polygon)))


def cell_floor_areas(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """H x W floor area in m2 of each map cell (exact); NaN for cells touching or above the horizon."""
    height, width = int(shape[0]), int(shape[1])
    xs = np.linspace(0.0, 1.0, width + 1)
    ys = np.linspace(0.0, 1.0, height + 1)
    grid_x, grid_y = np.meshgrid(xs, ys)
    corners = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    w = _horizon_side(matrix, corners).reshape(height + 1, width + 1)
    floor = to_floor(matrix, corners).reshape(height + 1, width + 1, 2)
    quads = np.stack([floor[:-1, :-1], floor[:-1, 1:], floor[1:, 1:], floor[1:, :-1]], axis=2)
    areas = polygon_area(quads)
    ok = (w[:-1, :-1] > 0) & (w[:-1, 1:] > 0) & (w[1:, 1:] > 0) & (w[1:, :-1] > 0)
    return np.where(ok, areas, np.nan)
