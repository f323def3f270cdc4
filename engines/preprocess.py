"""Preprocessing shared by every backend: BGR frame -> normalised CHW float32 at a multiple of 8.

The frame is resized so that its long side is at most ``max_side`` and both sides are multiples of
the model's stride (8).  The density map then has exactly (H/8, W/8) cells and covers the whole
frame, so zone masks map onto it without a border.  Counts need no rescaling after a resize: a
density map integrates to the number of heads whatever the pixel scale (see tests/engines).
"""

from __future__ import annotations

import cv2
import numpy as np

STRIDE = 8
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # ImageNet, RGB in 0..1
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def model_input_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) fed to the model: long side <= max_side, both multiples of the stride."""
    scale = min(1.0, max_side / max(width, height))
    w = max(STRIDE, int(round(width * scale / STRIDE)) * STRIDE)
    h = max(STRIDE, int(round(height * scale / STRIDE)) * STRIDE)
    return w, h


def prepare(image_bgr: np.ndarray, max_side: int) -> np.ndarray:
    """One frame (H x W x 3 BGR uint8, or H x W grey) -> 3 x h x w float32, normalised."""
    if image_bgr.ndim == 2:
        image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    height, width = image_bgr.shape[:2]
    w, h = model_input_size(width, height, max_side)
    if (w, h) != (width, height):
        interpolation = cv2.INTER_AREA if w < width else cv2.INTER_LINEAR
        image_bgr = cv2.resize(image_bgr, (w, h), interpolation=interpolation)
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
    rgb -= MEAN
    rgb /= STD
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def prepare_batch(images: list[np.ndarray], max_side: int) -> np.ndarray:
    """Frames of the same size -> N x 3 x h x w float32."""
    return np.stack([prepare(image, max_side) for image in images])
