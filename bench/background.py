"""Suppressing a camera's static-background density, measured on the two counted video scenes.

    .venv/bin/python bench/background.py [--out FILE.json]

A lever issue 12 names and the README reports; not used by the daemon.  A camera's background is
the per-pixel median of its own frames (people who move on vanish from it); its density map is
phantom density.  Each counted frame is read at each size auto probes, as it is and with the
background's map subtracted, cell by cell and clamped at 0:
- ``subtract``: everywhere;
- ``masked``: only where the frame looks like the background (a cell whose pixels differ from it by
  more than ``MATCH`` grey levels, and its neighbours, keep their density: people standing there).
Scenes (the background learnt from frames that are not counted where the camera allows it):
- vtest.avi (Debian opencv-doc): background from every 10th frame of the video, the 10 frames
  counted by hand in ``bench/accuracy.py``;
- Mall: background from frames 1-800 every 10th (training split), counted frames 801-1600 every 8th.
Also reported: what ``max_side: auto`` picks from the plain and from the suppressed probe counts.
Prints one JSON object.  Needs ../shared/data for Mall and opencv-doc for vtest.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import DATA, VTEST, VTEST_COUNTS, emit  # noqa: E402
from engines.datasets import iter_images, open_dataset  # noqa: E402
from engines.preprocess import model_input_size, prepare  # noqa: E402
from engines.runtimes.opener import open_engine  # noqa: E402
from engines.scale import choose, probe_sides  # noqa: E402
from monitor.devtools.scenes import median_frame  # noqa: E402

MATCH = (6, 16)  # grey levels: a cell differing by less matches the background, by more is foreground
WAYS = ("plain", "subtract", "masked")


def resized(image: np.ndarray, side: int) -> np.ndarray:
    """The frame at the size the model sees for ``side``."""
    height, width = image.shape[:2]
    size = model_input_size(width, height, side)
    return image if size == (width, height) else cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def background_likeness(frame: np.ndarray, background: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per map cell: 1 where the frame matches the background, 0 where it differs (and next to that)."""
    difference = cv2.absdiff(frame, background).max(axis=2).astype(np.float32)
    per_cell = cv2.resize(difference, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    low, high = MATCH
    likeness = np.clip((high - per_cell) / (high - low), 0.0, 1.0)
    return cv2.erode(likeness, np.ones((3, 3), np.uint8))


def counts(density: np.ndarray, phantom: np.ndarray, likeness: np.ndarray) -> dict[str, float]:
    """The frame's count each way."""
    return {"plain": float(density.sum()), "subtract": float(np.maximum(density - phantom, 0).sum()),
            "masked": float(np.maximum(density - likeness * phantom, 0).sum())}


def scene(engine, background: np.ndarray, frames: list[tuple[float, np.ndarray]]) -> dict:
    """Each size and way: MAE, bias, correlation with the truth; what auto picks; the background's count."""
    height, width = background.shape[:2]
    sides = probe_sides(width, height)
    infer = lambda image, side: np.asarray(engine.infer(prepare(image, side)[None]))[0]  # noqa: E731
    phantoms = {side: infer(background, side) for side in sides}
    truth = np.array([t for t, _ in frames])
    read = {side: {way: [] for way in WAYS} for side in sides}
    for _, frame in frames:
        for side in sides:
            density = infer(frame, side)
            likeness = background_likeness(resized(frame, side), resized(background, side), density.shape)
            for way, value in counts(density, phantoms[side], likeness).items():
                read[side][way].append(value)
    report: dict = {"frames": len(frames), "truth_mean": round(float(truth.mean()), 2),
                    "background_count": {str(s): round(float(p.sum()), 2) for s, p in phantoms.items()}}
    for side in sides:
        for way in WAYS:
            values = np.array(read[side][way])
            error = values - truth
            report[f"{side}/{way}"] = {"mae": round(float(np.abs(error).mean()), 2),
                                       "bias": round(float(error.mean()), 2),
                                       "correlation": round(float(np.corrcoef(values, truth)[0, 1]), 3)}
    for way in WAYS:
        choice = choose({side: float(sum(read[side][way])) for side in sides}, frames=len(frames))
        report[f"auto_picks/{way}"] = {"side": choice.side, **report[f"{choice.side}/{way}"]}
    return report


def vtest_scene() -> tuple[np.ndarray, list[tuple[float, np.ndarray]]]:
    """vtest.avi's median of every 10th frame and its hand-counted frames."""
    capture, frames, index = cv2.VideoCapture(str(VTEST)), [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index in VTEST_COUNTS:
            frames.append((float(VTEST_COUNTS[index]), frame))
        index += 1
    capture.release()
    return median_frame(VTEST, 10), frames


def mall_scene() -> tuple[np.ndarray, list[tuple[float, np.ndarray]]]:
    """The median of Mall frames 1-800 every 10th and frames 801-1600 every 8th with their counts."""
    history = [image for _, image in iter_images(open_dataset(DATA / "mall", "mall", "1-800:10").samples)]
    counted = open_dataset(DATA / "mall", "mall", "801-1600:8").samples
    frames = [(sample.count_in(*image.shape[:2]), image) for sample, image in iter_images(counted)]
    return np.median(np.stack(history), axis=0).astype(np.uint8), frames


def main() -> int:
    """Measure both scenes and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    engine = open_engine(max_batch=1)
    report: dict = {"engine": engine.name, "match_grey_levels": MATCH, "scenes": {}}
    available = {"vtest": (VTEST.exists(), vtest_scene), "mall": ((DATA / "mall").exists(), mall_scene)}
    for name, (present, load) in available.items():
        report["scenes"][name] = scene(engine, *load()) if present else {"skipped": "data not found"}
        print(name, json.dumps(report["scenes"][name]), file=sys.stderr, flush=True)
    engine.close()
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
