"""Preprocessing shared by every backend: BGR frame -> normalised CHW float32 at the model's input size.

A frame whose long side fits ``max_side`` is fed as it is; a larger one is shrunk once (area
interpolation, aspect kept).  Sides are *not* forced to a multiple of the stride (8): CSRNet reacts
strongly to resampling by a few pixels (ShanghaiTech A IMG_30, 766x511: 266 heads at native size,
367 after a resample to 768x512), while the network itself takes any size.  Its three 2x2 max
pools keep ``floor(h/8) x floor(w/8)`` cells, so the map covers the frame from its top-left corner
and leaves out a strip of fewer than 8 pixels at the right and bottom (about what a crop to the
stride would lose, but with the full context).  ``map_extent`` says how many cells the frame spans,
so zone masks line up with the picture exactly (``monitor.zones.masks``).  The count is the plain
sum of the map, with no rescaling after a resize: a density map integrates to the number of heads
whatever the pixel scale.

CSRNet has learnt what a head looks like at the scales of its training set, though, so its counts
do depend on how large heads appear; ``max_side: auto`` (``engines.scale``) picks the size per
camera or image.

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
    """(width, height) fed to the model: the frame's own size, or shrunk once so its long side fits."""
    if max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(STRIDE, int(round(width * scale))), max(STRIDE, int(round(height * scale)))


def map_shape(input_size: tuple[int, int]) -> tuple[int, int]:
    """(rows, columns) of the density map of an input of (width, height) pixels."""
    return input_size[1] // STRIDE, input_size[0] // STRIDE


def map_extent(input_size: tuple[int, int]) -> tuple[float, float]:
    """(width, height) of the whole frame in map cells: a little more than the map where a side is
    not a multiple of the stride."""
    return input_size[0] / STRIDE, input_size[1] / STRIDE


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
    x1 = min(w, -(-int(np.ceil(box[2] * w + margin)) // STRIDE) * STRIDE)  # the frame's edge need not be on the grid
    y1 = min(h, -(-int(np.ceil(box[3] * h + margin)) // STRIDE) * STRIDE)
    if x1 - x0 < STRIDE or y1 - y0 < STRIDE or (x0, y0, x1, y1) == (0, 0, w, h):
        return None
    return Window(x0, y0, x1, y1)


def paste_map(window_map: np.ndarray, window: Window | None, input_size: tuple[int, int]) -> np.ndarray:
    """A window's density map placed in a full-frame map of the input (w, h): zeros outside."""
    if window is None:
        return window_map
    full = np.zeros(map_shape(input_size), dtype=window_map.dtype)
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
        image_bgr = cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_AREA)
    if window is not None:
        image_bgr = image_bgr[window.y0:window.y1, window.x0:window.x1]
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
    rgb -= MEAN
    rgb /= STD
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def prepare_batch(images: list[np.ndarray], max_side: int) -> np.ndarray:
    """Frames of the same size -> N x 3 x h x w float32."""
    return np.stack([prepare(image, max_side) for image in images])
