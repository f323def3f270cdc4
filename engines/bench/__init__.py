"""``crowd-monitor bench``: latency, frames/s and count drift of every available engine, as one JSON report.

Every engine runs on the same real frames (Mall validation frames 801-1600 when the dataset is
present, else generated frames), frame by frame in turn, at each size; torch eager fp32, measured
in the same run, is the reference for speed ratios and count differences.  INT8 is calibrated on other frames (1-800).
Beyond precision, the report measures batching, ROI windows and the resolution policy (``max_side``)
of the fastest engine whose counts stay within 1% of the reference.  ``default_path`` puts what
``precision: auto`` runs on this CPU side by side: the float engine a daemon starts on, the INT8
engine it switches to once checked, and the ratio.  With ``server`` (a served model URL) it also
measures that server's frames/s with several simulated daemons at once (``server``).
"""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EngineError
from . import frames as framesrc
from .engines import candidates, open_candidate
from .autoscale import auto_side_row, correction_row
from .default_path import default_path_rows
from .measure import summary, time_interleaved
from .policy import batching_rows, resolution_rows, window_rows

log = logging.getLogger("engines.bench")
PARITY_PCT = 1.0  # "within 1% of torch fp32": the bar for the best path


@dataclass
class BenchOptions:
    """What to measure; see ``crowd-monitor bench --help``."""

    model: str = "csrnet-0.2"
    sizes: list[tuple[int, int]] = field(default_factory=lambda: [(640, 480), (1280, 720)])
    frames: int = 10
    engines: list[str] | None = None  # "backend:precision"; None: every one available here
    threads: int | None = None
    warmup: int = 1
    data: Path | None = None  # the Mall folder; None: ../shared/data/mall when present
    calib_frames: int = 50
    batch: int = 4
    resolution: bool = True
    cache_dir: str | None = None
    calibration_s: float | None = None  # set when an INT8 model was calibrated during this run
    server: str | None = None  # a served model (grpc://HOST:8001/csrnet) whose frames/s to measure
    server_clients: tuple[int, ...] = (1, 2, 4)  # simulated daemons sending to it at once


def _frames(options: BenchOptions) -> tuple[dict, list[Path] | None, list[int] | None]:
    """(description, frame paths or None when generated, calibration paths)."""
    root = options.data or framesrc.default_data_dir("mall")
    if root is None or not (root / "frames").is_dir():
        return {"source": "generated frames (no Mall dataset found)"}, None, None
    numbers = framesrc.spread(801, framesrc.MALL_FRAMES, options.frames)
    calib = framesrc.spread(1, 800, options.calib_frames)
    desc = {"source": f"Mall {root}: frames {numbers[0]}..{numbers[-1]} ({len(numbers)} spread over 801-1600)",
            "calibration": f"Mall frames 1..800 ({len(calib)} spread), disjoint from the timed frames",
            "note": "Mall is 640x480; other sizes are the same frames resized"}
    return desc, framesrc.mall_paths(root, numbers), framesrc.mall_paths(root, calib)


def _machine(options: BenchOptions) -> dict:
    """CPU, cores, load and library versions, so that figures can be compared honestly."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": options.threads or os.cpu_count(),
            "load_avg_start": [round(v, 2) for v in os.getloadavg()], "python": platform.python_version(),
            "versions": _versions()}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _versions() -> dict:
    from importlib import metadata

    found = {}
    for package in ("torch", "openvino", "onnxruntime", "nncf", "tensorrt", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def _best(rows: list[dict], size: str) -> dict | None:
    """Fastest row at ``size`` whose counts stay within 1% of the reference (mean and total)."""
    ok = [r for r in rows if r["size"] == size and r.get("count_diff_pct_mean", 0) <= PARITY_PCT
          and abs(r.get("total_count_diff_pct", 0)) <= PARITY_PCT]
    return min(ok, key=lambda r: r["median_ms"]) if ok else None


def run_bench(options: BenchOptions) -> dict:
    """Measure every engine and return the report (a JSON-serialisable dict)."""
    from ..preprocess import prepare

    started = time.monotonic()
    report: dict = {"report": "crowd-monitor bench", "model": options.model, "machine": _machine(options)}
    desc, paths, calib = _frames(options)
    report["frames"] = desc
    wanted = candidates(options.engines)
    report["skipped"] = {name: why for name, why in wanted.items() if why}
    engines = {}
    for name in (n for n, why in wanted.items() if not why):
        try:
            engines[name] = open_candidate(name, options, calib)
        except EngineError as exc:
            report["skipped"][name] = str(exc)
    if not engines:
        raise EngineError(f"no engine could be opened: {report['skipped']}")
    reference = next(iter(engines)) if "torch:fp32" not in engines else "torch:fp32"
    report["reference"] = reference
    rows, runs, first_inputs, inputs_by_size = [], {}, None, {}
    try:
        for width, height in options.sizes:
            size = f"{width}x{height}"
            images = (framesrc.load_frames(paths, (width, height)) if paths
                      else framesrc.generated_frames(options.frames, (width, height)))
            t0 = time.perf_counter()
            inputs = [prepare(image, max(width, height)) for image in images]
            preprocess_ms = (time.perf_counter() - t0) * 1000.0 / len(images)
            first_inputs = first_inputs or inputs
            inputs_by_size[size] = inputs
            timed = time_interleaved(engines, inputs, size, warmup=options.warmup)
            for name, engine in engines.items():
                run = runs[(name, size)] = timed[name]
                row = summary(run, timed[reference])
                row["engine_name"], row["preprocess_ms"] = engine.name, round(preprocess_ms, 1)
                row["end_to_end_ms"] = round(row["median_ms"] + preprocess_ms, 1)
                rows.append(row)
                log.info("bench %s %s: %.0f ms", name, size, run.median_ms)
        report["results"] = rows
        report["best"] = {f"{w}x{h}": _best(rows, f"{w}x{h}") for w, h in options.sizes}
        report["default_path"] = default_path_rows(engines, runs, inputs_by_size, options.batch)
        first = f"{options.sizes[0][0]}x{options.sizes[0][1]}"
        if options.server:
            from .server import server_rows

            report["server"] = {"url": options.server, "rows": server_rows(
                options.server, first_inputs, first, runs[(reference, first)], options.server_clients)}
        best = report["best"].get(first)
        if best and options.batch > 1:
            report["batching"] = batching_rows(engines[best["engine"]], best["engine"], first_inputs,
                                               runs[(best["engine"], first)], options.batch)
        if best:
            report["roi_windows"] = window_rows(engines[best["engine"]], best["engine"], first_inputs,
                                                runs[(best["engine"], first)], runs[(reference, first)])
        if best and options.resolution:
            report["resolution"] = resolution_rows(engines[best["engine"]], best["engine"], options)
        if best:
            images = (framesrc.load_frames(paths, options.sizes[0]) if paths
                      else framesrc.generated_frames(options.frames, options.sizes[0]))
            report["max_side_auto"] = auto_side_row(engines[best["engine"]], best["engine"], images)
            report["map_correction"] = correction_row(engines[best["engine"]], images,
                                                      report["max_side_auto"]["chosen_side"])
    finally:
        for engine in engines.values():
            engine.close()
    report["calibration_s"] = options.calibration_s
    report["machine"]["load_avg_end"] = [round(v, 2) for v in os.getloadavg()]
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    return report
