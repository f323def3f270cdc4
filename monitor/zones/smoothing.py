"""Temporal smoothing of counts over a time window, robust to single-frame spikes by default.

A median over the samples of the last ``window_s`` seconds ignores a spike (a poster mistaken
for faces in one frame, a decoding glitch) as long as fewer than half the samples in the window
are spikes, and follows a real change within about half a window.  The raw value is always kept
beside the smoothed one.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..config import SmoothingConfig


class WindowSmoother:
    """Median (or mean) of the samples whose time lies within the last ``window_s`` seconds."""

    def __init__(self, config: SmoothingConfig) -> None:
        self.config = config
        self.method = config.method
        self.window_s = config.window_s
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, ts: float, value: float) -> float:
        """Add a sample taken at ``ts`` and return the smoothed value at ``ts`` (the raw value is the caller's)."""
        if self._samples and ts < self._samples[-1][0]:
            self._samples.clear()  # the clock went back (source restarted): old samples mean nothing now
        self._samples.append((ts, value))
        while self._samples[0][0] <= ts - self.window_s:
            self._samples.popleft()
        smoothed = self.value()
        assert smoothed is not None
        return smoothed

    def value(self) -> float | None:
        """The current smoothed value, or None before any sample."""
        if not self._samples:
            return None
        if self.method == "none":
            return self._samples[-1][1]
        values = np.fromiter((v for _, v in self._samples), dtype=np.float64, count=len(self._samples))
        return float(np.median(values) if self.method == "median" else values.mean())

    def reset(self) -> None:
        """Forget every sample (after an outage, or when the zone's polygon changed)."""
        self._samples.clear()

    def __len__(self) -> int:
        return len(self._samples)
