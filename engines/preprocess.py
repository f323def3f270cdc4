"""Preprocessing shared by every backend: BGR frame -> normalised CHW float32 at a multiple of 8.

The frame is resized so that its long side is at most ``max_side`` and both sides are multiples of
the model's stride (8).  The density map then has exactly (H/8, W/8) cells and covers the whole
frame, so zone masks map onto it without a border.  The count is the plain sum of the map, with no
rescaling after a resize: a density map integrates to the number of heads whatever the pixel scale.

CSRNet has learnt what a head looks like at the scales of its training set, though, so its counts
do depend on how large heads appear.  Measured with the default weights (tests/engines): resizing
by about 5% (e.g. ShanghaiTech B 1024x768 at ``max_side`` 960) moves a real image's count by a
few percent; halving the side of a Mall frame lowers it by about 45%, and enlarging a frame raises
it (+20% at 1.05x).  Choose ``max_side`` so that heads keep roughly the size the model was
validated at, and check a venue with ``crowd-monitor evaluate`` (``crowd-monitor bench`` reports
speed and error per ``max_side``).
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
