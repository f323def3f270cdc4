"""CPU per status-page picture: a new frame shrunk to 480 px, its density overlay drawn, JPEG-encoded.

    python bench/picture_cost.py [--pictures 300] [--repeats 5]

Asks ``monitor.console.pictures.Pictures`` (what ``/heatmap/CAM.jpg`` serves) for a camera whose
frame changes before every request, so each answer is drawn and encoded, never cached: Mall frames
(vtest.avi without ../shared/data) with a smooth density map of the size a 320-px input gives.
Prints the CPU milliseconds (all threads of this process, best of ``--repeats`` rounds, as other
work on the machine only adds) per picture.  An open status page with three cameras at 1 fps asks
for 1.5 new pictures a second.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
from pathlib import Path

import cv2
import numpy as np

from soak import source_frames  # first: it puts this checkout on sys.path

from monitor.console.pictures import THUMBNAIL_SIDE, Pictures  # noqa: I001
from monitor.types import DensityResult, Frame, StageTimings


class ChangingCamera:
    """A live source whose one camera shows the next frame each time it is asked."""

    def __init__(self, images: list[np.ndarray], density: np.ndarray):
        self.images, self.density, self.seq = images, density, 0

    def latest_result(self, camera: str) -> DensityResult:
        """The next frame with the density map."""
        self.seq += 1
        frame = Frame(camera, self.seq, 0.0, self.images[self.seq % len(self.images)])
        return DensityResult(frame, self.density, StageTimings(0.0, 0.0, 0.0), 0.0)


def smooth_density(width: int, height: int) -> np.ndarray:
    """A map of a few blurred crowds (persons per cell), 1/8 of a ``width`` x ``height`` input."""
    rng = np.random.default_rng(0)
    cells = rng.random((height // 8, width // 8)).astype(np.float32) ** 8
    return cv2.GaussianBlur(cells, (0, 0), 2.0) * 0.5


def cpu_s() -> float:
    """User + system CPU seconds of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _, _, images = source_frames(Path(tmp))
    height, width = images[0].shape[:2]
    scale = 320 / max(height, width)
    pictures = Pictures(ChangingCamera(images, smooth_density(round(width * scale), round(height * scale))))
    pictures.thumbnail("cam")  # warm-up: OpenCV's first calls allocate
    rounds = []
    for _ in range(args.repeats):
        start = cpu_s()
        for _ in range(args.pictures):
            pictures.thumbnail("cam")
        rounds.append(1000 * (cpu_s() - start) / args.pictures)
    print(json.dumps({"frame": f"{width}x{height}", "picture_side": THUMBNAIL_SIDE,
                      "cpu_ms_per_picture": round(min(rounds), 2),
                      "rounds_ms": [round(r, 2) for r in rounds]}))


if __name__ == "__main__":
    main()
