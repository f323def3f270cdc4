"""The vectorised self-intersection test agrees with the plain pairwise definition, and is fast."""

from __future__ import annotations

import math
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.geometry import MAX_POLYGON_POINTS, polygon_problem, self_intersection


def _orientation(a, b, c) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a, b, p) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _touch(a, b, c, d) -> bool:
    o1, o2, o3, o4 = _orientation(a, b, c), _orientation(a, b, d), _orientation(c, d, a), _orientation(c, d, b)
    if ((o1 > 0) != (o2 > 0)) and ((o3 > 0) != (o4 > 0)) and 0 not in (o1, o2, o3, o4):
        return True
    return any(o == 0 and _on_segment(p, q, r) for o, p, q, r in ((o1, a, b, c), (o2, a, b, d), (o3, c, d, a),
                                                                    (o4, c, d, b)))


def reference(points):
    """The definition: the first pair (i, j) of non-neighbouring edges that share a point."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n):
            if not (i == 0 and j == n - 1) and _touch(*edges[i], *edges[j]):
                return i, j
    return None


# Points on a coarse grid make collinear edges, shared points and overlaps common; free points do not.
coarse = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)).map(lambda p: [p[0] / 4, p[1] / 4]),
                  min_size=3, max_size=12)
free = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)).map(list), min_size=3, max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.one_of(coarse, free))
def test_self_intersection_matches_the_pairwise_definition(points):
    assert self_intersection(points) == reference(points)


def test_a_polygon_at_the_vertex_limit_is_checked_quickly():
    circle = [[0.5 + 0.4 * math.cos(2 * math.pi * k / MAX_POLYGON_POINTS),
               0.5 + 0.4 * math.sin(2 * math.pi * k / MAX_POLYGON_POINTS)] for k in range(MAX_POLYGON_POINTS)]
    comb = [[k / MAX_POLYGON_POINTS, float(k % 2)] for k in range(MAX_POLYGON_POINTS - 2)] + [[1.0, 1.0], [0.0, 1.0]]
    started = time.monotonic()
    assert polygon_problem(circle) is None
    assert self_intersection(comb) == reference(comb)
    assert time.monotonic() - started < 10  # bounded: the pure-Python pairwise loop took minutes at 10,000
