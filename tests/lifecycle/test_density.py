"""Ground-truth density maps: sums preserved on edge cases and on real annotations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.density import (adaptive_sigmas, density_map, downsample, fit_perspective_reference,
                             inside_points, model_target, perspective_sigmas)

H, W = 37, 53  # deliberately not multiples of 8


@pytest.mark.parametrize("points, expected", [
    (np.zeros((0, 2)), 0),
    ([[20.5, 10.5]], 1),
    ([[10.0, 10.0], [30.0, 12.0]], 2),
    ([[0.0, 0.0]], 1),  # corner
    ([[W, H]], 1),  # far corner, on the edge: inside
    ([[0.0, 20.0], [W - 0.01, 5.0], [25.0, 0.0], [25.0, H]], 4),  # on each border
    ([[12.0, 12.0]] * 5, 5),  # duplicates
    ([[-1.0, 5.0], [W + 0.5, 5.0], [5.0, -0.1], [5.0, H + 3], [10.0, 10.0]], 1),  # outside ones dropped
    ([[np.nan, 3.0], [4.0, 4.0]], 1),
])
@pytest.mark.parametrize("sigma", ["adaptive", 4.0, 0.1, 60.0])
def test_sum_equals_points_inside(points, expected, sigma):
    full = density_map(points, H, W, sigma)
    assert full.shape == (H, W) and full.dtype == np.float32
    assert full.min() >= 0
    assert full.sum() == pytest.approx(expected, abs=1e-4)
    coarse = density_map(points, H, W, sigma, cell=8)
    assert coarse.shape == (5, 7)
    assert coarse.sum() == pytest.approx(expected, abs=1e-4)
    # Direct integration onto the coarse grid == sum-pooling the full map (up to where +-4 sigma is cut).
    assert np.allclose(downsample(full), coarse, atol=2e-4)


def test_border_kernel_is_renormalised_not_clipped():
    corner = density_map([[0.0, 0.0]], H, W, 5.0)
    centre = density_map([[26.0, 18.0]], H, W, 5.0)
    assert corner.sum() == pytest.approx(1.0, abs=1e-5)
    # A quarter of the kernel is inside, holding all the mass: the corner pixel is ~4x the centre one.
    assert corner[0, 0] == pytest.approx(4 * centre[18, 26], rel=0.01)


def test_adaptive_sigma_is_03_mean_distance_to_three_nearest():
    points = np.array([[0, 0], [3, 0], [0, 4], [10, 0], [50, 50]], float)
    sig = adaptive_sigmas(points)
    assert sig[0] == pytest.approx(0.3 * (3 + 4 + 10) / 3)  # the three nearest: 3, 4, 10 (not 70.7)
    two = adaptive_sigmas(np.array([[0, 0], [6, 8]], float))
    assert np.allclose(two, 0.3 * 10)  # fewer neighbours than 3: use those there are
    assert adaptive_sigmas(np.array([[5, 5]], float))[0] > 1  # a lone head still gets a kernel
    assert (adaptive_sigmas(np.array([[5, 5]] * 4, float)) > 0).all()  # duplicates: no zero sigma


def test_fixed_sigma_spreads_as_asked():
    narrow = density_map([[26.5, 18.5]], H, W, 1.0)
    wide = density_map([[26.5, 18.5]], H, W, 6.0)
    assert narrow.max() > 10 * wide.max()
    ys, xs = np.mgrid[:H, :W] + 0.5
    var_x = (wide * (xs - 26.5) ** 2).sum()
    assert var_x == pytest.approx(36.0, rel=0.05)


def test_perspective_sigma_shrinks_where_heads_are_small():
    pmap = np.ones((H, W), np.float32)
    pmap[:10] = 16.0  # far away (top): heads 4x smaller
    far, near = perspective_sigmas(np.array([[20, 2], [20, 30]], float), pmap, 8.0)
    assert far == pytest.approx(2.0) and near == pytest.approx(8.0)
    d = density_map([[20, 2], [20, 30]], H, W, perspective=pmap, reference_sigma=8.0)
    assert d.sum() == pytest.approx(2.0, abs=1e-4)
    assert d[:10].max() > 5 * d[10:].max()


def test_model_target_sums_and_shape_after_resize():
    points = np.array([[1, 1], [639, 479], [320, 240], [700, 10]], float)
    target = model_target(points, (640, 480), (480, 360))
    assert target.shape == (45, 60)
    assert target.sum() == pytest.approx(3.0, abs=1e-4)
    pmap = np.linspace(10, 1, 480)[:, None].repeat(640, 1).astype(np.float32)
    with_p = model_target(points, (640, 480), (480, 360), perspective=pmap, reference_sigma=10.0)
    assert with_p.sum() == pytest.approx(3.0, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-20, 80, allow_nan=False), st.floats(-20, 60, allow_nan=False)), max_size=40),
       st.sampled_from(["adaptive", 2.0, 15.0]))
def test_property_sum_is_number_inside(points, sigma):
    pts = np.array(points, float).reshape(-1, 2)
    expected = len(inside_points(pts, H, W))
    assert density_map(pts, H, W, sigma, cell=8).sum() == pytest.approx(expected, abs=1e-3)


def test_real_mall_annotations_keep_their_counts():
    from engines.datasets import open_dataset
    from tests.support.data import MALL, need

    dataset = open_dataset(need(MALL, "Mall dataset"), "mall", "1-1600:200")
    reference = fit_perspective_reference([s.points for s in dataset.samples], dataset.perspective)
    assert 3 < reference < 60
    for sample in dataset.samples:
        n = len(sample.points)
        assert density_map(sample.points, 480, 640).sum() == pytest.approx(n, abs=1e-3)
        target = model_target(sample.points, (640, 480), (640, 480), perspective=dataset.perspective,
                              reference_sigma=reference)
        assert target.shape == (60, 80) and target.sum() == pytest.approx(n, abs=1e-3)


def test_real_shanghaitech_dense_annotations_keep_their_counts():
    import cv2

    from engines.datasets import open_dataset
    from tests.support.data import SHANGHAITECH, need

    root = need(SHANGHAITECH / "part_A" / "test_data", "ShanghaiTech part A")
    dataset = open_dataset(root, "shanghaitech", "1-91:15")
    for sample in dataset.samples:
        height, width = cv2.imread(str(sample.path), cv2.IMREAD_GRAYSCALE).shape
        n = sample.count_in(height, width)
        full = density_map(sample.points, height, width)
        assert full.sum() == pytest.approx(n, rel=1e-5)
        assert downsample(full).sum() == pytest.approx(n, rel=1e-5)
