"""``max_side: auto``: the input size chosen from a camera's (or an image's) own frames, without counts.

CSRNet counts heads at the sizes it learnt.  Where people look larger than that, it reads one
person as several, and the excess shrinks with the picture: the count falls fast as the input is
made smaller.  Where heads have the size the model knows, most of the count survives a small
shrink.  So the frames are counted at three sizes (the frame's long side capped at ``AUTO_CAP``,
then 3/4 and 1/2 of it).  The full size is kept when the 3/4 count keeps at least ``HOLD`` of it,
or when the frames hold a dense crowd (``DENSE`` people per frame or more: shrinking a crowd loses
heads).  Otherwise people look large: 3/4 is taken if the 1/2 count keeps at least ``HOLD_LOW`` of
the 3/4 count, else (the count keeps falling) 1/2.  Counts are summed over the probe frames, so
one empty frame decides nothing; with fewer than ``MIN_PEOPLE`` people per frame, the previous
choice stays (the full size at first).

The thresholds were fitted on cached maps of the training and validation splits only
(ShanghaiTech B train every 8th image, A train every 6th, Mall frames 1-800 every 40th and
801-1600 every 8th), minimising the mean of each set's MAE relative to the full size; among
near-ties the rule that can still reach 1/2 was kept.  The README's accuracy table reports the
test splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .base import Engine
from .preprocess import STRIDE

AUTO = "auto"  # the max_side setting this module decides
AUTO_CAP = 1280  # the largest long side auto uses: larger frames are shrunk to it first
STEPS = (1.0, 0.75, 0.5)
HOLD = 0.78  # 3/4-size count / full-size count at or above which the full size is kept
HOLD_LOW = 0.6  # 1/2-size count / 3/4-size count at or above which 3/4 is kept
DENSE = 100.0  # people per frame at full size from which the full size is always kept
MIN_PEOPLE = 2.0  # people per frame below which the scene cannot be judged
FIRST_INTERVAL_S = 30.0  # the second probe of a camera comes this long after the first; then doubling


@dataclass(frozen=True)
class ScaleChoice:
    """The chosen long side, the sizes probed with the summed count at each, and why."""

    side: int
    counts: dict[int, float]
    reason: str

    def as_dict(self) -> dict:
        """JSON-ready: {"side", "counts": {side: count}, "reason"}."""
        return {"side": self.side, "counts": {str(k): round(v, 2) for k, v in self.counts.items()},
                "reason": self.reason}


def largest_side(sides) -> int:
    """The largest long side these settings (pixels, ``"auto"`` or None for unset) may feed the model:
    auto probes up to ``AUTO_CAP``; what a TensorRT engine must be built for."""
    return max(AUTO_CAP if side == AUTO else int(side) for side in sides if side is not None)


def probe_interval(probes_done: int, recheck_s: float) -> float:
    """Seconds from a camera's ``probes_done``-th probe to the next: 30, 60, 120 ... up to ``recheck_s``."""
    return min(float(recheck_s), FIRST_INTERVAL_S * 2 ** max(probes_done - 1, 0))


def probes_within(seconds: float, recheck_s: float) -> int:
    """How many probes a camera gets in its first ``seconds`` (the first one at once)."""
    probes, at = 0, 0.0
    while at <= seconds:
        probes += 1
        at += probe_interval(probes, recheck_s)
    return probes


def probe_sides(width: int, height: int, cap: int = AUTO_CAP) -> list[int]:
    """The long sides probed for a frame of this size: capped native, then 3/4 and 1/2 of it."""
    top = min(max(width, height), cap)
    sides = [max(64, int(round(top * step / STRIDE)) * STRIDE) for step in STEPS]
    return sorted(set(sides), reverse=True)


def choose(counts: dict[int, float], previous: int | None = None, frames: int = 1, hold: float = HOLD,
           hold_low: float = HOLD_LOW, dense: float = DENSE, min_people: float = MIN_PEOPLE) -> ScaleChoice:
    """The long side for these summed counts per probed side over ``frames`` frames (module notes)."""
    sides = sorted(counts, reverse=True)
    top, per_frame = sides[0], counts[sides[0]] / max(frames, 1)
    if per_frame < min_people:
        side = previous if previous is not None else top
        return ScaleChoice(side, counts, f"too few people seen ({per_frame:.1f} a frame) to judge: keeping {side}")
    if per_frame >= dense:
        return ScaleChoice(top, counts, f"a dense crowd ({per_frame:.0f} a frame): full size")
    if len(sides) < 3:  # a tiny frame: nothing to shrink to
        return ScaleChoice(top, counts, "too small to shrink: full size")
    top, mid, low = sides[:3]
    kept = counts[mid] / counts[top]
    if kept >= hold:
        return ScaleChoice(top, counts, f"the count holds at 3/4 size ({kept:.2f}): full size")
    kept_low = counts[low] / counts[mid] if counts[mid] > 0 else 1.0
    if kept_low >= hold_low:
        return ScaleChoice(mid, counts, f"people look large: the count falls to {kept:.2f} at 3/4, then holds")
    return ScaleChoice(low, counts, f"people look large: the count keeps falling ({kept:.2f}, {kept_low:.2f}) to 1/2")


def probe_maps(engine: Engine, image: np.ndarray, cap: int = AUTO_CAP) -> dict[int, np.ndarray]:
    """The engine's density map of ``image`` at each probed long side."""
    from .preprocess import prepare

    height, width = image.shape[:2]
    return {side: np.asarray(engine.infer(prepare(image, side)[None]))[0]
            for side in probe_sides(width, height, cap)}


def choose_for(engine: Engine, images: Sequence[np.ndarray], cap: int = AUTO_CAP) -> tuple[ScaleChoice, list[dict]]:
    """The side for frames of one camera or video, and each frame's maps per side; frames whose size
    differs from the first one's are left out of the choice (a camera's frames share one size)."""
    maps = [probe_maps(engine, image, cap) for image in images]
    same = [m for m, image in zip(maps, images) if image.shape[:2] == images[0].shape[:2]]
    counts = {side: float(sum(float(m[side].sum()) for m in same)) for side in maps[0]}
    return choose(counts, frames=len(same)), maps
