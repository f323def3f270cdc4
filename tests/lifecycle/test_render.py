"""The heatmap overlay: shape, colour where dense, image untouched where empty, count written; its JPEG."""

from __future__ import annotations

import cv2
import numpy as np

from monitor.render import _shrunk, heatmap_jpeg, heatmap_overlay


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


def _float_blend(image: np.ndarray, density: np.ndarray) -> np.ndarray:
    """The overlay as it was first written, in float32 on the full-size map (the reference)."""
    height, width = image.shape[:2]
    scale = max(float(density.max()), 1e-3)
    level = np.clip(cv2.resize(density, (width, height), interpolation=cv2.INTER_LINEAR) / scale, 0.0, 1.0)
    colours = cv2.applyColorMap((level * 255).astype(np.uint8), cv2.COLORMAP_JET)
    alpha = (0.65 * np.sqrt(level))[:, :, None]
    out = image.astype(np.float32) * (1.0 - alpha) + colours.astype(np.float32) * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def test_uint8_blend_draws_the_float_blend_within_a_grey_level():
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    density = cv2.GaussianBlur(rng.random((15, 20)).astype(np.float32) ** 6, (5, 5), 1.5) * 0.3
    out = heatmap_overlay(image, density, 0.0)[40:]  # below the count label
    diff = np.abs(out.astype(int) - _float_blend(image, density)[40:].astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.05


def test_shrinking_stays_close_to_area_averaging_and_big_reductions_are_area_averaged():
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 1.0)
    near = _shrunk(image, 480)  # 3/4: bilinear, which reads every source pixel at this ratio
    area = cv2.resize(image, (480, 360), interpolation=cv2.INTER_AREA)
    assert near.shape == (360, 480, 3) and np.abs(near.astype(int) - area.astype(int)).mean() < 1.5
    far = _shrunk(image, 160)  # 1/4: bilinear would alias this fine texture
    assert np.array_equal(far, cv2.resize(image, (160, 120), interpolation=cv2.INTER_AREA))
