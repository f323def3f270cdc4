"""Polygon checks used by the config validators (pure functions on relative coordinates)."""

from __future__ import annotations

from collections.abc import Sequence

Point = Sequence[float]


def polygon_area(points: Sequence[Point]) -> float:
    """Signed-free area of a simple polygon (shoelace formula)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


def _orientation(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, p: Point) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def segments_intersect(a: Point, b: Point, c: Point, d: Point) -> bool:
    """True when closed segments ab and cd share at least one point."""
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    if ((o1 > 0) != (o2 > 0)) and ((o3 > 0) != (o4 > 0)) and 0 not in (o1, o2, o3, o4):
        return True
    return any(
        o == 0 and _on_segment(p, q, r)
        for o, p, q, r in ((o1, a, b, c), (o2, a, b, d), (o3, c, d, a), (o4, c, d, b))
    )


def self_intersection(points: Sequence[Point]) -> tuple[int, int] | None:
    """Indices (i, j) of two non-adjacent edges that cross, or None for a simple polygon."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbouring edges share a vertex by construction
            if segments_intersect(*edges[i], *edges[j]):
                return i, j
    return None


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
