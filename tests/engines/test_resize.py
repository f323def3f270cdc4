"""The count of a real image after the resize the preprocessing does (see engines/preprocess.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.preprocess import model_input_size, prepare
from tests.support.data import SHANGHAITECH, need


@pytest.fixture(scope="module")
def count(engines_session):
    """count(image, max_side): head count of one frame with OpenVINO."""
    engine = engines_session("openvino", "auto")  # bf16 where the CPU has it: fast, within 0.5%
    return lambda image, side: float(engine.infer(prepare(image, side)[None]).sum())


def test_input_size_is_a_multiple_of_8_within_max_side():
    assert model_input_size(1024, 768, 960) == (960, 720)
    assert model_input_size(1920, 1080, 960) == (960, 544)
    assert model_input_size(640, 480, 960) == (640, 480)  # never enlarged
    assert model_input_size(100, 30, 64) == (64, 16)


@pytest.mark.slow
def test_a_small_resize_changes_a_real_count_by_a_few_percent(count):
    """ShanghaiTech B (1024x768) at the default max_side 960: within 4% of the full-size count."""
    folder = need(SHANGHAITECH / "part_B" / "test_data" / "images", "ShanghaiTech part B")
    for n in (1, 2):
        image = cv2.imread(str(folder / f"IMG_{n}.jpg"))
        full, resized = count(image, 1024), count(image, 960)
        assert abs(resized / full - 1) < 0.04, (n, full, resized)


def test_a_large_downscale_changes_the_count_a_lot(count, mall_images):
    """Documented limit: CSRNet counts depend on head size, so halving a Mall frame loses many people."""
    full = np.array([count(image, 640) for image in mall_images[:2]])
    half = np.array([count(image, 320) for image in mall_images[:2]])
    assert np.all(half < 0.8 * full)
