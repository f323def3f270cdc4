"""Inferring only a camera's ROI window (engines.preprocess.input_window) keeps its counts."""

from __future__ import annotations

import numpy as np
import pytest

from engines.preprocess import STRIDE, input_window, model_input_size, paste_map, prepare


@pytest.mark.parametrize("size,box", [((640, 480), (0.0, 0.4, 1.0, 1.0)), ((1920, 1080), (0.3, 0.1, 0.7, 0.6)),
                                      ((1024, 768), (0.9, 0.9, 1.0, 1.0))])
def test_window_is_on_the_grid_and_holds_the_box_with_its_margin(size, box):
    w, h = model_input_size(*size, 960)
    window = input_window(*size, 960, box, margin=64)
    for edge in (window.x0, window.y0, window.x1, window.y1):
        assert edge % STRIDE == 0
    assert window.x0 <= max(0, box[0] * w - 64) and window.y0 <= max(0, box[1] * h - 64)
    assert window.x1 >= min(w, box[2] * w + 64) and window.y1 >= min(h, box[3] * h + 64)
    assert 0 <= window.x0 < window.x1 <= w and 0 <= window.y0 < window.y1 <= h
    assert (window.x1 - window.x0) * (window.y1 - window.y0) < w * h


def test_no_window_when_it_would_be_the_whole_frame():
    assert input_window(640, 480, 960, None) is None
    assert input_window(640, 480, 960, (0.05, 0.05, 0.95, 0.95)) is None  # the margin reaches the edges


def test_pasted_map_puts_the_window_at_its_place():
    window = input_window(640, 480, 960, (0.5, 0.5, 1.0, 1.0), margin=0)
    inner = np.arange(30 * 40, dtype=np.float32).reshape(30, 40)
    full = paste_map(inner, window, (640, 480))
    assert full.shape == (60, 80) and full.sum() == inner.sum()
    assert np.array_equal(full[30:, 40:], inner) and not full[:30].any() and not full[:, :40].any()
    image = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    assert np.array_equal(prepare(image, 960, window), prepare(image, 960)[:, 240:, 320:])


@pytest.mark.parametrize("box", [(0.0, 0.4, 1.0, 1.0), (0.4, 0.3, 1.0, 1.0)])
def test_a_window_keeps_the_count_inside_the_box_of_real_frames(engines_session, mall_images, box):
    """With the default margin, within 1% of the full-frame count in the box (measured: 0.3%)."""
    engine = engines_session("openvino", "auto")
    for image in mall_images:
        full = engine.infer(prepare(image, 640)[None])[0]
        window = input_window(640, 480, 640, box)
        cut = paste_map(engine.infer(prepare(image, 640, window)[None])[0], window, (640, 480))
        rows = slice(int(box[1] * 60), int(box[3] * 60))
        cols = slice(int(box[0] * 80), int(box[2] * 80))
        expected = float(full[rows, cols].sum())
        assert abs(float(cut[rows, cols].sum()) / expected - 1) < 0.01, (expected, float(cut[rows, cols].sum()))
