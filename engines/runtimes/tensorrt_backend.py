"""TensorRT on an NVIDIA GPU: a serialised engine run with pycuda buffers on one CUDA stream.

Host buffers are pinned (page-locked) so that the copies to and from the GPU are truly asynchronous;
device buffers are sized once for the profile's largest shape.  The GPU's primary context is pushed
around every call, so the engine may be opened in one thread and used in another.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import EngineError
from ..graph import INPUT_NAME, OUTPUT_NAME
from ..preprocess import STRIDE
from .common import BaseEngine, file_digest, weights_and_graph
from .spec import BackendSpec, OpenRequest

log = logging.getLogger("engines")
SPEC = BackendSpec("tensorrt", __name__, packages=("tensorrt", "pycuda"), extra="tensorrt",
                   formats=("weights", "onnx", "tensorrt"), precisions=("fp32", "fp16", "int8"),
                   auto_rank=10, needs_nvidia_gpu=True, suffixes=(".engine", ".plan"))


def resolve_precision(requested: str, fast_fp16: bool) -> tuple[str, str]:
    """(precision, why) for a TensorRT build: fp16 where the GPU has fast fp16."""
    if requested == "auto":
        return ("fp16", "GPU with fast fp16") if fast_fp16 else ("fp32", "GPU without fast fp16")
    if requested not in ("fp32", "fp16", "int8"):
        raise EngineError(f"TensorRT builds fp32, fp16 or int8 engines, not {requested}")
    return requested, "requested"


class TensorRTEngine(BaseEngine):
    """A deserialised TensorRT engine with pinned host buffers, device buffers and one stream."""

    backend = "tensorrt"

    def __init__(self, engine_path: Path, precision: str, *, max_batch: int = 4, reason: str = ""):
        from .tensorrt_build import import_tensorrt

        trt, cuda = import_tensorrt()
        self._cuda = cuda
        self._context_cuda = cuda.Device(0).retain_primary_context()
        self._context_cuda.push()
        try:
            runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
            self._engine = runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
            if self._engine is None:
                raise EngineError(f"TensorRT cannot load {engine_path}: built for another GPU or TensorRT "
                                  f"version ({trt.__version__} here)? Rebuild it with `crowd-monitor export --format tensorrt`")
            self._context = self._engine.create_execution_context()
            min_shape, _, max_shape = self._engine.get_tensor_profile_shape(INPUT_NAME, 0)
            max_batch = min(max_batch, int(max_shape[0]))
            super().__init__(precision, max_batch, reason)
            self.max_shape = tuple(int(v) for v in max_shape)
            if (int(min_shape[2]), int(min_shape[3])) == (int(max_shape[2]), int(max_shape[3])):
                self.fixed_size = (int(max_shape[3]), int(max_shape[2]))
            self._allocate(cuda)
        finally:
            self._context_cuda.pop()
        log.info("tensorrt: %s (%s), frames up to %s", Path(engine_path).name, self.reason, self.max_shape)

    def _allocate(self, cuda) -> None:
        """Pinned host and device buffers for the largest input and output the profile allows."""
        n, c, h, w = self.max_shape
        in_count, out_count = n * c * h * w, n * (h // STRIDE) * (w // STRIDE)
        self._host_in = cuda.pagelocked_empty(in_count, np.float32)
        self._host_out = cuda.pagelocked_empty(out_count, np.float32)
        self._device_in = cuda.mem_alloc(self._host_in.nbytes)
        self._device_out = cuda.mem_alloc(self._host_out.nbytes)
        self._stream = cuda.Stream()

    def _run(self, batch: np.ndarray) -> np.ndarray:
        n, _, h, w = batch.shape
        if h > self.max_shape[2] or w > self.max_shape[3]:
            raise EngineError(f"frame {w}x{h} is larger than this engine's profile ({self.max_shape[3]}x"
                              f"{self.max_shape[2]}); lower model.max_side or rebuild the engine")
        cuda = self._cuda
        self._context_cuda.push()
        try:
            host_in = self._host_in[:batch.size].reshape(batch.shape)
            host_in[...] = batch  # into pinned memory: the copy below does not block the CPU
            self._context.set_input_shape(INPUT_NAME, batch.shape)
            self._context.set_tensor_address(INPUT_NAME, int(self._device_in))
            self._context.set_tensor_address(OUTPUT_NAME, int(self._device_out))
            cuda.memcpy_htod_async(self._device_in, host_in, self._stream)
            if not self._context.execute_async_v3(self._stream.handle):
                raise EngineError(f"TensorRT failed to run a {batch.shape} batch")
            out_shape = tuple(self._context.get_tensor_shape(OUTPUT_NAME))
            host_out = self._host_out[:int(np.prod(out_shape))].reshape(out_shape)
            cuda.memcpy_dtoh_async(host_out, self._device_out, self._stream)
            self._stream.synchronize()
            return host_out[:, 0].copy()
        finally:
            self._context_cuda.pop()

    def _release(self) -> None:
        self._context_cuda.push()
        try:
            self._device_in.free()
            self._device_out.free()
            self._context = self._engine = None
        finally:
            self._context_cuda.pop()
            self._context_cuda.detach()


def open_engine(request: OpenRequest) -> TensorRTEngine:
    """A prebuilt .engine, or the cached engine for weights or an .onnx (built now when absent)."""
    from .metadata import read_metadata
    from .tensorrt_build import ensure_engine, import_tensorrt, profile_shapes

    model, precision = request.model, request.precision
    if request.fmt == "tensorrt":  # a prebuilt engine: its precision was fixed when it was built
        stored = (read_metadata(model) or {}).get("precision", "unknown")
        if precision not in ("auto", stored):
            raise EngineError(f"{model} was built as {stored}; rebuild it for {precision} with crowd-monitor export")
        return TensorRTEngine(Path(model), stored, max_batch=request.max_batch, reason=request.reason)
    trt, _ = import_tensorrt()
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    chosen, why = resolve_precision(precision, getattr(builder, "platform_has_fast_fp16", True))  # deprecated in TRT 10
    if request.fmt == "weights":
        _, sha, source = weights_and_graph(model, request.cache_dir, request.adapter)
    else:
        source, sha = Path(model), (read_metadata(model) or {}).get("weights_sha") or file_digest(model)
    path, built = ensure_engine(source, weights_sha=sha, precision=chosen,
                                shapes=profile_shapes(request.max_batch, request.max_side), cache_dir=request.cache_dir)
    why += "; engine built now and cached" if built else "; engine from the cache"
    return TensorRTEngine(path, chosen, max_batch=request.max_batch, reason=f"{request.reason}; {why}")
