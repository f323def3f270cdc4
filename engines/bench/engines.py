"""Which engines a bench run measures, and opening them (INT8 ones are calibrated on real frames first)."""

from __future__ import annotations

import importlib.util
import time

from ..errors import EngineError
from ..runtimes.registry import BACKENDS, nvidia_gpu, unavailable_reason

DEFAULT_ENGINES = ("torch:fp32", "onnxruntime:fp32", "openvino:fp32", "openvino:bf16", "openvino:int8",
                   "torch:fp16", "tensorrt:fp16", "tensorrt:int8")


def _reason(name: str) -> str | None:
    """Why engine ``backend:precision`` cannot be measured here, or None."""
    backend, _, precision = name.partition(":")
    if backend not in BACKENDS or precision not in BACKENDS[backend].precisions:
        return f"unknown engine {name} (use backend:precision, e.g. openvino:bf16)"
    why = unavailable_reason(backend)
    if why:
        return why
    if backend == "torch" and precision == "fp16":
        return "torch fp16 needs a CUDA GPU" if nvidia_gpu() else None  # nvidia_gpu(): why there is none
    if backend == "openvino" and precision in ("bf16", "fp16"):
        from ..runtimes.openvino_backend import cpu_capabilities

        if precision.upper() not in cpu_capabilities():
            return f"this CPU has no native {precision}"
    if precision == "int8" and backend == "openvino" and importlib.util.find_spec("nncf") is None:
        return "nncf is not installed (pip install 'crowd-monitor[int8]')"
    return None


def candidates(requested: list[str] | None) -> dict[str, str | None]:
    """Engines to measure, in order, each with the reason it is skipped (None: measured)."""
    names = list(requested) if requested else list(DEFAULT_ENGINES)
    return {name: _reason(name) for name in names}


def open_candidate(name: str, options, calib_source):
    """Open ``backend:precision``; INT8 engines are exported (calibrated) into the cache's bench folder once."""
    from .. import open_engine
    from ..cache import default_cache_dir

    backend, _, precision = name.partition(":")
    max_side = max(max(size) for size in options.sizes)
    if precision != "int8":
        return open_engine(options.model, backend, precision, max_batch=options.batch, threads=options.threads,
                           cache_dir=options.cache_dir, max_side=max_side)
    from ..export import export_model
    from ..weights import load_weights, weights_digest

    tag = f"mall{len(calib_source)}" if calib_source else "generated"
    sha = weights_digest(load_weights(options.model))
    suffix = ".xml" if backend == "openvino" else ".engine"
    out = default_cache_dir(options.cache_dir) / "bench" / f"csrnet-{sha}-int8-{tag}{suffix}"
    if not out.is_file():
        source = calib_source or _generated_calibration(options)
        started = time.monotonic()
        export_model(options.model, backend, out=out, int8=True, calib=source, calib_count=options.calib_frames,
                     max_batch=options.batch, max_side=max_side, cache_dir=options.cache_dir)
        options.calibration_s = round(time.monotonic() - started, 1)
    if not out.is_file():
        raise EngineError(f"INT8 export did not produce {out}")
    return open_engine(str(out), backend, "int8", max_batch=options.batch, threads=options.threads,
                       cache_dir=options.cache_dir, max_side=max_side)


def _generated_calibration(options) -> list:
    """Generated frames to calibrate on when no real frames are available (flagged in the report)."""
    from .frames import generated_frames

    return generated_frames(min(options.calib_frames, 10), options.sizes[0], seed=1)
