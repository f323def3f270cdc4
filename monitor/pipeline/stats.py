"""Rolling latency windows and counters kept by the inference worker."""

from __future__ import annotations

from collections import deque

import numpy as np

STAGES = ("queue", "preprocess", "infer", "total")


class LatencyWindow:
    """The last ``size`` samples of one stage's latency in milliseconds, and the count and sum of all."""

    def __init__(self, size: int = 512):
        self._samples: deque[float] = deque(maxlen=size)
        self.count = 0
        self.total_ms = 0.0

    def add(self, ms: float) -> None:
        """Record one sample."""
        self._samples.append(ms)
        self.count += 1
        self.total_ms += ms

    def summary(self) -> dict[str, float]:
        """mean, p50, p95 and max of the window (zeros when empty); count and sum (ms) of every sample."""
        totals = {"count": self.count, "sum": round(self.total_ms, 3)}
        if not self._samples:
            return {"mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0, **totals}
        values = np.fromiter(self._samples, dtype=np.float64)
        p50, p95 = np.percentile(values, [50, 95])
        return {"mean": round(float(values.mean()), 3), "p50": round(float(p50), 3),
                "p95": round(float(p95), 3), "max": round(float(values.max()), 3), **totals}


class CameraTally:
    """What the worker did for one camera."""

    def __init__(self) -> None:
        self.processed = 0
        self.last_seq = 0
        self.last_result_monotonic: float | None = None
        self.lag_ms = LatencyWindow(64)
