"""Bounded outbox of QoS 1 alert events: kept while the broker is away, oldest dropped first.

Events wait in ``pending`` until the client is connected; at most ``max_inflight`` are handed to
the MQTT client at a time and stay ``inflight`` until the broker's PUBACK.  When the connection is
lost, unacknowledged events go back to the front of the queue, in order, and are sent again after
the reconnect (at least once: an event whose PUBACK was lost may arrive twice; its ``id`` tells).
Memory is bounded by ``capacity + max_inflight`` events.  Not thread-safe by itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    """One event ready for the wire."""

    id: str
    payload: bytes


class Outbox:
    """FIFO of events with drop-oldest overflow, in-flight tracking by message id, and counters."""

    def __init__(self, capacity: int, max_inflight: int = 20):
        if capacity < 1 or max_inflight < 1:
            raise ValueError("capacity and max_inflight must be at least 1")
        self.capacity = capacity
        self.max_inflight = max_inflight
        self._pending: deque[Outgoing] = deque()
        self._inflight: dict[int, Outgoing] = {}  # insertion order = send order
        self.dropped = 0
        self.dropped_ids: deque[str] = deque(maxlen=100)  # the latest dropped, for logs and tests
        self.delivered = 0
        self.rejected = 0  # PUBACK with an error reason code (MQTT 5)

    def put(self, item: Outgoing) -> None:
        """Queue ``item``; when full, the oldest waiting event is dropped and counted."""
        self._pending.append(item)
        self._trim()

    def _trim(self) -> None:
        while len(self._pending) > self.capacity:
            self.dropped += 1
            self.dropped_ids.append(self._pending.popleft().id)

    def take(self) -> list[Outgoing]:
        """The oldest waiting events that may go in flight now, removed from the queue."""
        room = self.max_inflight - len(self._inflight)
        batch: list[Outgoing] = []
        while self._pending and len(batch) < room:
            batch.append(self._pending.popleft())
        return batch

    def sent(self, mid: int, item: Outgoing) -> None:
        """``item`` was handed to the client as message ``mid``."""
        self._inflight[mid] = item

    def unsend(self, items: list[Outgoing]) -> None:
        """The client refused ``items`` (taken, not sent): back to the front, in order."""
        self._pending.extendleft(reversed(items))
        self._trim()

    def resize(self, capacity: int) -> None:
        """A new capacity (reload); the oldest waiting events are dropped if it shrank."""
        self.capacity = max(1, capacity)
        self._trim()

    def acked(self, mid: int, ok: bool = True) -> Outgoing | None:
        """The broker acknowledged message ``mid``; None when it is not an event of ours."""
        item = self._inflight.pop(mid, None)
        if item is not None:
            if ok:
                self.delivered += 1
            else:
                self.rejected += 1
        return item

    def requeue_inflight(self) -> int:
        """Connection lost: unacknowledged events go back to the front, in send order."""
        items = list(self._inflight.values())
        self._inflight.clear()
        self._pending.extendleft(reversed(items))
        self._trim()
        return len(items)

    def drop_all(self) -> int:
        """Give up every waiting and in-flight event (final stop without a broker); counted as dropped."""
        items = [*self._inflight.values(), *self._pending]
        self._inflight.clear()
        self._pending.clear()
        self.dropped += len(items)
        self.dropped_ids.extend(item.id for item in items)
        return len(items)

    @property
    def waiting(self) -> int:
        """Events not yet handed to the client."""
        return len(self._pending)

    @property
    def inflight(self) -> int:
        """Events handed to the client and not yet acknowledged."""
        return len(self._inflight)

    def __len__(self) -> int:
        return len(self._pending) + len(self._inflight)
