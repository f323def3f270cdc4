"""Camera pictures (console and status page) are encoded once per frame, whoever asks."""

from __future__ import annotations

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
