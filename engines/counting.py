"""The engine as counting uses it: an ``Engine`` wrapper with the sparse-scene corrections.

CSRNet trained on dense crowds leaves phantom density where nobody is: a band along the frame
border (an artefact of zero padding: the network sees a hard black edge) and a low carpet over
textured empty ground.  Two corrections, each measured on Mall and ShanghaiTech:

- ``border_pad``: the frame is mirrored outwards by this many pixels (a multiple of 8) before
  inference and the map is cropped back, so the zero-padding edge falls outside the picture.
- ``floor``: density cells below this value (persons per cell) are treated as empty.

``counting_engine`` wraps any ``Engine`` (same interface: N x 3 x H x W in, N x H/8 x W/8 out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .preprocess import STRIDE


@dataclass(frozen=True)
class CountingSettings:
    """Which corrections to apply; the defaults are what ``count``, ``evaluate`` and the daemon use."""

    border_pad: int = 0  # pixels of mirrored border added on each side (multiple of 8; 0: off)
    floor: float = 0.0  # persons per map cell; cells below it count as empty (0: off)


DEFAULT_SETTINGS = CountingSettings()


class CountingEngine:
    """An ``Engine`` whose maps have the counting corrections applied."""

    def __init__(self, engine, settings: CountingSettings = DEFAULT_SETTINGS):
        if settings.border_pad % STRIDE or settings.border_pad < 0:
            raise ValueError(f"border_pad must be a non-negative multiple of {STRIDE}")
        self.inner = engine
        self.settings = settings
        self.max_batch = engine.max_batch
        extras = [f"pad{settings.border_pad}"] if settings.border_pad else []
        extras += [f"floor{settings.floor:g}"] if settings.floor else []
        self.name = engine.name + "".join(f"+{e}" for e in extras)
        self.reason = getattr(engine, "reason", "")

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Density maps of the batch with the corrections applied."""
        pad = self.settings.border_pad
        if pad:
            batch = np.pad(batch, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="reflect")
        maps = np.asarray(self.inner.infer(np.ascontiguousarray(batch, dtype=np.float32)))
        if pad:
            cells = pad // STRIDE
            maps = maps[:, cells:maps.shape[1] - cells, cells:maps.shape[2] - cells]
        if self.settings.floor:
            maps = np.where(maps >= self.settings.floor, maps, 0.0).astype(np.float32)
        return np.ascontiguousarray(maps, dtype=np.float32)

    def close(self) -> None:
        """Close the wrapped engine."""
        self.inner.close()


def counting_engine(engine, settings: CountingSettings = DEFAULT_SETTINGS):
    """``engine`` itself when no correction is on, else a ``CountingEngine`` around it."""
    if not settings.border_pad and not settings.floor:
        return engine
    return CountingEngine(engine, settings)
