"""ONNX Runtime on the CPU: the built ONNX graph or an exported (optionally quantized) ONNX file."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import EngineError
from .common import BaseEngine, onnx_path, static_size
from .spec import BackendSpec, OpenRequest

log = logging.getLogger("engines")
SPEC = BackendSpec("onnxruntime", __name__, packages=("onnxruntime",), extra="onnxruntime",
                   formats=("weights", "onnx"), precisions=("fp32", "int8"), auto_rank=30)
QUANTIZED_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "ConvInteger"}


def is_quantized(path: Path) -> bool:
    """True when the ONNX file holds quantize/dequantize operations (an INT8 model)."""
    import onnx

    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # protobuf's DecodeError and friends
        raise EngineError(f"ONNX Runtime cannot load {path}: {exc} (truncated or not an ONNX file?)") from None
    return any(node.op_type in QUANTIZED_OPS for node in graph.node)


def resolve_precision(requested: str, quantized: bool) -> tuple[str, str]:
    """(precision, why): fp32, or int8 for a quantized model; ONNX Runtime's CPU has no fast bf16/fp16."""
    natural = "int8" if quantized else "fp32"
    if requested in ("auto", natural):
        return natural, "the model's own precision" if requested == "auto" else "requested"
    if requested == "int8":
        raise EngineError("INT8 under ONNX Runtime needs a quantized .onnx; use the openvino backend with "
                          "`crowd-monitor export --format openvino --int8 --calib DIR` instead")
    raise EngineError(f"ONNX Runtime on the CPU runs {natural} only; for {requested} use the openvino backend")


class OnnxRuntimeEngine(BaseEngine):
    """An ONNX Runtime CPU session; batches of equal-size frames run in one call."""

    backend = "onnxruntime"

    def __init__(self, path: Path, precision: str = "auto", *, max_batch: int = 4, threads: int | None = None,
                 reason: str = ""):
        import onnxruntime as ort

        chosen, why = resolve_precision(precision, is_quantized(path))
        super().__init__(chosen, max_batch, f"{reason}; {why}".strip("; "))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = int(threads or 0)  # 0: one per core
        options.log_severity_level = 3  # errors only: ORT warns about unused initializers otherwise
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph types
            raise EngineError(f"ONNX Runtime cannot load {path}: {str(exc)[:300]}") from None
        self._input = self._session.get_inputs()[0].name
        self.fixed_size = static_size(*self._session.get_inputs()[0].shape[2:4])
        log.info("onnxruntime: %s on CPU (%s)", path.name, self.reason)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            out = self._session.run(None, {self._input: batch})[0]
        except Exception as exc:
            raise EngineError(f"ONNX Runtime could not run a {batch.shape} batch: {str(exc)[:300]}") from None
        return np.ascontiguousarray(out[:, 0])

    def _release(self) -> None:
        self._session = None


def open_engine(request: OpenRequest) -> OnnxRuntimeEngine:
    """The engine for a weights name or file (its cached graph) or an .onnx file."""
    return OnnxRuntimeEngine(onnx_path(request.model, request.fmt, request.cache_dir, request.adapter), request.precision,
                             max_batch=request.max_batch, threads=request.threads, reason=request.reason)
