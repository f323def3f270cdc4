"""Camera pictures (console and status page) are encoded once per frame, whoever asks; the live view follows reloads."""

from __future__ import annotations

import cv2
import numpy as np

import monitor.console.pictures as pictures
from monitor.types import DensityResult, Frame, StageTimings


class Latest:
    def __init__(self):
        self.result = None

    def latest_result(self, camera):
        return self.result if camera == "hall" else None


def _result(seq: int) -> DensityResult:
    image = np.full((48, 64, 3), seq * 20, np.uint8)
    return DensityResult(Frame("hall", seq, 0.0, image), np.full((6, 8), 0.1, np.float32), StageTimings(0.0, 0.0, 0.0), 0.0)


def test_each_frame_is_encoded_once_per_kind(monkeypatch):
    encoded = []
    real = pictures.heatmap_jpeg
    monkeypatch.setattr(pictures, "heatmap_jpeg", lambda *a, **k: encoded.append(1) or real(*a, **k))
    source = Latest()
    cache = pictures.Pictures(source)
    assert cache.picture("hall") is None and cache.picture("nope") is None
    source.result = _result(1)
    first = cache.picture("hall")
    assert first[:2] == b"\xff\xd8" and all(cache.picture("hall") is first for _ in range(5)) and len(encoded) == 1
    assert cache.picture("hall", overlay=False)[:2] == b"\xff\xd8" and len(encoded) == 1  # the bare frame: no overlay
    source.result = _result(2)
    assert cache.picture("hall") != first and len(encoded) == 2  # a new frame, encoded again


def test_the_status_page_gets_a_small_overlay_of_the_same_frame():
    source = Latest()
    source.result = DensityResult(Frame("hall", 1, 0.0, np.full((480, 640, 3), 90, np.uint8)),
                                  np.full((60, 80), 0.01, np.float32), StageTimings(0.0, 0.0, 0.0), 0.0)
    cache = pictures.Pictures(source)
    full = cv2.imdecode(np.frombuffer(cache.picture("hall"), np.uint8), cv2.IMREAD_COLOR)
    small = cv2.imdecode(np.frombuffer(cache.thumbnail("hall"), np.uint8), cv2.IMREAD_COLOR)
    assert full.shape == (480, 640, 3) and small.shape == (360, pictures.THUMBNAIL_SIDE, 3)
    assert cache.thumbnail("hall") is cache.thumbnail("hall")  # cached per frame and size
    # the same picture: the overlay drawn on the shrunk frame matches the full one shrunk (the count label aside)
    shrunk = cv2.resize(full, (480, 360), interpolation=cv2.INTER_AREA)
    assert np.abs(small[100:].astype(int) - shrunk[100:].astype(int)).mean() < 4


def test_the_live_view_is_rebuilt_at_once_for_a_reloaded_config(monkeypatch):
    import monitor.console.live as live

    built = []
    monkeypatch.setattr(live, "build_view", lambda config, source: built.append(config) or {"config": config})
    current = {"config": object()}
    view = live.LiveView(lambda: current["config"], source=None)
    first = view.get()
    assert view.get() is first and len(built) == 1  # within MIN_INTERVAL_S: the same view
    current["config"] = object()  # a reload (a saved edit) replaced the config
    assert view.get()["config"] is current["config"] and len(built) == 2
