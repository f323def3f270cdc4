"""The background INT8 job: calibrate on a site's frames, check the counts against the float engine, decide.

Run as ``python -m engines.export.int8_job FOLDER`` at a low CPU priority, so that the daemon's
own counting keeps up: NNCF and two extra engines live in this process and their memory goes with
it.  ``FOLDER/job.json`` says what to do; ``FOLDER/calibration/`` and ``FOLDER/check/`` hold the
frames (JPEG, already at the size each camera is counted at, so none is resized again).  The
verdict goes to ``job.json``'s ``decision`` path, the INT8 IR to its ``out`` path.  Check frames
are run one at a time: short engine calls leave the CPU to the daemon between them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("engines")
FRAME_SUFFIX = ".jpg"


@dataclass(frozen=True)
class Int8Job:
    """What the job does (``job.json``)."""

    model: str  # weights name or file, or .onnx
    float_precision: str  # the daemon's float engine: fp32 or bf16
    out: str  # INT8 IR to write (.xml)
    decision: str  # verdict JSON to write
    adapter: str = "auto"  # laid over weights, as the daemon's float engine has it (``engines.adapter``)
    cache_dir: str | None = None  # the float engine's graph cache
    threads: int | None = None
    nice: int = 10
    tolerance_pct: float = 1.0
    key: str = ""
    meta: dict = field(default_factory=dict)  # hardware, sizes, cameras: copied into the decision


def write_job(folder: Path, job: Int8Job) -> Path:
    """``folder/job.json`` for ``job``."""
    from dataclasses import asdict

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "job.json"
    path.write_text(json.dumps(asdict(job), indent=2) + "\n")
    return path


def read_job(folder: Path) -> Int8Job:
    """The job in ``folder/job.json``."""
    return Int8Job(**json.loads((folder / "job.json").read_text()))


def _images(folder: Path) -> list:
    """The frames of one set, in their file order."""
    import cv2

    return [cv2.imread(str(path)) for path in sorted(folder.glob(f"*{FRAME_SUFFIX}"))]


def _counts(engine, images) -> list[float]:
    """Whole-frame counts of ``images`` at their own size, one frame per engine call."""
    from ..preprocess import prepare

    return [float(engine.infer(prepare(image, max(image.shape[:2]))[None])[0].sum()) for image in images]


def run_job(folder: Path) -> dict:
    """Calibrate, check and write the decision; returns it."""
    from .. import open_engine
    from ..cache import atomic_write
    from . import export_model
    from .int8_check import judge

    job = read_job(folder)
    calibration, check = _images(folder / "calibration"), _images(folder / "check")
    if not calibration or not check:
        raise SystemExit(f"int8 job {folder}: no calibration or check frames")
    started = time.monotonic()
    largest = max(max(image.shape[:2]) for image in calibration + check)
    export_model(job.model, "openvino", out=job.out, int8=True, calib=calibration, calib_count=len(calibration),
                 max_side=largest, cache_dir=job.cache_dir, adapter=job.adapter)
    calibrated_s = time.monotonic() - started
    with open_engine(job.model, "openvino", job.float_precision, max_batch=1, threads=job.threads,
                     cache_dir=job.cache_dir, adapter=job.adapter) as reference:
        float_counts = _counts(reference, check)
    with open_engine(job.out, "openvino", "int8", max_batch=1, threads=job.threads) as quantized:
        int8_counts = _counts(quantized, check)
    verdict = judge(float_counts, int8_counts, job.tolerance_pct)
    decision = {"verdict": "int8" if verdict.ok else "float", "key": job.key, "model": job.out,
                "float_precision": job.float_precision, "check": verdict.as_dict(),
                "calibration_frames": len(calibration), "calibration_s": round(calibrated_s, 1),
                "job_s": round(time.monotonic() - started, 1),
                "decided_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **job.meta}
    atomic_write(Path(job.decision), (json.dumps(decision, indent=2) + "\n").encode())
    return decision


def main(argv: list[str] | None = None) -> int:
    """Entry point of the subprocess: lower its priority first, then run the job in FOLDER."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m engines.export.int8_job FOLDER", file=sys.stderr)
        return 2
    folder = Path(args[0])
    os.nice(max(0, read_job(folder).nice))  # before any engine thread exists: they inherit it
    logging.basicConfig(level=logging.INFO, format="int8 job: %(message)s")
    decision = run_job(folder)
    print(json.dumps({"verdict": decision["verdict"], "reason": decision["check"]["reason"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
