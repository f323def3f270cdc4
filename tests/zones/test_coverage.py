"""Exact fractional coverage of map cells by zone polygons (property-based)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.geometry import polygon_area, polygon_coverage, union_coverage

from .strategies import clip_half_plane, map_shapes, star_polygons


@settings(max_examples=150, deadline=None)
@given(star_polygons(), map_shapes)
def test_coverage_sums_to_polygon_area_times_cells(polygon, shape):
    coverage = polygon_coverage(polygon, shape)
    assert coverage.min() >= 0.0 and coverage.max() <= 1.0
    assert coverage.sum() == pytest.approx(polygon_area(polygon) * shape[0] * shape[1], rel=1e-9, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(star_polygons(), map_shapes, st.sampled_from([0, 1]), st.floats(0.05, 0.95))
def test_disjoint_pieces_add_up(polygon, shape, axis, cut):
    """A zone cut in two by a line: the two pieces' coverages (and counts) add up to the whole."""
    whole = polygon_coverage(polygon, shape)
    pieces = [clip_half_plane(polygon, axis, cut, keep) for keep in (True, False)]
    parts = [polygon_coverage(p, shape) if len(p) >= 3 and polygon_area(p) > 0 else 0.0 for p in pieces]
    np.testing.assert_allclose(parts[0] + parts[1], whole, atol=1e-9)
    density = np.random.default_rng(len(polygon)).random(shape)
    counts = [float(np.sum(density * p)) for p in parts]
    assert sum(counts) == pytest.approx(float(np.sum(density * whole)), abs=1e-7)


@st.composite
def stripe_partitions(draw: st.DrawFn) -> list[list[list[float]]]:
    """Horizontal stripes of the frame separated by non-crossing slanted polylines."""
    n_lines = draw(st.integers(1, 4))
    xs = sorted(set(draw(st.lists(st.floats(0.05, 0.95), min_size=0, max_size=3))))
    columns = [0.0, *xs, 1.0]
    levels = sorted(draw(st.lists(st.floats(0.1, 0.9), min_size=n_lines, max_size=n_lines, unique=True)))
    wiggle = [[draw(st.floats(-0.04, 0.04)) for _ in columns] for _ in levels]
    spacing = min(b - a for a, b in zip([0.0, *levels], [*levels, 1.0]))
    lines = [[[x, y + w * spacing * 5] for x, w in zip(columns, ws)] for y, ws in zip(levels, wiggle)]
    top = [[1.0, 0.0], [0.0, 0.0]]
    bottom = [[0.0, 1.0], [1.0, 1.0]]
    boundaries = [top[::-1], *lines, bottom]  # each runs left to right
    return [[*upper, *lower[::-1]] for upper, lower in zip(boundaries[:-1], boundaries[1:])]


@settings(max_examples=100, deadline=None)
@given(stripe_partitions(), map_shapes)
def test_partition_of_the_frame_covers_every_cell_once(stripes, shape):
    total = sum(polygon_coverage(stripe, shape) for stripe in stripes)
    np.testing.assert_allclose(total, 1.0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(star_polygons(), map_shapes, st.floats(-1e-3, 1e-3))
def test_counts_move_continuously_with_the_polygon(polygon, shape, shift):
    """Moving a zone by a tiny amount moves its count by a tiny amount (no cell-sized jumps)."""
    moved = [[min(max(x + shift, 0.0), 1.0), y] for x, y in polygon]
    change = np.abs(polygon_coverage(moved, shape) - polygon_coverage(polygon, shape)).sum()
    perimeter = sum(np.hypot(x2 - x1, y2 - y1) for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]]))
    assert change <= 2 * perimeter * abs(shift) * shape[0] * shape[1] + 1e-9


def test_matches_fine_supersampling_on_a_concave_polygon():
    polygon = [[0.1, 0.1], [0.9, 0.3], [0.5, 0.9], [0.45, 0.4], [0.2, 0.7]]
    height, width, sub = 6, 8, 256
    fine = np.zeros((height * sub, width * sub), np.uint8)
    points = np.round(np.array(polygon) * [width * sub, height * sub] * 16).astype(np.int32)
    cv2.fillPoly(fine, [points], 1, lineType=cv2.LINE_8, shift=4)
    sampled = fine.reshape(height, sub, width, sub).mean(axis=(1, 3))
    np.testing.assert_allclose(polygon_coverage(polygon, (height, width)), sampled, atol=8 / sub)


def test_edge_on_cell_boundaries_gives_whole_cells():
    coverage = polygon_coverage([[0.25, 0.0], [0.75, 0.0], [0.75, 0.5], [0.25, 0.5]], (4, 4))
    expected = np.zeros((4, 4))
    expected[0:2, 1:3] = 1.0
    np.testing.assert_array_equal(coverage, expected)


def test_union_caps_overlap_at_one():
    square = [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]
    union = union_coverage([square, square], (4, 4))
    assert union.max() == 1.0 and union.sum() == pytest.approx(4.0)


def test_rejects_bad_shapes():
    with pytest.raises(ValueError):
        polygon_coverage([[0, 0], [1, 0], [1, 1]], (0, 3))
    with pytest.raises(ValueError):
        polygon_coverage([[0, 0], [1, 0]], (3, 3))
