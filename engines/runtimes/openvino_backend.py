"""OpenVINO on the CPU: the built ONNX graph, an exported ONNX, or an IR (.xml), in fp32, bf16 or INT8.

bf16 is a compile-time hint (INFERENCE_PRECISION_HINT) for CPUs with AVX512-BF16 or AMX; INT8 comes
from an IR quantized by ``crowd-monitor export --format openvino --int8 --calib DIR``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import EngineError
from .common import BaseEngine, in_own_thread, static_size, weights_and_graph
from .spec import BackendSpec, OpenRequest

log = logging.getLogger("engines")
SPEC = BackendSpec("openvino", __name__, packages=("openvino",), extra="openvino",
                   formats=("weights", "onnx", "openvino"), precisions=("fp32", "bf16", "fp16", "int8"),
                   auto_rank=20, suffixes=(".xml",))
HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}  # INT8 IR: the few float ops stay f32


def cpu_capabilities() -> set[str]:
    """OpenVINO's optimisation capabilities of this CPU, e.g. {"FP32", "BF16", "INT8"}."""
    import openvino as ov

    return in_own_thread(lambda: set(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")))


def is_quantized(model) -> bool:
    """True for a model with FakeQuantize operations (the INT8 IR that NNCF writes)."""
    return any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


def resolve_precision(requested: str, quantized: bool, capabilities: set[str], stored: str | None) -> tuple[str, str]:
    """(precision, why) for this model and CPU; ``stored`` is the precision in the artifact's metadata."""
    if quantized:
        if requested not in ("auto", "int8"):
            raise EngineError(f"this OpenVINO model is quantized to INT8; precision '{requested}' needs the float model")
        return "int8", "the model is quantized to INT8"
    if requested == "int8":
        raise EngineError("INT8 needs a calibrated model: run `crowd-monitor export --format openvino --int8 "
                          "--calib DIR` (real frames of the venue) and use the .xml it writes")
    if requested == "auto":
        if stored in ("fp32", "bf16") and (stored != "bf16" or "BF16" in capabilities):
            return stored, f"precision {stored} stored with the model"
        if "BF16" in capabilities:
            return "bf16", "the CPU has native bf16 (about 2x fp32, counts within 1%)"
        return "fp32", "the CPU has no native bf16"
    needed = {"bf16": "BF16", "fp16": "FP16"}.get(requested)
    if needed and needed not in capabilities:
        raise EngineError(f"precision {requested} is not supported by this CPU (OpenVINO reports {sorted(capabilities)})")
    return requested, "requested"


class OpenVINOEngine(BaseEngine):
    """A compiled OpenVINO model with one infer request, for batches of equal-size frames."""

    backend = "openvino"

    def __init__(self, path: Path, precision: str = "auto", *, max_batch: int = 4, threads: int | None = None,
                 stored_precision: str | None = None, reason: str = ""):
        import openvino as ov

        core = ov.Core()
        try:
            model = core.read_model(str(path))
        except RuntimeError as exc:
            raise EngineError(f"OpenVINO cannot read {path}: {str(exc).splitlines()[0][:300]}") from None
        chosen, why = resolve_precision(precision, is_quantized(model), cpu_capabilities(), stored_precision)
        shape = model.input(0).get_partial_shape()
        self.fixed_size = static_size(*(d.get_length() if d.is_static else None for d in (shape[2], shape[3])))
        batch_dim = shape[0]
        if batch_dim.is_static:  # an IR exported with a fixed shape takes exactly that batch
            max_batch = min(max_batch, batch_dim.get_length())
        super().__init__(chosen, max_batch, f"{reason}; {why}".strip("; "))
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": HINTS[chosen]}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self._compiled = core.compile_model(model, "CPU", config)
        self._request = self._compiled.create_infer_request()
        self.input_shape = str(model.input(0).get_partial_shape())
        log.info("openvino: %s on CPU (%s), input %s", path.name, self.reason, self.input_shape)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            self._request.infer({0: batch})
        except RuntimeError as exc:
            raise EngineError(f"OpenVINO could not run a {batch.shape} batch: {str(exc).splitlines()[0][:300]} "
                              f"(model input {self.input_shape})") from None
        return self._request.get_output_tensor(0).data[:, 0].copy()

    def _release(self) -> None:
        self._request = None
        self._compiled = None


def open_engine(request: OpenRequest) -> OpenVINOEngine:
    """The engine for a weights name or file (its cached graph, or its cached INT8 IR), .onnx or .xml."""
    from ..cache import artifact_path
    from .metadata import read_metadata

    path = Path(request.model)
    if request.fmt == "weights":
        _, sha, path = weights_and_graph(request.model, request.cache_dir, request.adapter)
        if request.precision == "int8":  # the INT8 IR `crowd-monitor export --format openvino --int8` left in the cache
            quantized = artifact_path(request.cache_dir, "openvino", sha, "int8")
            if quantized.is_file():
                path = quantized
    stored = (read_metadata(path) or {}).get("runtime_hint")
    # Loaded in a thread of its own: see ``common.in_own_thread`` (the CPU plugin's signal stack).
    return in_own_thread(OpenVINOEngine, path, request.precision, max_batch=request.max_batch,
                         threads=request.threads, stored_precision=stored, reason=request.reason)
