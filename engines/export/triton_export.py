"""A Triton model repository: the CSRNet ONNX graph and a ``config.pbtxt`` with dynamic batching.

The daemon's remote engine sends N x 3 x H x W float32 normalised images named as in
``engines.graph`` (``image`` in, ``density`` N x 1 x H/8 x W/8 out); H and W vary per camera, so
they are -1 here.  Triton's dynamic batcher merges requests of equal shape only, which is what
cameras of one size give.  Serve it with NVIDIA's Triton image (which has the ONNX Runtime and
TensorRT backends): ``tritonserver --model-repository OUT``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import EngineError
from ..graph import INPUT_NAME, OUTPUT_NAME

CONFIG = """name: "{name}"
platform: "onnxruntime_onnx"
max_batch_size: {max_batch}
input [
  {{ name: "{input}" data_type: TYPE_FP32 dims: [ 3, -1, -1 ] }}
]
output [
  {{ name: "{output}" data_type: TYPE_FP32 dims: [ 1, -1, -1 ] }}
]
dynamic_batching {{
  max_queue_delay_microseconds: {delay_us}
}}
instance_group [
  {{ kind: KIND_AUTO count: 1 }}
]
"""


def model_config(name: str, max_batch: int, delay_us: int = 5000) -> str:
    """The ``config.pbtxt`` text of the CSRNet ONNX model."""
    return CONFIG.format(name=name, max_batch=max_batch, input=INPUT_NAME, output=OUTPUT_NAME, delay_us=delay_us)


def export_triton(onnx_path: Path, out: str | Path, *, name: str = "csrnet", max_batch: int = 8) -> Path:
    """Write ``out/<name>/config.pbtxt`` and ``out/<name>/1/model.onnx``; returns the model's folder."""
    if max_batch < 1:
        raise EngineError("a Triton model's max_batch must be at least 1")
    folder = Path(out) / name
    if folder.exists() and not (folder / "config.pbtxt").is_file():
        raise EngineError(f"{folder} exists and is not a Triton model folder; choose another OUT")
    (folder / "1").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_path, folder / "1" / "model.onnx")
    (folder / "config.pbtxt").write_text(model_config(name, max_batch))
    return folder
