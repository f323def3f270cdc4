"""Rolling latency windows and counters kept by the inference worker."""

from __future__ import annotations

from collections import deque

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
        # Plain Python on at most 512 floats: a quarter of numpy's cost at this size, and every
        # /status.json, /metrics and P/stats summarises seven windows.
        values = sorted(self._samples)
        return {"mean": round(sum(values) / len(values), 3), "p50": round(_percentile(values, 0.50), 3),
                "p95": round(_percentile(values, 0.95), 3), "max": round(values[-1], 3), **totals}


def _percentile(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy.percentile's default) of sorted values."""
    rank = (len(ordered) - 1) * fraction
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


class CameraTally:
    """What the worker did for one camera."""

    def __init__(self) -> None:
        self.processed = 0
        self.last_seq = 0
        self.last_result_monotonic: float | None = None
        self.lag_ms = LatencyWindow(64)

    def delivered(self, seq: int, total_ms: float, now: float) -> None:
        """Count one delivered map of frame ``seq``, ``total_ms`` after capture, at monotonic ``now``."""
        self.processed += 1
        self.last_seq = seq
        self.last_result_monotonic = now
        self.lag_ms.add(total_ms)


def add_stage_times(windows: dict[str, LatencyWindow], timings, total_ms: float) -> None:
    """Add one frame's queue, preprocess, infer (``types.StageTimings``) and total times to ``windows``."""
    for stage, ms in zip(STAGES, (timings.queue_ms, timings.preprocess_ms, timings.infer_ms, total_ms)):
        windows[stage].add(ms)
