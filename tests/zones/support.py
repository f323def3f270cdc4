"""Builders for aggregator tests: configs from YAML text and density results with chosen counts."""

from __future__ import annotations

import numpy as np

from monitor.config import MonitorConfig, parse_config
from monitor.types import DensityResult, Frame, StageTimings

IMAGE = np.zeros((480, 640, 3), np.uint8)  # never looked at by the aggregator


def config(text: str) -> MonitorConfig:
    """Validate YAML text exactly as the daemon would."""
    return parse_config(text, "test.yaml")


def result(camera: str, t: float, density: np.ndarray, seq: int = 0, latency_s: float = 0.25) -> DensityResult:
    """A density result for a frame captured at ``t``."""
    frame = Frame(camera, seq, t, IMAGE)
    return DensityResult(frame, density.astype(np.float32), StageTimings(5.0, 10.0, 100.0), t + latency_s)


def halves(left: float, right: float, shape: tuple[int, int] = (60, 80)) -> np.ndarray:
    """A map with ``left`` people spread over the left half and ``right`` over the right half."""
    h, w = shape
    density = np.zeros(shape, np.float64)
    density[:, : w // 2] = left / (h * (w // 2))
    density[:, w // 2:] = right / (h * (w - w // 2))
    return density
