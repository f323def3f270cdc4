"""A one-line progress bar on stderr, drawn only when stderr is a terminal (logs stay clean)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``[#####-----] done/total  note`` redrawn in place, at most ~10 times a second."""

    def __init__(self, total: int, label: str = "", *, stream: TextIO | None = None, enabled: bool | None = None,
                 width: int = 30):
        self.total = max(0, int(total))
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self.width = width
        self._last_draw = 0.0
        self._started = time.monotonic()
        self._drawn = False

    def update(self, done: int, note: str = "") -> None:
        """Show ``done`` of ``total`` (always draws the final step)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        filled = int(self.width * done / self.total) if self.total else self.width
        elapsed = now - self._started
        eta = f" eta {elapsed / done * (self.total - done):.0f}s" if 0 < done < self.total else ""
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total}{eta} {note}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the line so later output starts on a fresh one."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
