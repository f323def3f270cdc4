"""Frames with nothing to count (engines.picture): uniform and noise pictures, never real scenes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.picture import blind_reason
from tests.support.data import MALL, SHANGHAITECH, need

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("image", [
    np.zeros((480, 640, 3), np.uint8),
    np.full((480, 640, 3), 255, np.uint8),
    np.full((1080, 1920, 3), (40, 90, 160), np.uint8),
    np.clip(RNG.normal(128, 3, (480, 640, 3)), 0, 255).astype(np.uint8),  # sensor noise on a lens cap
], ids=["black", "white", "colour", "faint-noise"])
def test_uniform_pictures_are_blind(image):
    assert blind_reason(image).startswith("uniform picture")


def test_an_on_screen_clock_on_black_is_still_uniform():
    image = np.zeros((480, 640, 3), np.uint8)
    cv2.putText(image, "CAM 1  2026-11-30 12:00:00", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    assert blind_reason(image).startswith("uniform picture")


@pytest.mark.parametrize("shape", [(480, 640, 3), (240, 320, 3), (1080, 1920, 3)])
def test_pixel_noise_is_blind(shape):
    assert blind_reason(RNG.integers(0, 256, shape, dtype=np.uint8)) == "no structure: the picture is noise"


def test_real_scenes_are_not_blind():
    """Every ShanghaiTech image (dense crowds that look like noise from afar among them) and Mall frames."""
    folders = [need(SHANGHAITECH / part / split / "images", "ShanghaiTech")
               for part in ("part_A", "part_B") for split in ("train_data", "test_data")]
    files = [f for folder in folders for f in sorted(folder.glob("*.jpg"))]
    files += sorted(need(MALL / "frames", "Mall").glob("*.jpg"))[::50]
    blind = [(f.name, blind_reason(cv2.imread(str(f)))) for f in files]
    assert len(files) > 900 and [b for b in blind if b[1]] == []


def test_a_dense_crowd_that_loses_contrast_when_shrunk_is_not_noise():
    """ShanghaiTech A train IMG_112 keeps as little contrast as noise when shrunk; its pixels are smooth."""
    path = need(SHANGHAITECH / "part_A" / "train_data" / "images", "ShanghaiTech A") / "IMG_112.jpg"
    assert blind_reason(cv2.imread(str(path))) is None
