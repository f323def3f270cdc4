"""Measure a camera's settings on its counted snapshots and pick one (``crowd-monitor calibrate``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

AUTO_MARGIN = 0.05  # auto is kept unless a fixed size beats it by more than this (it adapts later)


@dataclass(frozen=True)
class Trial:
    """One setting's accuracy on the counted snapshots."""

    max_side: int | str
    mae: float
    bias: float


def candidates(width: int, height: int) -> list[int | str]:
    """auto, then long sides from the frame's own down to a third of it (multiples of 8)."""
    top = max(width, height)
    sides = {max(64, int(round(top * f / 8)) * 8) for f in (1.0, 0.75, 0.6, 0.5, 0.4, 0.33)}
    return ["auto", *sorted(sides, reverse=True)]


def scan(engine, folder: Path, log=print) -> list[Trial]:
    """Each candidate setting's MAE and bias on ``folder``'s counts.csv and images."""
    from engines.datasets import open_dataset, read_image
    from engines.evaluate import evaluate

    dataset = open_dataset(folder, "counts")
    height, width = read_image(dataset.samples[0].path).shape[:2]
    trials = []
    for side in candidates(width, height):
        summary, _ = evaluate(engine, dataset, side, one_camera=True)  # one camera's snapshots
        trials.append(Trial(side, summary.mae, summary.bias))
        log(f"  max_side {side}: MAE {summary.mae:.2f}, bias {summary.bias:+.2f} on {summary.n} snapshots")
    return trials


def measure(model, folder: Path, log=print) -> tuple[list[Trial], Trial]:
    """Open the engine of ``model`` (a ModelConfig), scan ``folder``'s counted snapshots, pick a setting."""
    import engines

    engine = engines.open_engine(model.engine_model(), model.backend, model.precision, threads=model.threads,
                                 adapter=model.adapter, correction=model.correction, cache_dir=model.cache_dir)
    try:
        trials = scan(engine, folder, log)
    finally:
        engine.close()
    return trials, pick(trials)


def pick(trials: list[Trial]) -> Trial:
    """The lowest MAE; auto when no fixed size beats it by more than ``AUTO_MARGIN`` (relative)."""
    best = min(trials, key=lambda t: t.mae)
    auto = next((t for t in trials if t.max_side == "auto"), None)
    if auto is not None and auto.mae <= best.mae * (1 + AUTO_MARGIN) + 1e-9:
        return auto
    return best
