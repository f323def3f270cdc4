"""Pictures derived from real videos for the tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def median_frame(video: Path, every: int = 10) -> np.ndarray:
    """The per-pixel median of every ``every``-th frame: people who move on vanish, leaving the scene
    empty (for vtest.avi, checked by eye)."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    frames, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % every == 0:
            frames.append(frame)
        index += 1
    capture.release()
    return np.median(np.stack(frames), axis=0).astype(np.uint8)
