"""The last retained payload per topic: what is republished on reconnect and at each heartbeat.

Not thread-safe by itself: the publisher guards it with its lock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Retained:
    """One retained message as last published (or about to be)."""

    topic: str
    payload: bytes
    qos: int
    expires: bool  # carries the MQTT 5 message expiry (state), or not (availability, discovery)
    ts: float | None = None  # measurement time of state payloads, to stop refreshing stale data
    signature: bytes = b""  # payload without its timestamp: a change is a new signature
    key: tuple[str, str, str] = ("", "", "")  # (kind, camera, zone): what it is, whatever the prefix


class RetainedState:
    """Current retained messages, the topics waiting to be (re)published, and pending clears."""

    def __init__(self) -> None:
        self._records: dict[str, Retained] = {}
        self._dirty: set[str] = set()
        self._clears: dict[str, int] = {}  # topic -> QoS of the empty retained message that clears it

    def set(self, record: Retained) -> bool:
        """Store ``record``; it is queued for publishing only when its signature changed."""
        old = self._records.get(record.topic)
        self._records[record.topic] = record
        self._clears.pop(record.topic, None)
        if old is not None and old.signature == record.signature and record.topic not in self._dirty:
            return False
        self._dirty.add(record.topic)
        return True

    def get(self, topic: str) -> Retained | None:
        """The stored record of ``topic``."""
        return self._records.get(topic)

    def clear(self, topic: str, qos: int = 1) -> None:
        """Forget ``topic`` and queue an empty retained message that deletes it on the broker."""
        self._records.pop(topic, None)
        self._dirty.discard(topic)
        self._clears[topic] = qos

    def records(self) -> list[Retained]:
        """Every stored record."""
        return list(self._records.values())

    def forget(self, topic: str) -> None:
        """Drop ``topic`` without deleting it on the broker (its name changed)."""
        self._records.pop(topic, None)
        self._dirty.discard(topic)

    def mark_all(self) -> None:
        """Queue every stored record again (reconnect, heartbeat)."""
        self._dirty = set(self._records)

    def topics(self) -> set[str]:
        """Topics that have a stored record."""
        return set(self._records)

    def stale(self, now: float, max_age_s: float) -> list[str]:
        """Topics whose measurement is older than ``max_age_s``: they must not be refreshed."""
        return [r.topic for r in self._records.values() if r.ts is not None and now - r.ts > max_age_s]

    def take(self) -> tuple[list[tuple[str, int]], list[Retained]]:
        """The pending clears and the records to publish, removing them from the queue."""
        clears = list(self._clears.items())
        records = [self._records[t] for t in sorted(self._dirty) if t in self._records]
        self._clears.clear()
        self._dirty.clear()
        return clears, records

    def requeue(self, clears: list[tuple[str, int]], records: list[Retained]) -> None:
        """Put back what could not be handed to the client (still the latest unless replaced since)."""
        for topic, qos in clears:
            if topic not in self._records:
                self._clears.setdefault(topic, qos)
        for record in records:
            if self._records.get(record.topic) is record:
                self._dirty.add(record.topic)

    def pending(self) -> int:
        """How many topics wait to be published or cleared."""
        return len(self._dirty) + len(self._clears)
