"""``open_engine``: a model name or file + backend + precision -> a ready ``Engine``."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import EngineError, file_problem
from ..weights import DEFAULT_NAME
from .registry import choose_backend, model_format

log = logging.getLogger("engines")
PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")


def open_engine(model: str = DEFAULT_NAME, backend: str = "auto", precision: str = "auto", *, max_batch: int = 4,
                threads: int | None = None, cache_dir: str | None = None, max_side: int = 1920):
    """An ``Engine`` for ``model`` (weights name, .npz/.pth.tar/.pt, .onnx, .xml or .engine).

    ``backend="auto"`` picks TensorRT on an NVIDIA GPU, else OpenVINO, ONNX Runtime, torch (and logs
    why); ``precision="auto"`` picks the fastest precision that keeps counts within 1% of fp32.
    ``max_side`` bounds the frame size a TensorRT engine is built for.  Compiled artifacts (the ONNX
    graph of the weights, TensorRT engines) are cached under ``cache_dir`` (default: see
    ``engines.cache.default_cache_dir``).
    """
    if precision not in PRECISIONS:
        raise EngineError(f"unknown precision '{precision}': choose {', '.join(PRECISIONS)}")
    fmt = model_format(model)
    if fmt != "weights" and not Path(model).is_file():
        raise EngineError(file_problem(model, "model file"))
    spec, why = choose_backend(backend, fmt)
    opener = {"openvino": _open_openvino, "onnxruntime": _open_onnxruntime, "torch": _open_torch,
              "tensorrt": _open_tensorrt}[spec.name]
    engine = opener(model, fmt, precision, max_batch=max_batch, threads=threads, cache_dir=cache_dir,
                    max_side=max_side, reason=why)
    log.info("engine %s ready for %s (%s)", engine.name, model, engine.reason)
    return engine


def _weights_and_graph(model: str, cache_dir) -> tuple[dict, str, Path]:
    """(weights, digest, cached ONNX path) of a weights name or file."""
    from ..graph import cached_graph_path
    from ..weights import load_weights, weights_digest

    weights = load_weights(model)
    return weights, weights_digest(weights), cached_graph_path(weights, cache_dir)


def _open_openvino(model, fmt, precision, *, max_batch, threads, cache_dir, max_side, reason):
    from ..cache import artifact_path
    from .metadata import read_metadata
    from .openvino_backend import OpenVINOEngine

    path = Path(model)
    if fmt == "weights":
        _, sha, path = _weights_and_graph(model, cache_dir)
        if precision == "int8":  # the INT8 IR `crowd-monitor export --format openvino --int8` left in the cache
            quantized = artifact_path(cache_dir, "openvino", sha, "int8")
            if quantized.is_file():
                path = quantized
    stored = (read_metadata(path) or {}).get("runtime_hint")
    return OpenVINOEngine(path, precision, max_batch=max_batch, threads=threads, stored_precision=stored,
                          reason=reason)


def _open_onnxruntime(model, fmt, precision, *, max_batch, threads, cache_dir, max_side, reason):
    from .onnxruntime_backend import OnnxRuntimeEngine

    path = _weights_and_graph(model, cache_dir)[2] if fmt == "weights" else Path(model)
    return OnnxRuntimeEngine(path, precision, max_batch=max_batch, threads=threads, reason=reason)


def _open_torch(model, fmt, precision, *, max_batch, threads, cache_dir, max_side, reason):
    from ..weights import load_weights
    from .torch_backend import TorchEngine

    return TorchEngine(load_weights(model), precision, max_batch=max_batch, threads=threads, reason=reason)


def _open_tensorrt(model, fmt, precision, *, max_batch, threads, cache_dir, max_side, reason):
    from .metadata import read_metadata
    from .tensorrt_build import ensure_engine, import_tensorrt, profile_shapes
    from .tensorrt_backend import TensorRTEngine, resolve_precision

    if fmt == "tensorrt":  # a prebuilt engine: its precision was fixed when it was built
        stored = (read_metadata(model) or {}).get("precision", "unknown")
        if precision not in ("auto", stored):
            raise EngineError(f"{model} was built as {stored}; rebuild it for {precision} with crowd-monitor export")
        return TensorRTEngine(Path(model), stored, max_batch=max_batch, reason=reason)
    trt, _ = import_tensorrt()
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    chosen, why = resolve_precision(precision, getattr(builder, "platform_has_fast_fp16", True))  # deprecated in TRT 10
    if fmt == "weights":
        _, sha, onnx_path = _weights_and_graph(model, cache_dir)
    else:
        onnx_path, sha = Path(model), (read_metadata(model) or {}).get("weights_sha") or _file_digest(model)
    path, built = ensure_engine(onnx_path, weights_sha=sha, precision=chosen,
                                shapes=profile_shapes(max_batch, max_side), cache_dir=cache_dir)
    why += "; engine built now and cached" if built else "; engine from the cache"
    return TensorRTEngine(path, chosen, max_batch=max_batch, reason=f"{reason}; {why}")


def _file_digest(path: str) -> str:
    """Short digest of a file, to key the cache of engines built from an ONNX file without metadata."""
    from ..weights import sha256_of

    return sha256_of(Path(path))[:16]
