"""The latest-frame slot between a camera reader and the inference worker."""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

from ..types import Frame


class LatestFrameSlot:
    """Bounded frame buffer: ``put`` never blocks and drops the oldest frame when full.

    Inference therefore always works on the newest frames and a slow engine can never build a
    backlog.  ``drops`` counts frames that were replaced before anyone took them.
    """

    def __init__(self, capacity: int = 1):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._frames: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._listener: Callable[[], None] | None = None
        self.drops = 0
        self.puts = 0
        self.taken = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)

    def set_listener(self, listener: Callable[[], None] | None) -> None:
        """Call ``listener()`` after every ``put`` (the worker's wake-up; must be cheap)."""
        with self._cond:
            self._listener = listener

    def put(self, frame: Frame) -> None:
        """Store a frame, dropping the oldest one when the slot is full."""
        with self._cond:
            if len(self._frames) >= self.capacity:
                self._frames.popleft()
                self.drops += 1
            self._frames.append(frame)
            self.puts += 1
            listener = self._listener
            self._cond.notify_all()
        if listener is not None:
            listener()

    def take(self) -> Frame | None:
        """The oldest stored frame, removed from the slot, or None when empty."""
        with self._cond:
            if not self._frames:
                return None
            self.taken += 1
            frame = self._frames.popleft()
            self._cond.notify_all()
            return frame

    def take_wait(self, timeout: float | None = None) -> Frame | None:
        """Like ``take`` but waits up to ``timeout`` seconds for a frame."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._frames, timeout):
                return None
            self.taken += 1
            frame = self._frames.popleft()
            self._cond.notify_all()
            return frame

    def wait_for_room(self, timeout: float | None = None) -> bool:
        """Wait until a ``put`` would not drop (replay sources that must not lose frames)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._frames) < self.capacity, timeout)

    def clear(self) -> int:
        """Remove every stored frame (counted as drops); returns how many."""
        with self._cond:
            n = len(self._frames)
            self._frames.clear()
            self.drops += n
            self._cond.notify_all()
            return n
