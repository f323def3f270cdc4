"""``/api/frame?camera=NAME&overlay=1``: a camera's latest frame as JPEG, with or without its density overlay.

Each picture is encoded once per frame and shared by every browser asking for it.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs

from ..health.messages import Response, error_response
from ..render import heatmap_jpeg, jpeg
from .live import LiveSource

QUALITY = 80
THUMBNAIL_SIDE = 480  # the status page's cards are 400 px wide: a smaller overlay costs a quarter


class Pictures:
    """Encodes and caches the latest picture of each camera."""

    def __init__(self, source: LiveSource):
        self._source = source
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple[int, bytes]] = {}  # (camera, overlay, max_side) -> (frame seq, JPEG)

    def answer(self, request) -> Response:
        """The JPEG, 400 without a camera, 404 before the camera's first frame."""
        query = parse_qs(request.query, max_num_fields=5)
        camera = (query.get("camera") or [""])[-1]
        overlay = (query.get("overlay") or ["1"])[-1] not in ("0", "false", "no")
        if not camera:
            return error_response(400, "camera: required")
        body = self.picture(camera, overlay)
        if body is None:
            return error_response(404, f"no frame of camera {camera[:100]!r} yet")
        return Response(200, "image/jpeg", body)

    def picture(self, camera: str, overlay: bool = True, max_side: int | None = None) -> bytes | None:
        """The latest frame's JPEG, with its density overlay by default, its long side at most
        ``max_side`` (encoded at most once per frame and size)."""
        result = self._source.latest_result(camera)
        if result is None:
            return None
        key = (camera, overlay, max_side)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] == result.frame.seq:
                return cached[1]
        image = result.frame.image
        body = heatmap_jpeg(image, result.density, result.count, max_side=max_side, quality=QUALITY) if overlay \
            else jpeg(image, max_side=max_side, quality=QUALITY)
        if body is not None:
            with self._lock:
                self._cache[key] = (result.frame.seq, body)
        return body

    def thumbnail(self, camera: str) -> bytes | None:
        """The status page's picture of a camera: its overlay, at most ``THUMBNAIL_SIDE`` pixels long."""
        return self.picture(camera, overlay=True, max_side=THUMBNAIL_SIDE)

