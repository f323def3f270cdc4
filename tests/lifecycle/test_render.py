"""The heatmap overlay: shape, colour where dense, image untouched where empty, count written; its JPEG."""

from __future__ import annotations

import cv2
import numpy as np

from monitor.render import heatmap_jpeg, heatmap_overlay


def _grey_image(height: int = 96, width: int = 128) -> np.ndarray:
    return np.full((height, width, 3), 128, np.uint8)


def test_overlay_is_bgr_uint8_of_the_image_size_and_leaves_input_alone():
    image = _grey_image()
    before = image.copy()
    density = np.zeros((12, 16), np.float32)
    density[6, 12] = 1.0
    out = heatmap_overlay(image, density, 1.0)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(image, before)


def test_dense_cell_is_coloured_and_empty_ground_keeps_the_image():
    image = _grey_image()
    density = np.zeros((12, 16), np.float32)
    density[8:10, 12:14] = 2.0
    out = heatmap_overlay(image, density, None).astype(int)
    hot = out[72, 104]  # centre of the dense block, in image pixels
    assert hot[2] - hot[0] > 60 and hot[2] - hot[1] > 60  # red-ish (JET top), not grey
    assert np.abs(out[90, 5] - 128).max() <= 2  # bottom-left corner: far from the block, no text


def test_all_zero_and_nan_maps_do_not_crash_or_stretch_noise():
    image = _grey_image()
    zero = heatmap_overlay(image, np.zeros((12, 16), np.float32), 0.0)
    assert np.abs(zero[60:, :].astype(int) - 128).max() <= 2
    tiny = np.full((12, 16), 1e-6, np.float32)
    faint = heatmap_overlay(image, tiny, None)
    assert np.abs(faint[60:, :].astype(int) - 128).max() < 40  # a near-empty map stays faint
    nan_map = np.full((12, 16), np.nan, np.float32)
    assert heatmap_overlay(image, nan_map, None).shape == image.shape


def test_count_text_changes_the_corner_and_grey_input_is_accepted():
    grey = np.full((96, 128), 128, np.uint8)
    density = np.zeros((12, 16), np.float32)
    with_text = heatmap_overlay(grey, density, 12.5)
    assert with_text.shape == (96, 128, 3)
    corner = with_text[:20, :60].astype(int)
    assert (corner > 200).any() and (corner < 30).any()  # white text on a dark box


def test_jpeg_is_the_overlay_full_size_or_shrunk_to_max_side():
    image, density = _grey_image(96, 128), np.zeros((12, 16), np.float32)
    full = cv2.imdecode(np.frombuffer(heatmap_jpeg(image, density, 3.0), np.uint8), cv2.IMREAD_COLOR)
    assert full.shape == (96, 128, 3)
    small = heatmap_jpeg(image, density, 3.0, max_side=64, quality=50)
    assert cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR).shape == (48, 64, 3)
