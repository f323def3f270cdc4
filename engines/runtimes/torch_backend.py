"""PyTorch eager: the reference (CPU fp32), and CUDA with fp16 when a GPU is present."""

from __future__ import annotations

import logging

import numpy as np

from ..errors import EngineError
from .common import BaseEngine
from .spec import BackendSpec, OpenRequest

log = logging.getLogger("engines")
SPEC = BackendSpec("torch", __name__, packages=("torch",), extra="train", formats=("weights",),
                   precisions=("fp32", "fp16", "bf16"), auto_rank=40)


def resolve_precision(requested: str, cuda: bool) -> tuple[str, str]:
    """(precision, why): fp16 on CUDA, fp32 on the CPU by default; bf16 runs on either."""
    if requested == "auto":
        return ("fp16", "CUDA GPU: fp16 halves memory traffic") if cuda else ("fp32", "CPU: eager fp32 reference")
    if requested == "fp16" and not cuda:
        raise EngineError("torch fp16 needs a CUDA GPU; on the CPU use fp32, or bf16 with the openvino backend")
    if requested not in ("fp32", "fp16", "bf16"):
        raise EngineError(f"the torch backend runs fp32, fp16 (CUDA) or bf16, not {requested}")
    return requested, "requested"


class TorchEngine(BaseEngine):
    """CSRNet in torch eager mode on CUDA when available, else the CPU."""

    backend = "torch"

    def __init__(self, weights: dict[str, np.ndarray], precision: str = "auto", *, max_batch: int = 4,
                 threads: int | None = None, device: str | None = None, reason: str = ""):
        import torch

        from ..model import build_model

        cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
        chosen, why = resolve_precision(precision, cuda)
        super().__init__(chosen, max_batch, f"{reason}; {why}".strip("; "))
        if threads:
            torch.set_num_threads(int(threads))  # process-wide: torch has no per-model thread pool
        self._torch = torch
        self._device = torch.device(device or ("cuda" if cuda else "cpu"))
        self._dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[chosen]
        self._model = build_model(weights).to(self._device, self._dtype)
        if cuda:
            self.name = f"torch-cuda-{chosen}"
            torch.backends.cudnn.benchmark = True  # camera frames keep their size: tune convolutions once
        log.info("torch: CSRNet on %s (%s)", self._device, self.reason)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(batch)
            if self._device.type == "cuda":
                x = x.pin_memory()
            x = x.to(self._device, self._dtype, non_blocking=True)
            out = self._model(x)[:, 0].float()
            return out.cpu().numpy()

    def _release(self) -> None:
        self._model = None
        if self._device.type == "cuda":
            self._torch.cuda.empty_cache()


def open_engine(request: OpenRequest) -> TorchEngine:
    """The engine for a weights name or file."""
    from ..weights import load_weights

    return TorchEngine(load_weights(request.model, request.adapter), request.precision, max_batch=request.max_batch,
                       threads=request.threads, reason=request.reason)
