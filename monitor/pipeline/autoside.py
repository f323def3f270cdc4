"""``max_side: auto`` for one camera: when to probe its input size, and the choice so far.

The first frame is probed at once; later probes come after 30 s, 60 s, 120 s ... up to every
``recheck_s``, and each decides on the counts of the last ``HISTORY`` probes summed
(``engines.scale.choose``), so a choice rests on several moments of the scene, not on one frame.
A new frame size starts over.
"""

from __future__ import annotations

from collections import deque

from engines.scale import ScaleChoice, choose, probe_interval

HISTORY = 5


class AutoSide:
    """Probe schedule and chosen long side of one camera under ``max_side: auto``."""

    def __init__(self, recheck_s: float):
        self.recheck_s = float(recheck_s)
        self.choice: ScaleChoice | None = None
        self.checked_at: float | None = None  # monotonic time of the latest probe
        self._size: tuple[int, int] | None = None
        self._next_at = 0.0
        self._probes = 0
        self._history: deque[dict[int, float]] = deque(maxlen=HISTORY)

    @property
    def side(self) -> int | None:
        """The chosen long side (None before the first probe)."""
        return self.choice.side if self.choice else None

    def due(self, now: float, size: tuple[int, int]) -> bool:
        """Whether a frame of ``size`` (w, h) taken at ``now`` (monotonic) should be probed."""
        if size != self._size:
            self._size, self.choice, self._probes = size, None, 0
            self._history.clear()
        return self.choice is None or now >= self._next_at

    def record(self, counts: dict[int, float], now: float) -> ScaleChoice:
        """Add one probe's counts per side; returns the new choice."""
        if self._history and set(self._history[-1]) != set(counts):
            self._history.clear()
        self._history.append(counts)
        self._probes += 1
        pooled = {side: sum(h[side] for h in self._history) for side in counts}
        self.choice = choose(pooled, self.side, frames=len(self._history))
        self.checked_at = now
        self._next_at = now + probe_interval(self._probes, self.recheck_s)
        return self.choice

