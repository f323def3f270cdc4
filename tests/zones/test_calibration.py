"""Ground-plane homography, zone floor areas and cell floor areas."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import ConfigError, parse_config
from monitor.geometry import CalibrationError, cell_floor_areas, floor_area, homography, to_floor

IMAGE = [[0.20, 0.40], [0.80, 0.40], [0.95, 0.95], [0.05, 0.95]]  # a floor rectangle seen in perspective
WORLD = [[0, 20], [12, 20], [12, 0], [0, 0]]  # 12 m wide, 20 m deep


def test_maps_the_four_points_to_their_floor_positions():
    np.testing.assert_allclose(to_floor(homography(IMAGE, WORLD), IMAGE), WORLD, atol=1e-9)


def test_area_of_the_calibration_quad_is_the_world_rectangle():
    assert floor_area(homography(IMAGE, WORLD), IMAGE) == pytest.approx(240.0)


def test_matches_opencv_perspective_transform():
    import cv2

    ours = homography(IMAGE, WORLD)
    theirs = cv2.getPerspectiveTransform(np.float32(IMAGE), np.float32(WORLD)).astype(np.float64)
    probe = np.array([[0.5, 0.6], [0.3, 0.9], [0.7, 0.45]])
    expected = cv2.perspectiveTransform(probe[None], theirs)[0]
    np.testing.assert_allclose(to_floor(ours, probe), expected, atol=1e-4)


@settings(max_examples=50, deadline=None)
@given(st.floats(1.0, 50.0), st.floats(1.0, 50.0), st.integers(2, 30), st.integers(2, 30))
def test_affine_view_spreads_floor_evenly(width_m, depth_m, rows, cols):
    """A camera looking straight down: every cell covers the same floor, summing to the whole."""
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    matrix = homography(square, [[0, 0], [width_m, 0], [width_m, depth_m], [0, depth_m]])
    cells = cell_floor_areas(matrix, (rows, cols))
    np.testing.assert_allclose(cells, width_m * depth_m / (rows * cols), rtol=1e-9)


def test_perspective_cells_cover_more_floor_far_away_and_add_up():
    matrix = homography(IMAGE, WORLD)
    cells = cell_floor_areas(matrix, (60, 80))
    column = cells[:, 40]
    assert np.all(np.diff(column) < 0)  # rows further up the image see more floor per cell
    # Cells exactly tiling the calibration quad's bounding rows: their floor adds up to the mapped strip.
    strip = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
    assert cells[30:].sum() == pytest.approx(floor_area(matrix, strip), rel=1e-9)


def test_zone_reaching_the_horizon_has_no_floor_area():
    steep = [[0.45, 0.40], [0.55, 0.40], [0.95, 0.95], [0.05, 0.95]]
    matrix = homography(steep, WORLD)
    assert np.isnan(floor_area(matrix, [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    assert np.isnan(cell_floor_areas(matrix, (10, 10))[0]).all()


@pytest.mark.parametrize("image, world, message", [
    ([[0, 0], [0.5, 0], [1, 0], [0.5, 1]], WORLD, "three of the image points"),
    (IMAGE, [[0, 0], [5, 0], [10, 0], [0, 10]], "three of the world points"),
    (IMAGE, [[0, 0], [10, 0], [2, 2], [0, 10]], "not in the same order"),
])
def test_unusable_calibrations_are_refused(image, world, message):
    with pytest.raises(CalibrationError, match=message):
        homography(image, world)


def _config(image_points, zone_polygon, area=""):
    return f"""
cameras:
  hall:
    url: hall.mp4
    calibration:
      image_points: {image_points}
      world_points: {WORLD}
    zones:
      floor:
        polygon: {zone_polygon}
        warning: {{density: 2.0}}{area}
"""


def test_check_config_reports_a_zone_above_the_horizon():
    steep = [[0.45, 0.40], [0.55, 0.40], [0.95, 0.95], [0.05, 0.95]]
    whole = [[0.05, 0.05], [0.95, 0.05], [0.95, 0.95], [0.05, 0.95]]
    with pytest.raises(ConfigError) as err:
        parse_config(_config(steep, whole), "c.yaml")
    assert "cameras.hall.zones.floor.polygon" in str(err.value) and "horizon" in str(err.value)
    parse_config(_config(steep, whole, "\n        area_m2: 50"), "c.yaml")  # an explicit area is fine


def test_check_config_reports_collinear_calibration_points():
    with pytest.raises(ConfigError, match="cameras.hall.calibration: three of the image points"):
        parse_config(_config([[0.1, 0.1], [0.5, 0.1], [0.9, 0.1], [0.5, 0.9]], IMAGE), "c.yaml")
