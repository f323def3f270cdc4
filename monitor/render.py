"""Heatmap overlay of a density map on its frame, with the count written on it, and its JPEG.

Used by ``count --heatmap`` (``heatmap_overlay``), the MQTT heatmap publisher and the status page
(``heatmap_jpeg``), so every place draws the same picture.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_ALPHA = 0.65  # how strongly the colour map covers the image where density peaks
MIN_SCALE = 1e-3  # persons per map cell: below this a map is drawn as (almost) empty, not stretched


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """A grey, BGRA or BGR image as BGR (the image itself when it is BGR: the overlay never writes into it)."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    return image


def _normalised(density: np.ndarray, width: int, height: int) -> np.ndarray:
    """Density resized to the image, scaled to 0..1 by its peak (never by less than MIN_SCALE), float32."""
    density = np.nan_to_num(np.asarray(density, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if density.size == 0:
        return np.zeros((height, width), np.float32)
    # The absolute floor keeps a near-empty map from being stretched into a screaming-red picture.
    scale = max(float(density.max()), MIN_SCALE)
    # Scaled on the small map, then resized: linear interpolation keeps values in 0..1, and the
    # per-pixel work on the full-size map is the resize alone.
    small = np.clip(density / scale, 0.0, 1.0).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _write_count(image: np.ndarray, count: float) -> None:
    """Draw ``count`` in the top-left corner, white on a dark box, sized to the image."""
    text = f"count {count:.1f}"
    scale = max(0.5, min(image.shape[:2]) / 480.0)
    thickness = max(1, int(round(2 * scale)))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = int(6 * scale)
    cv2.rectangle(image, (0, 0), (w + 2 * pad, h + base + 2 * pad), (0, 0, 0), thickness=-1)
    cv2.putText(image, text, (pad, pad + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                thickness, cv2.LINE_AA)


def heatmap_overlay(image_bgr: np.ndarray, density: np.ndarray, count: float | None = None) -> np.ndarray:
    """The image with the density map as a colour map over it (opaque where dense) and the count.

    ``density`` may be any size (usually 1/8 of the model input); it is stretched over the whole
    image.  ``count`` defaults to ``density.sum()``; pass the published (e.g. corrected) count to
    write that instead.  Returns a new H x W x 3 BGR uint8 image; the input is not modified.
    """
    base = _as_bgr(np.asarray(image_bgr))
    if base.dtype != np.uint8:
        base = np.clip(base, 0, 255).astype(np.uint8)
    height, width = base.shape[:2]
    level = _normalised(density, width, height)
    colours = cv2.applyColorMap((level * 255).astype(np.uint8), cv2.COLORMAP_JET)
    # Per-pixel alpha: empty ground stays visible, dense areas get the full colour.
    alpha = cv2.sqrt(level)
    alpha *= MAX_ALPHA
    # One OpenCV pass on the uint8 images: the numpy float32 blend of full-size copies it replaces
    # cost five times as much; the pictures differ by at most 2 grey levels (on average 0.001).
    out = cv2.blendLinear(colours, base, alpha, np.float32(1.0) - alpha)
    if count is None:
        count = float(np.nan_to_num(np.asarray(density, dtype=np.float64)).sum())
    _write_count(out, float(count))
    return out


def heatmap_jpeg(image_bgr: np.ndarray, density: np.ndarray, count: float | None = None, *,
                 max_side: int | None = None, quality: int = 80) -> bytes | None:
    """JPEG bytes of ``heatmap_overlay`` (shrunk to ``max_side`` when given), or None when OpenCV cannot encode it."""
    # Shrunk before the overlay is drawn: blending and encoding cost grow with the pixels.
    return jpeg(heatmap_overlay(_shrunk(np.asarray(image_bgr), max_side), density, count), quality=quality)


def _shrunk(picture: np.ndarray, max_side: int | None) -> np.ndarray:
    """The picture with its long side at most ``max_side``, or itself."""
    height, width = picture.shape[:2]
    scale = max_side / max(height, width) if max_side else 1.0
    if scale >= 1.0:
        return picture
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Down to half size bilinear reads every source pixel and differs from area averaging by about
    # half a grey level (a fifth of JPEG's own error at quality 80), at a fifth of area's cost on
    # such ratios (640 -> 480); larger reductions need area averaging against aliasing.
    interpolation = cv2.INTER_LINEAR if scale >= 0.5 else cv2.INTER_AREA
    return cv2.resize(picture, size, interpolation=interpolation)


def jpeg(picture: np.ndarray, *, max_side: int | None = None, quality: int = 80) -> bytes | None:
    """JPEG bytes of a BGR picture (shrunk to ``max_side`` when given), or None when OpenCV cannot encode it."""
    picture = _shrunk(picture, max_side)
    ok, buffer = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return buffer.tobytes() if ok else None
