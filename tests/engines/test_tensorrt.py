"""TensorRT: profile shapes and cache keys everywhere; building and running only on an NVIDIA GPU."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from engines.runtimes.tensorrt_build import engine_cache_key, profile_shapes
from engines.runtimes.registry import nvidia_gpu

from .conftest import relative_count_diff


def need_tensorrt() -> None:
    """Skip with the reason when this machine cannot run TensorRT."""
    reason = nvidia_gpu()
    if reason:
        pytest.skip(f"TensorRT tests need an NVIDIA GPU: {reason}")
    for package in ("tensorrt", "pycuda"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"TensorRT tests need {package}: pip install 'crowd-monitor[tensorrt]'")


def test_profile_covers_every_frame_up_to_max_side():
    shapes = profile_shapes(max_batch=4, max_side=1000)
    assert shapes["min"] == [1, 3, 64, 64]
    assert shapes["max"] == [4, 3, 1000, 1000]
    assert shapes["opt"] == [4, 3, 560, 1000]  # a 16:9 frame, multiples of 8
    assert all(v % 8 == 0 for key in shapes for v in shapes[key][2:])


def test_cache_key_changes_with_everything_an_engine_depends_on():
    base = dict(gpu={"gpu": "Orin", "sm": "8.7"}, trt_version="10.3.0", shapes=profile_shapes(4, 960),
                precision="fp16", weights_sha="abc")
    key = engine_cache_key(**base)
    assert key == engine_cache_key(**base)
    for change in ({"gpu": {"gpu": "RTX 4090", "sm": "8.9"}}, {"trt_version": "10.4.0"}, {"precision": "int8"},
                   {"shapes": profile_shapes(8, 960)}, {"weights_sha": "abd"}):
        assert engine_cache_key(**{**base, **change}) != key


@pytest.mark.gpu
def test_tensorrt_fp16_engine_matches_torch(engine_cache, small_batch, reference_maps):
    need_tensorrt()
    from engines import open_engine

    with open_engine(backend="tensorrt", precision="fp16", max_batch=2, max_side=320, cache_dir=engine_cache) as engine:
        maps = engine.infer(small_batch)
    assert maps.shape == reference_maps.shape
    assert relative_count_diff(maps, reference_maps).max() < 0.01
    assert np.corrcoef(maps.ravel(), reference_maps.ravel())[0, 1] > 0.999


@pytest.mark.gpu
def test_tensorrt_engine_is_cached(engine_cache, small_batch):
    need_tensorrt()
    from engines import open_engine

    with open_engine(backend="tensorrt", precision="fp16", max_batch=2, max_side=320, cache_dir=engine_cache) as engine:
        assert "from the cache" in engine.reason or "built now" in engine.reason
    with open_engine(backend="tensorrt", precision="fp16", max_batch=2, max_side=320, cache_dir=engine_cache) as engine:
        assert "from the cache" in engine.reason


@pytest.mark.gpu
def test_torch_cuda_fp16_matches_cpu(small_batch, reference_maps):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch CUDA path needs a CUDA GPU")
    from engines import open_engine

    with open_engine(backend="torch", precision="auto") as engine:
        assert engine.name == "torch-cuda-fp16"
        assert relative_count_diff(engine.infer(small_batch), reference_maps).max() < 0.01
