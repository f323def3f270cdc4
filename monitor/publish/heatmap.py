"""JPEG heatmaps for ``P/CAM/heatmap``: the shared density overlay, shrunk and encoded."""

from __future__ import annotations

import numpy as np

from ..errors import UserError


def encode_heatmap(image_bgr: np.ndarray, density: np.ndarray, count: float | None = None, *,
                   max_side: int = 640, quality: int = 80) -> bytes:
    """JPEG bytes of the density overlay of ``image_bgr`` (long side at most ``max_side``)."""
    import cv2

    from ..render import heatmap_overlay

    picture = heatmap_overlay(image_bgr, density, count)
    height, width = picture.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise UserError("could not encode the heatmap as JPEG")
    return buffer.tobytes()


def is_jpeg(data: bytes) -> bool:
    """True when ``data`` starts and ends like a JPEG file (SOI ... EOI markers)."""
    return len(data) > 4 and data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
