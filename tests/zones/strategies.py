"""Hypothesis strategies shared by the zone tests: simple polygons in relative coordinates."""

from __future__ import annotations

import math

from hypothesis import assume
from hypothesis import strategies as st

from monitor.geometry import polygon_problem


@st.composite
def star_polygons(draw: st.DrawFn, min_vertices: int = 3, max_vertices: int = 9) -> list[list[float]]:
    """A simple (possibly concave) polygon inside the unit square: vertices by increasing angle."""
    n = draw(st.integers(min_vertices, max_vertices))
    cx = draw(st.floats(0.2, 0.8))
    cy = draw(st.floats(0.2, 0.8))
    limit = min(cx, cy, 1 - cx, 1 - cy)
    angles = sorted(draw(st.lists(st.floats(0.0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n,
                                  unique=True)))
    radii = draw(st.lists(st.floats(0.05 * limit, limit), min_size=n, max_size=n))
    points = [[cx + r * math.cos(a), cy + r * math.sin(a)] for a, r in zip(angles, radii)]
    points = [[min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)] for x, y in points]
    assume(polygon_problem(points) is None)
    return points


map_shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


def clip_half_plane(polygon: list[list[float]], axis: int, cut: float, keep_below: bool) -> list[list[float]]:
    """Sutherland-Hodgman clip of a polygon to ``coord[axis] <= cut`` (or ``>= cut``)."""
    def inside(p: list[float]) -> bool:
        return p[axis] <= cut if keep_below else p[axis] >= cut

    out: list[list[float]] = []
    for i, current in enumerate(polygon):
        previous = polygon[i - 1]
        if inside(current) != inside(previous):
            t = (cut - previous[axis]) / (current[axis] - previous[axis])
            out.append([previous[0] + t * (current[0] - previous[0]), previous[1] + t * (current[1] - previous[1])])
        if inside(current):
            out.append(list(current))
    return out
