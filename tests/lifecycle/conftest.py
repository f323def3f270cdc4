"""Fixtures of the life-cycle tests: a private engine cache and tiny annotated datasets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.io import savemat


@pytest.fixture(autouse=True)
def private_engine_cache(tmp_path_factory, monkeypatch):
    """Compiled graphs go to a per-session temporary folder, not the user's ~/.cache."""
    monkeypatch.setenv("CACHE_DIRECTORY", str(tmp_path_factory.getbasetemp() / "engine-cache"))


def make_mall_folder(root, n_frames: int = 6, size=(64, 48), seed: int = 0):
    """A Mall-layout folder of ``n_frames`` small textured frames with 0..3 heads each."""
    width, height = size
    (root / "frames").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    frame = np.zeros((1, n_frames), dtype=[("loc", object)])
    for n in range(1, n_frames + 1):
        k = n % 4
        frame[0, n - 1]["loc"] = np.column_stack([rng.uniform(0, width, k), rng.uniform(0, height, k)]).reshape(k, 2)
        image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        cv2.imwrite(str(root / "frames" / f"seq_{n:06d}.jpg"), image)
    savemat(root / "mall_gt.mat", {"frame": frame})
    return root


@pytest.fixture
def tiny_mall(tmp_path):
    """Six 64x48 Mall-layout frames."""
    return make_mall_folder(tmp_path / "mall")
