"""Ground-plane calibration: how many square metres of floor a zone and each map cell cover.

Method.  The floor is a plane, and a pinhole camera maps a plane to the image by a homography
(a 3 x 3 projective transform).  Four image points with known floor positions in metres fix its
eight degrees of freedom exactly: ``H`` is solved from the 8 x 8 linear system of the direct
linear transform, mapping relative image coordinates ``(x, y)`` (0..1) to floor metres
``(X, Y) = ((h11 x + h12 y + h13) / w, (h21 x + h22 y + h23) / w)`` with ``w = h31 x + h32 y + 1``.
A homography maps straight lines to straight lines, so a zone polygon maps to the polygon of its
mapped vertices and its floor area is that polygon's shoelace area (exact).  The same holds for
each map cell, a small square of the image: its floor area is the area of its four mapped
corners, which shows how much floor one cell covers (cells near the horizon cover much more).
Points on or above the horizon line ``w = 0`` have no place on the floor; a zone that reaches
there has no finite floor area and needs ``area_m2`` instead (``check-config`` reports it).
When a camera's ROI or ignore polygons cut a zone, its area is scaled by the counted fraction of
its floor area (sum of coverage x counted weight x cell floor area over sum of coverage x cell
floor area), so persons per square metre always divide a count by the floor it was counted on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Points = Sequence[Sequence[float]]


class CalibrationError(ValueError):
    """The four point pairs do not define a usable floor homography."""


def _normaliser(points: np.ndarray) -> np.ndarray:
    """Similarity moving points to their centroid with mean distance sqrt(2) (Hartley)."""
    centre = points.mean(axis=0)
    spread = np.sqrt(((points - centre) ** 2).sum(axis=1)).mean()
    scale = np.sqrt(2.0) / spread if spread > 0 else 1.0
    return np.array([[scale, 0.0, -scale * centre[0]], [0.0, scale, -scale * centre[1]], [0.0, 0.0, 1.0]])


def _has_collinear_triple(points: np.ndarray) -> bool:
    """True when any three of the four points are (nearly) on one line."""
    scale = max(float(np.ptp(points, axis=0).max()), 1e-12) ** 2
    for skip in range(4):
        a, b, c = np.delete(points, skip, axis=0)
        if abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) < 1e-6 * scale:
            return True
    return False


def homography(image_points: Points, world_points: Points) -> np.ndarray:
    """3 x 3 matrix mapping relative image points to floor metres, scaled so w > 0 on the floor."""
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


def _shoelace(points: np.ndarray) -> np.ndarray:
    """Area of polygons given as (..., N, 2) arrays."""
    x, y = points[..., 0], points[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1))


def floor_area(matrix: np.ndarray, polygon: Points) -> float:
    """Floor area in m2 of an image polygon, or NaN when it reaches the horizon."""
    if not on_floor(matrix, polygon):
        return float("nan")
    return float(_shoelace(to_floor(matrix, polygon)))


def cell_floor_areas(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """H x W floor area in m2 of each map cell; NaN for cells touching or above the horizon."""
    height, width = int(shape[0]), int(shape[1])
    xs = np.linspace(0.0, 1.0, width + 1)
    ys = np.linspace(0.0, 1.0, height + 1)
    grid_x, grid_y = np.meshgrid(xs, ys)
    corners = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    w = _horizon_side(matrix, corners).reshape(height + 1, width + 1)
    floor = to_floor(matrix, corners).reshape(height + 1, width + 1, 2)
    quads = np.stack([floor[:-1, :-1], floor[:-1, 1:], floor[1:, 1:], floor[1:, :-1]], axis=2)
    areas = _shoelace(quads)
    ok = (w[:-1, :-1] > 0) & (w[:-1, 1:] > 0) & (w[1:, 1:] > 0) & (w[1:, :-1] > 0)
    return np.where(ok, areas, np.nan)
