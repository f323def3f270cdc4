"""Real frames for INT8 calibration: images in a folder (recursively) or frames of a video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import EngineError
from ..images import read_image_or_none
from ..preprocess import prepare

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".ts", ".webm"}


def _evenly(items: list, count: int) -> list:
    """``count`` items spread over the whole list (neighbouring video frames are near duplicates)."""
    if len(items) <= count:
        return items
    picks = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in picks]


def _video_frames(path: Path, count: int) -> list[np.ndarray]:
    """``count`` frames spread over a video file."""
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in _evenly(list(range(max(total, 1))), count):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if ok:
            frames.append(frame)
    capture.release()
    return frames


def calibration_images(source: str | Path | list, count: int = 50) -> list[np.ndarray]:
    """Up to ``count`` BGR frames from a folder of images, a video, or a list of paths or frames, spread evenly."""
    if isinstance(source, (list, tuple)):  # image paths, or BGR frames already in memory
        picked = _evenly(list(source), count)
        frames = [f for f in (p if isinstance(p, np.ndarray) else read_image_or_none(p) for p in picked)
                  if f is not None]
        if not frames:
            raise EngineError("none of the calibration images could be read")
        return frames
    source = Path(source)
    if source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES:
        frames = _video_frames(source, count)
    elif source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        frames = [f for f in (read_image_or_none(p) for p in _evenly(paths, count)) if f is not None]
    else:
        raise EngineError(f"calibration source {source} is neither a folder of images nor a video file")
    if not frames:
        raise EngineError(f"no readable frames in {source} for INT8 calibration (need real frames of the scene)")
    return frames


def calibration_batches(source: str | Path | list, count: int = 50, max_side: int = 960,
                        size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Preprocessed 1 x 3 x H x W frames: at ``size`` (W, H) when given, else resized to ``max_side``."""
    batches = []
    for image in calibration_images(source, count):
        if size is not None:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        batches.append(prepare(image, max(size) if size else max_side)[None])
    return batches
