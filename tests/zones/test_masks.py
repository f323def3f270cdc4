"""Per-camera masks: ROI, ignore polygons, zone counts, areas and the cache."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.config import CameraConfig
from monitor.geometry import floor_area, homography
from monitor.zones import MaskCache, build_masks

LEFT = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
RIGHT = [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]


def camera(**fields) -> CameraConfig:
    return CameraConfig.model_validate({"url": "x.mp4", **fields})


def test_zone_counts_integrate_density_and_frame_count_is_the_sum():
    masks = build_masks("c", camera(zones={"left": {"polygon": LEFT}, "right": {"polygon": RIGHT}}), (6, 8))
    density = np.random.default_rng(1).random((6, 8)).astype(np.float32)
    counts = masks.zone_counts(density)
    assert counts["left"] == pytest.approx(float(density[:, :4].sum()), rel=1e-6)
    assert counts["left"] + counts["right"] == pytest.approx(masks.frame_count(density), rel=1e-6)
    assert masks.frame_count(density) == pytest.approx(float(density.sum()), rel=1e-6)


def test_a_zone_of_background_with_negative_density_reads_nobody_not_fewer():
    masks = build_masks("c", camera(zones={"left": {"polygon": LEFT}, "right": {"polygon": RIGHT}}), (6, 8))
    density = np.full((6, 8), -0.004, np.float32)  # the thin negative density CSRNet can lay on background
    density[2, 6] = 1.0  # one person on the right
    counts = masks.zone_counts(density)
    assert counts["left"] == 0.0 and counts["right"] == pytest.approx(1.0 - 23 * 0.004, rel=1e-5)
    assert masks.frame_count(np.full((6, 8), -0.004, np.float32)) == 0.0


def test_roi_and_ignore_remove_what_they_cover():
    ignore = [[0.0, 0.0], [0.25, 0.0], [0.25, 0.5], [0.0, 0.5]]  # 2 x 4 cells of the left zone
    cam = camera(roi=[[0.0, 0.0], [0.75, 0.0], [0.75, 1.0], [0.0, 1.0]], ignore=[ignore],
                 zones={"left": {"polygon": LEFT}, "right": {"polygon": RIGHT}})
    masks = build_masks("c", cam, (8, 8))
    density = np.ones((8, 8))
    assert masks.frame_count(density) == pytest.approx(48 - 8)  # 6 of 8 columns, minus the ignored block
    counts = masks.zone_counts(density)
    assert counts["left"] == pytest.approx(32 - 8)
    assert counts["right"] == pytest.approx(16)  # only the half of the right zone inside the ROI


def test_explicit_area_wins_over_calibration():
    image = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    cam = camera(calibration={"image_points": image, "world_points": [[0, 0], [10, 0], [10, 10], [0, 10]]},
                 zones={"given": {"polygon": LEFT, "area_m2": 7}, "derived": {"polygon": LEFT}})
    masks = build_masks("c", cam, (6, 8))
    assert masks.zones["given"].area_m2 == 7
    assert masks.zones["derived"].area_m2 == pytest.approx(50.0)


def test_calibrated_area_is_the_exact_floor_of_the_polygon():
    image = [[0.20, 0.40], [0.80, 0.40], [0.95, 0.95], [0.05, 0.95]]
    world = [[0, 20], [12, 20], [12, 0], [0, 0]]
    zone = [[0.3, 0.5], [0.7, 0.45], [0.8, 0.9], [0.25, 0.85]]
    cam = camera(calibration={"image_points": image, "world_points": world}, zones={"z": {"polygon": zone}})
    masks = build_masks("c", cam, (60, 80))
    assert masks.zones["z"].area_m2 == pytest.approx(floor_area(homography(image, world), zone), rel=1e-9)


def test_calibrated_area_shrinks_by_the_ignored_floor():
    image = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    cam = camera(calibration={"image_points": image, "world_points": [[0, 0], [10, 0], [10, 10], [0, 10]]},
                 ignore=[[[0.0, 0.0], [0.25, 0.0], [0.25, 1.0], [0.0, 1.0]]],
                 zones={"left": {"polygon": LEFT}})
    assert build_masks("c", cam, (8, 8)).zones["left"].area_m2 == pytest.approx(25.0)


def test_cache_builds_once_per_camera_and_shape_and_follows_config_changes():
    cache = MaskCache()
    cam = camera(zones={"left": {"polygon": LEFT}})
    first = cache.get("c", cam, (6, 8))
    assert cache.get("c", cam, (6, 8)) is first
    assert cache.get("c", cam, (12, 16)) is not first and len(cache) == 2
    changed = camera(zones={"left": {"polygon": RIGHT}})
    assert cache.get("c", changed, (6, 8)) is not first
    cache.forget_except(set())
    assert len(cache) == 0


def test_zones_line_up_with_the_picture_when_its_size_is_not_a_multiple_of_8():
    """An 833x540 frame gives a 67x104 map that stops 4 and 1 pixels short of its bottom and right
    edges: a zone over the picture's lower half starts at pixel row 270, i.e. map row 33.75."""
    lower = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
    masks = build_masks("c", camera(zones={"lower": {"polygon": lower}, "right": {"polygon": RIGHT}}),
                        (67, 104), extent=(833 / 8, 540 / 8))
    weights = masks.zones["lower"].weights
    assert weights[:33].sum() == 0 and weights[34:].min() == pytest.approx(1.0)
    assert weights[33] == pytest.approx(np.full(104, 0.25))
    right = masks.zones["right"].weights  # x from 416.5 px: column 52 is 0.9375 covered
    assert right[:, 52] == pytest.approx(np.full(67, 1 - 0.5 / 8)) and right[:, :52].sum() == 0
    assert masks.frame_count(np.ones((67, 104), np.float32)) == pytest.approx(67 * 104)


def test_the_cache_keeps_masks_per_frame_extent():
    cache, cam = MaskCache(), camera(zones={"left": {"polygon": LEFT}})
    exact = cache.get("c", cam, (6, 8))
    assert cache.get("c", cam, (6, 8), (8.5, 6.5)) is not exact and len(cache) == 2
