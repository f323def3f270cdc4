"""A Triton model repository: the CSRNet ONNX graph and a ``config.pbtxt`` with dynamic batching.

The daemon's remote engine sends N x 3 x H x W float32 normalised images named as in
``engines.graph`` (``image`` in, ``density`` N x 1 x H/8 x W/8 out); H and W vary per camera, so
they are -1 here.  Triton's dynamic batcher merges requests of equal shape only, which is what
cameras of one size give.  Serve it with NVIDIA's Triton image (which has the ONNX Runtime and
TensorRT backends): ``tritonserver --model-repository OUT``.

Where TensorRT and a GPU are present, ``<name>_trt`` beside it holds a TensorRT plan of the same
graph (``platform: tensorrt_plan``), its profile covering batches up to ``max_batch`` and frames
up to the long side the daemons send.  A plan runs only with the TensorRT version and GPU model
that built it: build it where it is served (e.g. inside the Triton image of the same release).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ..errors import BackendUnavailable, EngineError
from ..graph import INPUT_NAME, OUTPUT_NAME

log = logging.getLogger("engines")
PLATFORMS = {"onnx": ("onnxruntime_onnx", "model.onnx"), "plan": ("tensorrt_plan", "model.plan")}
CONFIG = """name: "{name}"
platform: "{platform}"
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


def model_config(name: str, max_batch: int, delay_us: int = 5000, kind: str = "onnx") -> str:
    """The ``config.pbtxt`` text of the CSRNet model as ONNX (``kind`` onnx) or a TensorRT plan (plan)."""
    return CONFIG.format(name=name, platform=PLATFORMS[kind][0], max_batch=max_batch, input=INPUT_NAME,
                         output=OUTPUT_NAME, delay_us=delay_us)


def model_folder(out: str | Path, name: str) -> Path:
    """``out/<name>`` with its version folder ``1`` made; an existing folder must be a Triton model's."""
    folder = Path(out) / name
    if folder.exists() and not (folder / "config.pbtxt").is_file():
        raise EngineError(f"{folder} exists and is not a Triton model folder; choose another OUT")
    (folder / "1").mkdir(parents=True, exist_ok=True)
    return folder


def export_triton(onnx_path: Path, out: str | Path, *, name: str = "csrnet", max_batch: int = 8) -> Path:
    """Write ``out/<name>/config.pbtxt`` and ``out/<name>/1/model.onnx``; returns the model's folder."""
    if max_batch < 1:
        raise EngineError("a Triton model's max_batch must be at least 1")
    folder = model_folder(out, name)
    shutil.copyfile(onnx_path, folder / "1" / PLATFORMS["onnx"][1])
    (folder / "config.pbtxt").write_text(model_config(name, max_batch))
    return folder


def export_triton_plan(onnx_path: Path, out: str | Path, *, name: str = "csrnet_trt", max_batch: int = 8,
                       max_side: int = 1280, precision: str = "fp16") -> Path | None:
    """Build ``out/<name>/1/model.plan`` and its config where TensorRT runs; None (logged) where it does not."""
    from ..runtimes.tensorrt_build import build_engine, import_tensorrt, profile_shapes

    try:
        import_tensorrt()
    except BackendUnavailable as exc:  # the usual case on CPU machines: the ONNX model is the repository
        log.info("no TensorRT plan in the Triton repository: %s", exc)
        return None
    folder = model_folder(out, name)
    build_engine(onnx_path, folder / "1" / PLATFORMS["plan"][1], precision=precision,
                 shapes=profile_shapes(max_batch, max_side))
    (folder / "config.pbtxt").write_text(model_config(name, max_batch, kind="plan"))
    return folder
