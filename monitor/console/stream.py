"""Server-sent events (``/api/events``): the live view pushed to each browser when it changes.

Each stream holds one of the HTTP server's handler threads, so at most ``MAX_STREAMS`` run at
once; more get a 503 and the page falls back to polling ``/api/live``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

MAX_STREAMS = 8  # of the HTTP server's 32 handler threads
CHECK_S = 0.5  # how often a stream looks for a change
KEEPALIVE_S = 10.0  # a comment line this often keeps proxies (and the server's idle timeout) from closing it


class EventStreams:
    """Opens bounded event streams of ``view()``; ``close()`` ends them all (daemon shutdown)."""

    def __init__(self, view: Callable[[], dict[str, Any]], max_streams: int = MAX_STREAMS,
                 check_s: float = CHECK_S):
        self._view, self._check_s = view, check_s
        self._slots = threading.BoundedSemaphore(max_streams)
        self._closing = threading.Event()

    def open(self) -> "Subscription | None":
        """A new stream, or None when MAX_STREAMS are already open."""
        if self._closing.is_set() or not self._slots.acquire(blocking=False):
            return None
        return Subscription(self._events(), self._slots.release)

    def close(self) -> None:
        """End every stream within CHECK_S."""
        self._closing.set()

    def _events(self) -> Iterator[bytes]:
        yield b"retry: 2000\n\n"  # the browser reconnects after 2 s if the stream breaks
        last, sent_at = None, time.monotonic()
        while not self._closing.is_set():
            view = self._view()
            key = json.dumps({k: v for k, v in view.items() if k != "ts"}, sort_keys=True, default=str)
            if key != last:
                yield b"event: live\ndata: " + json.dumps(view, allow_nan=False).encode() + b"\n\n"
                last, sent_at = key, time.monotonic()
            elif time.monotonic() - sent_at >= KEEPALIVE_S:
                yield b": keep-alive\n\n"
                sent_at = time.monotonic()
            self._closing.wait(self._check_s)


class Subscription:
    """One open stream: iterate for its chunks; ``close()`` frees its slot (also if never iterated)."""

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]):
        self._chunks, self._release = chunks, release
        self._lock = threading.Lock()
        self._open = True

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        """Stop the stream and free its slot (once)."""
        self._chunks.close()  # type: ignore[attr-defined]
        with self._lock:
            if self._open:
                self._open = False
                self._release()
