"""The one small interface every runtime implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Engine(Protocol):
    """Turns a batch of preprocessed frames into density maps.

    ``infer`` takes N x 3 x H x W float32 (from ``engines.preprocess``; H and W multiples of 8) and
    returns N x H/8 x W/8 float32 density maps; the sum of a map is its frame's head count.
    ``max_batch`` is the largest N one call accepts; callers split larger batches.
    ``fixed_size`` is (W, H) when the model was exported for one input size only, else None.
    ``reason`` says why this backend and precision run, for logs and bench reports.
    """

    name: str  # backend and precision, e.g. "openvino-bf16"
    reason: str
    max_batch: int
    fixed_size: tuple[int, int] | None

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Density maps for a batch of frames."""
        ...

    def close(self) -> None:
        """Release the engine's memory, threads and device handles."""
        ...


class ClosedOnExit:
    """``with engine:`` calls the engine's own ``close`` at the end of the block."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
