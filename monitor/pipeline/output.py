"""What a camera's density maps become before they leave the worker: its map correction, then its gain."""

from __future__ import annotations

import numpy as np

from engines.correction import CSRNET_0_2


def corrected(density: np.ndarray, correct: bool) -> np.ndarray:
    """The map with csrnet-0.2's map correction (``engines.correction``) when ``correct``, else as it is."""
    return CSRNET_0_2.apply(density) if correct else density


def gained(density: np.ndarray, gain: float) -> np.ndarray:
    """The density map times the camera's count gain (the map itself when the gain is 1)."""
    return density if gain == 1.0 else density * np.float32(gain)
