"""Counting frames as the daemon does: pictures with nothing to see read zero, ``max_side`` may be auto.

``count`` and ``evaluate`` go through here so that their numbers are the daemon's numbers: a frame
that ``engines.picture`` finds blind (uniform or noise) counts 0 without running the model, and
``max_side="auto"`` is chosen by ``engines.scale`` per image, or once for the frames of one camera
(a video, the Mall dataset, calibration snapshots) from up to ``PROBE_FRAMES`` of them, as the
daemon chooses once per camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .base import Engine
from .picture import blind_reason
from .preprocess import prepare
from .scale import AUTO, ScaleChoice, choose_for

PROBE_FRAMES = 8


@dataclass(frozen=True, eq=False)
class FrameCount:
    """One frame's density map and count, the long side it was fed at, or why it was blind."""

    density: np.ndarray | None  # None when blind
    side: int | None = None
    blind: str | None = None

    @property
    def count(self) -> float:
        """Head count (0 for a blind frame; never below 0, see ``people``)."""
        return 0.0 if self.density is None else people(self.density.sum())


def people(total: float) -> float:
    """A sum of density as a count of people.  CSRNet's output layer has no ReLU, so background cells
    can hold slightly negative density: a zone over an empty part of a street read -0.13 (4x4 zones of
    vtest.avi at the default); fewer than no people means nobody."""
    return max(0.0, float(total))


def density_maps(engine: Engine, images: Sequence[np.ndarray], max_side: int) -> list[np.ndarray]:
    """The engine's density map of each image at ``max_side`` (batched by size, up to ``engine.max_batch``)."""
    prepared = [prepare(image, max_side) for image in images]
    maps: list[np.ndarray | None] = [None] * len(prepared)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for index, tensor in enumerate(prepared):
        by_size.setdefault(tensor.shape, []).append(index)
    limit = max(1, engine.max_batch)
    for indices in by_size.values():
        for start in range(0, len(indices), limit):
            chunk = indices[start:start + limit]
            out = engine.infer(np.stack([prepared[i] for i in chunk]))
            for i, density in zip(chunk, out):
                maps[i] = np.asarray(density, dtype=np.float32)
    return maps  # type: ignore[return-value]


def count_images(engine: Engine, images: Sequence[np.ndarray], max_side: int | str) -> list[FrameCount]:
    """Each image on its own: blind ones read 0; under auto each gets its own side."""
    blind = [blind_reason(image) for image in images]
    seen = [i for i, reason in enumerate(blind) if reason is None]
    out = [FrameCount(None, None, reason) for reason in blind]
    if max_side == AUTO:
        for i in seen:
            choice, maps = choose_for(engine, [images[i]])
            out[i] = FrameCount(maps[0][choice.side], choice.side)
        return out
    for i, density in zip(seen, density_maps(engine, [images[i] for i in seen], int(max_side))):
        out[i] = FrameCount(density, int(max_side))
    return out


def video_side(engine: Engine, frames: Sequence[np.ndarray]) -> ScaleChoice | None:
    """The auto side for frames of one camera or video, from up to ``PROBE_FRAMES`` non-blind frames spread
    over them (None when every frame is blind)."""
    seen = [frame for frame in frames if blind_reason(frame) is None]
    if not seen:
        return None
    picks = np.linspace(0, len(seen) - 1, min(PROBE_FRAMES, len(seen))).round().astype(int)
    return choose_for(engine, [seen[i] for i in sorted(set(picks))])[0]
