"""TensorRT engines built from the CSRNet ONNX with the TensorRT 10 Python API.

One optimisation profile covers every frame size up to ``max_side`` and batches up to ``max_batch``;
FP16 and INT8 (entropy calibrator over real frames, with its calibration table cached on disk) are
builder flags.  Engines only run on the GPU model and TensorRT version that built them, so the cache
key holds both, plus the shapes, the precision and the weights.  Everything imports lazily.
The tensorrt runtime builds engines on demand into the cache with this; ``crowd-monitor export``
builds them to a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from ..cache import artifact_path, atomic_write
from ..errors import BackendUnavailable, EngineError
from ..graph import INPUT_NAME
from ..preprocess import STRIDE

log = logging.getLogger("engines")
MIN_SIDE = 64


def import_tensorrt():
    """``(tensorrt, pycuda.driver)`` or ``BackendUnavailable`` naming the extra."""
    try:
        import pycuda.driver as cuda
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailable("tensorrt", f"{exc.name} is not installed", "tensorrt") from None
    try:
        cuda.init()
        if cuda.Device.count() < 1:
            raise BackendUnavailable("tensorrt", "CUDA reports no GPU")
    except cuda.Error as exc:
        raise BackendUnavailable("tensorrt", f"CUDA cannot start: {exc}") from None
    return trt, cuda


def profile_shapes(max_batch: int, max_side: int) -> dict[str, list[int]]:
    """min/opt/max input shapes of the optimisation profile (opt: a 16:9 frame at max_side, full batch)."""
    side = max(MIN_SIDE, max_side - max_side % STRIDE)
    opt_h = max(MIN_SIDE, int(round(side * 9 / 16 / STRIDE)) * STRIDE)
    return {"min": [1, 3, MIN_SIDE, MIN_SIDE], "opt": [max_batch, 3, opt_h, side], "max": [max_batch, 3, side, side]}


def gpu_identity(cuda) -> dict[str, str]:
    """Name and compute capability of GPU 0 (an engine is only valid there)."""
    device = cuda.Device(0)
    major, minor = device.compute_capability()
    return {"gpu": device.name(), "sm": f"{major}.{minor}"}


def engine_cache_key(*, gpu: dict, trt_version: str, shapes: dict, precision: str, weights_sha: str) -> str:
    """Short stable hash of everything an engine depends on."""
    blob = json.dumps({"gpu": gpu, "trt": trt_version, "shapes": shapes, "precision": precision,
                       "weights": weights_sha}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def make_calibrator(trt, cuda, batches: list[np.ndarray] | None, cache_path: Path):
    """An ``IInt8EntropyCalibrator2`` over ``batches`` (N x 3 x H x W float32) that caches its table."""

    class Calibrator(trt.IInt8EntropyCalibrator2):
        """Feeds real frames to the INT8 calibration; reuses ``cache_path`` when present."""

        def __init__(self):
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = list(batches or [])
            self._index = 0
            size = max((b.nbytes for b in self._batches), default=4)
            self._device = cuda.mem_alloc(size)

        def get_batch_size(self):
            """Frames per calibration batch."""
            return int(self._batches[0].shape[0]) if self._batches else 1

        def get_batch(self, names):
            """The next batch as device pointers, or None when done."""
            if self._index >= len(self._batches):
                return None
            cuda.memcpy_htod(self._device, np.ascontiguousarray(self._batches[self._index], dtype=np.float32))
            self._index += 1
            return [int(self._device)]

        def read_calibration_cache(self):
            """The cached calibration table, if any."""
            return cache_path.read_bytes() if cache_path.is_file() else None

        def write_calibration_cache(self, cache):
            """Keep the calibration table for the next build."""
            atomic_write(cache_path, bytes(cache))

    return Calibrator()


def build_engine(onnx_path: Path, out: Path, *, precision: str, shapes: dict, calib_batches=None,
                 calib_cache: Path | None = None, workspace_gib: float = 2.0) -> Path:
    """Parse the ONNX, build a serialised engine for ``precision`` (fp32/fp16/int8) and write it to ``out``."""
    trt, cuda = import_tensorrt()
    context = cuda.Device(0).retain_primary_context()
    context.push()
    try:
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(Path(onnx_path).read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise EngineError(f"TensorRT cannot parse {onnx_path}: {errors[:400]}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
        profile = builder.create_optimization_profile()
        profile.set_shape(INPUT_NAME, shapes["min"], shapes["opt"], shapes["max"])
        config.add_optimization_profile(profile)
        if precision in ("fp16", "int8"):
            config.set_flag(trt.BuilderFlag.FP16)  # layers INT8 cannot take fall back to fp16, not fp32
        if precision == "int8":
            if calib_cache is None:
                raise EngineError("INT8 needs a calibration cache path")
            if not calib_batches and not calib_cache.is_file():
                raise EngineError("INT8 needs calibration frames: crowd-monitor export --format tensorrt --int8 --calib DIR")
            config.set_flag(trt.BuilderFlag.INT8)
            config.int8_calibrator = make_calibrator(trt, cuda, calib_batches, calib_cache)
            calib_profile = builder.create_optimization_profile()
            shape = list(calib_batches[0].shape) if calib_batches else shapes["opt"]
            calib_profile.set_shape(INPUT_NAME, shape, shape, shape)
            config.set_calibration_profile(calib_profile)
        log.info("tensorrt: building a %s engine for %s (minutes on an edge GPU)", precision, shapes)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EngineError(f"TensorRT could not build a {precision} engine from {onnx_path} (see its log above)")
        atomic_write(Path(out), bytes(serialized))
        return Path(out)
    finally:
        context.pop()


def calibration_cache_path(cache_dir, weights_sha: str) -> Path:
    """Where the INT8 calibration table of these weights is kept (shared by every engine shape)."""
    return artifact_path(cache_dir, "tensorrt", weights_sha, "int8").with_suffix(".calib")


def ensure_engine(onnx_path: Path, *, weights_sha: str, precision: str, shapes: dict, cache_dir=None,
                  calib_batches=None) -> tuple[Path, bool]:
    """(path, built): the cached engine for this GPU, TensorRT version, shapes and precision, built if absent."""
    trt, cuda = import_tensorrt()
    gpu = gpu_identity(cuda)
    key = engine_cache_key(gpu=gpu, trt_version=trt.__version__, shapes=shapes, precision=precision,
                           weights_sha=weights_sha)
    path = artifact_path(cache_dir, "tensorrt", weights_sha, precision, key)
    if path.is_file():
        return path, False
    calib = calibration_cache_path(cache_dir, weights_sha) if precision == "int8" else None
    build_engine(onnx_path, path, precision=precision, shapes=shapes, calib_batches=calib_batches, calib_cache=calib)
    from .metadata import write_metadata

    write_metadata(path, fmt="tensorrt", precision=precision, weights_sha=weights_sha, source=str(onnx_path),
                   input_shape={"dynamic": shapes["min"] != shapes["max"], **shapes},
                   extra={"tensorrt": trt.__version__, **gpu, "cache_key": key})
    return path, True
