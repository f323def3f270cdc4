"""Timing an engine on frames and comparing its density maps with a reference run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Run:
    """One engine on one set of frames: per-call latencies and the density maps."""

    name: str
    size: str
    batch: int
    latencies_ms: list[float] = field(default_factory=list)
    maps: list[np.ndarray] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # process CPU time per call: robust to other load

    @property
    def median_ms(self) -> float:
        """Median latency of one call (one batch)."""
        return float(np.median(self.latencies_ms))

    @property
    def fps(self) -> float:
        """Frames per second at the median latency."""
        return 1000.0 * self.batch / self.median_ms

    @property
    def counts(self) -> np.ndarray:
        """Head count of each frame."""
        return np.array([float(m.sum()) for m in self.maps])


def time_engine(engine, inputs: list[np.ndarray], name: str, size: str, batch: int = 1, warmup: int = 1) -> Run:
    """Run ``engine`` on ``inputs`` (3 x H x W each) in batches of ``batch``, after ``warmup`` untimed calls."""
    batches = [np.stack(inputs[i:i + batch]) for i in range(0, len(inputs) - batch + 1, batch)]
    for item in batches[:1] * warmup:
        engine.infer(item)
    run = Run(name, size, batch)
    for item in batches:
        _timed(run, engine, item)
    return run


def time_interleaved(engines: dict, inputs: list[np.ndarray], size: str, warmup: int = 1) -> dict[str, Run]:
    """Every engine on every frame, frame by frame in turn, so that load changes hit all engines alike."""
    for engine in engines.values():
        for _ in range(warmup):
            engine.infer(inputs[0][None])
    runs = {name: Run(name, size, 1) for name in engines}
    for frame in inputs:
        for name, engine in engines.items():
            _timed(runs[name], engine, frame[None])
    return runs


def _timed(run: Run, engine, batch: np.ndarray) -> None:
    """One engine call, recording wall and CPU time and the maps."""
    cpu, start = time.process_time(), time.perf_counter()
    out = engine.infer(batch)
    run.latencies_ms.append((time.perf_counter() - start) * 1000.0)
    run.cpu_ms.append((time.process_time() - cpu) * 1000.0)
    run.maps.extend(out)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two density maps (cell by cell)."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def compare(run: Run, reference: Run) -> dict:
    """Count differences (percent of the reference) and map correlations against ``reference``."""
    ours, theirs = run.counts, reference.counts[:len(run.counts)]
    rel = np.abs(ours - theirs) / np.maximum(theirs, 1e-6) * 100.0
    corr = [c for c in (correlation(a, b) for a, b in zip(run.maps, reference.maps)) if not np.isnan(c)]
    return {
        "count_diff_pct_mean": round(float(rel.mean()), 3),
        "count_diff_pct_max": round(float(rel.max()), 3),
        "total_count_diff_pct": round(float((ours.sum() - theirs.sum()) / theirs.sum() * 100.0), 3),
        "map_correlation_min": round(float(min(corr)), 5) if corr else None,  # None: constant maps
        "map_correlation_mean": round(float(np.mean(corr)), 5) if corr else None,
    }


def accuracy(counts: np.ndarray, truth: list[int] | None) -> dict:
    """MAE and bias of counts against ground truth (empty when there is none)."""
    if not truth:
        return {}
    err = np.asarray(counts, dtype=float) - np.asarray(truth[:len(counts)], dtype=float)
    return {"mae": round(float(np.abs(err).mean()), 3), "bias": round(float(err.mean()), 3)}


def summary(run: Run, reference: Run | None, truth: list[int] | None = None) -> dict:
    """The report row of one run."""
    row = {"engine": run.name, "size": run.size, "batch": run.batch, "frames": len(run.maps),
           "median_ms": round(run.median_ms, 1), "p90_ms": round(float(np.percentile(run.latencies_ms, 90)), 1),
           "fps": round(run.fps, 3), "count_mean": round(float(run.counts.mean()), 3)}
    if run.cpu_ms:
        row["cpu_ms"] = round(float(np.median(run.cpu_ms)), 1)
    if reference is not None:
        row["speedup_vs_reference"] = round(reference.median_ms / reference.batch / (run.median_ms / run.batch), 2)
        if run.cpu_ms and reference.cpu_ms:  # CPU time per frame: the ratio a quiet machine would show
            row["cpu_speedup_vs_reference"] = round(float(np.median(reference.cpu_ms)) / reference.batch
                                                    / (float(np.median(run.cpu_ms)) / run.batch), 2)
        row.update(compare(run, reference))
    row.update(accuracy(run.counts, truth))
    return row
