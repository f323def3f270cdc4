"""``crowd-monitor export --format triton``: a model repository Triton can load, sized for the daemon's requests.

The ONNX model is written everywhere; the TensorRT plan beside it only where TensorRT and a GPU
are present (the GPU test skips here otherwise).
"""

from __future__ import annotations

import numpy as np
import pytest

from engines.export import export_model
from engines.preprocess import prepare
from engines.runtimes.registry import unavailable_reason
from monitor.cli import main
from monitor.config import ModelConfig

from .conftest import relative_count_diff
from .test_tensorrt import need_tensorrt


def parse_config(path):
    """The ``config.pbtxt`` at ``path`` parsed by Triton's own protobuf schema."""
    from google.protobuf import text_format

    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2",
                                           reason="needs tritonclient: pip install 'crowd-monitor[remote]'")
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def accepts(config, batch: np.ndarray) -> bool:
    """True when Triton would take ``batch`` (N x 3 x H x W float32) as one request to this model."""
    dims = list(config.input[0].dims)
    return (config.input[0].data_type == 11 and len(batch) <= config.max_batch_size  # 11: TYPE_FP32
            and len(dims) == batch.ndim - 1 and all(d in (-1, n) for d, n in zip(dims, batch.shape[1:])))


def test_export_triton_writes_a_repository_for_the_daemons_requests(tmp_path, mall_images):
    assert main(["export", "--format", "triton", "--out", str(tmp_path), "--max-batch", "8"]) == 0
    config = parse_config(tmp_path / "csrnet" / "config.pbtxt")
    assert (config.name, config.platform, config.max_batch_size) == ("csrnet", "onnxruntime_onnx", 8)
    assert (config.input[0].name, config.output[0].name) == ("image", "density")
    assert config.HasField("dynamic_batching") and config.dynamic_batching.max_queue_delay_microseconds > 0
    assert (tmp_path / "csrnet" / "1" / "model.onnx").stat().st_size > 60_000_000
    # what a daemon at its default batch size sends, at two frame sizes (max_side auto chooses per camera)
    for side in (640, 320):
        batch = np.stack([prepare(image, side) for image in mall_images[:ModelConfig().batch_size]])
        assert accepts(config, batch), batch.shape


@pytest.mark.skipif(unavailable_reason("tensorrt") is None, reason="TensorRT runs here: the plan is written")
def test_without_tensorrt_the_repository_holds_the_onnx_model_only(tmp_path):
    export_model("csrnet-0.2", "triton", out=tmp_path, max_batch=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csrnet"]


def test_the_plan_config_names_the_tensorrt_platform():
    from google.protobuf import text_format

    from engines.export.triton_export import model_config

    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    config = text_format.Parse(model_config("csrnet_trt", 8, kind="plan"), model_config_pb2.ModelConfig())
    assert (config.name, config.platform, config.max_batch_size) == ("csrnet_trt", "tensorrt_plan", 8)
    assert list(config.input[0].dims) == [3, -1, -1] and config.HasField("dynamic_batching")


@pytest.mark.gpu
def test_with_tensorrt_the_repository_also_holds_a_plan_that_counts_as_the_onnx(tmp_path, mall_images):
    need_tensorrt()
    from engines import open_engine
    from engines.runtimes.tensorrt_backend import TensorRTEngine

    export_model("csrnet-0.2", "triton", out=tmp_path, max_batch=4, max_side=640, half=True)
    config = parse_config(tmp_path / "csrnet_trt" / "config.pbtxt")
    assert (config.platform, config.max_batch_size) == ("tensorrt_plan", 4)
    batch = np.stack([prepare(image, 640) for image in mall_images])
    assert accepts(config, batch)
    with TensorRTEngine(tmp_path / "csrnet_trt" / "1" / "model.plan", "fp16", max_batch=4) as plan, \
            open_engine(str(tmp_path / "csrnet" / "1" / "model.onnx"), "onnxruntime") as onnx:
        assert plan.max_shape == (4, 3, 640, 640)
        assert relative_count_diff(plan.infer(batch), onnx.infer(batch)).max() < 0.01
