"""Snapshots of a live camera for calibration: taken through the daemon's own reader, so blind
frames are skipped and the frames are the ones the daemon would count."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import cv2

from ..config import CameraConfig
from ..errors import UserError

COUNTS = "counts.csv"


def take_snapshots(name: str, camera: CameraConfig, folder: Path, count: int, every_s: float,
                   timeout_s: float = 60.0) -> list[Path]:
    """Save ``count`` frames of the camera, ``every_s`` apart, as JPEGs in ``folder``, with a
    ``counts.csv`` listing them and an empty count each; returns the image paths."""
    saved = capture(name, camera, folder, count, every_s, timeout_s)
    write_counts_template(folder, saved)
    return saved


def capture(name: str, camera: CameraConfig, folder: Path, count: int, every_s: float,
            timeout_s: float = 60.0) -> list[Path]:
    """Save ``count`` frames of the camera, ``every_s`` apart, as new JPEGs in ``folder``; their paths."""
    from ..pipeline import LatestFrameSlot
    from ..sources import CameraReader

    folder.mkdir(parents=True, exist_ok=True)
    slot = LatestFrameSlot()
    reader = CameraReader(name, camera.model_copy(update={"realtime": True}), slot)
    reader.start()
    saved: list[Path] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(saved) < count:
            frame = slot.take()
            if frame is None:
                if time.monotonic() > deadline:
                    status = reader.status()
                    raise UserError(f"camera {name}: no usable frame for {timeout_s:.0f} s "
                                    f"({status.state.value}: {status.reason})")
                time.sleep(0.05)
                continue
            path = _new_name(folder, frame.captured_at)
            cv2.imwrite(str(path), frame.image)
            saved.append(path)
            deadline = time.monotonic() + timeout_s + every_s
            if len(saved) < count:
                time.sleep(every_s)  # the slot keeps only the newest frame: the next one is fresh
    finally:
        reader.stop()
    return saved


def _new_name(folder: Path, captured_at: float) -> Path:
    """``snap-DATE-TIME-NNN.jpg`` not yet in ``folder`` (several snapshots may share a second)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(captured_at))
    index = 0
    while (folder / f"snap-{stamp}-{index:03d}.jpg").exists():
        index += 1
    return folder / f"snap-{stamp}-{index:03d}.jpg"


def write_counts_template(folder: Path, images: list[Path]) -> Path:
    """``counts.csv`` with one ``image,count`` row per image and the counts left empty."""
    table = folder / COUNTS
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "count"])
        for image in images:
            writer.writerow([image.name, ""])
    return table


def missing_counts(folder: Path) -> list[str]:
    """Images of ``counts.csv`` whose count is still empty."""
    with open(folder / COUNTS, newline="", encoding="utf-8", errors="replace") as handle:
        rows = list(csv.reader(handle))[1:]
    return [row[0] for row in rows if row and (len(row) < 2 or not row[1].strip())]
