"""A fake engine for pipeline-logic tests (the real engines are tested in tests/engines)."""

from __future__ import annotations

import threading
import time

import numpy as np


class SleepyEngine:
    """Returns density maps whose sum is the frame's mean pixel value / 255, after ``delay_s``."""

    def __init__(self, delay_s: float = 0.0, max_batch: int = 4, fail_times: int = 0):
        self.name = "fake-sleepy"
        self.fixed_size: tuple[int, int] | None = None
        self.max_batch = max_batch
        self.delay_s = delay_s
        self.fail_times = fail_times
        self.batches: list[tuple[int, ...]] = []
        self.lock = threading.Lock()

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """N x 3 x H x W -> N x H/8 x W/8, each map uniform."""
        assert batch.ndim == 4 and batch.dtype == np.float32 and batch.shape[1] == 3
        assert batch.shape[0] <= self.max_batch
        with self.lock:
            self.batches.append(batch.shape)
            if self.fail_times > 0:
                self.fail_times -= 1
                raise RuntimeError("simulated engine failure")
        time.sleep(self.delay_s)
        n, _, h, w = batch.shape
        return np.ones((n, h // 8, w // 8), np.float32) / ((h // 8) * (w // 8))

    def close(self) -> None:
        """Nothing to release."""
