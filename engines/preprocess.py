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

Computing less without changing counts: a camera whose ROI covers part of the frame is run on a
*window*, the ROI's bounding box plus a margin of context, cut from the resized frame at the
stride grid; the window's map is pasted back into a full-size map (zeros outside).  Measured on
Mall frames (bf16): with a 64-pixel margin the count inside the box stays within 0.3% of the
full-frame count (mean within 0.1%, a centred half-size box 1.7% at worst); without a margin heads
near the cut lose context and the box's count moves by 5-35%.  Time falls with the window's area.
"""

from __future__ import annotations

from dataclasses import dataclass

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


WINDOW_MARGIN = 64  # pixels of context (model input scale) kept around a window: see the module notes


@dataclass(frozen=True)
class Window:
    """A part of the model input, in model-input pixels, on the stride grid: [y0:y1, x0:x1]."""

    x0: int
    y0: int
    x1: int
    y1: int


def input_window(width: int, height: int, max_side: int, box: tuple[float, float, float, float] | None,
                 margin: int = WINDOW_MARGIN) -> Window | None:
    """The window of the model input that covers ``box`` (relative x0, y0, x1, y1) plus ``margin``.

    None when there is no box or the window would be the whole input (nothing to save).
    """
    if box is None:
        return None
    w, h = model_input_size(width, height, max_side)
    x0, y0 = (max(0, int(box[0] * w - margin)) // STRIDE * STRIDE, max(0, int(box[1] * h - margin)) // STRIDE * STRIDE)
    x1 = min(w, -(-int(np.ceil(box[2] * w + margin)) // STRIDE) * STRIDE)
    y1 = min(h, -(-int(np.ceil(box[3] * h + margin)) // STRIDE) * STRIDE)
    if x1 - x0 < STRIDE or y1 - y0 < STRIDE or (x0, y0, x1, y1) == (0, 0, w, h):
        return None
    return Window(x0, y0, x1, y1)


def paste_map(window_map: np.ndarray, window: Window | None, input_size: tuple[int, int]) -> np.ndarray:
    """A window's density map placed in a full-frame map of the input (w, h): zeros outside."""
    if window is None:
        return window_map
    full = np.zeros((input_size[1] // STRIDE, input_size[0] // STRIDE), dtype=window_map.dtype)
    top, left = window.y0 // STRIDE, window.x0 // STRIDE
    full[top:top + window_map.shape[0], left:left + window_map.shape[1]] = window_map
    return full


def prepare(image_bgr: np.ndarray, max_side: int, window: Window | None = None) -> np.ndarray:
    """One frame (H x W x 3 BGR uint8, or H x W grey) -> 3 x h x w float32, normalised.

    With a ``window`` (from ``input_window``) only that part of the resized frame is returned.
    """
    if image_bgr.ndim == 2:
        image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    height, width = image_bgr.shape[:2]
    w, h = model_input_size(width, height, max_side)
    if (w, h) != (width, height):
        interpolation = cv2.INTER_AREA if w < width else cv2.INTER_LINEAR
        image_bgr = cv2.resize(image_bgr, (w, h), interpolation=interpolation)
    if window is not None:
        image_bgr = image_bgr[window.y0:window.y1, window.x0:window.x1]
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
    rgb -= MEAN
    rgb /= STD
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def prepare_batch(images: list[np.ndarray], max_side: int) -> np.ndarray:
    """Frames of the same size -> N x 3 x h x w float32."""
    return np.stack([prepare(image, max_side) for image in images])
