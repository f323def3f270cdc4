"""Capped exponential backoff with jitter between reconnect attempts (cameras and the MQTT broker)."""

from __future__ import annotations

import random


class Backoff:
    """Delays initial, 2x, 4x ... up to ``maximum``, each scaled by a random factor in [1-j, 1]."""

    def __init__(self, initial: float, maximum: float, jitter: float = 0.3, rng: random.Random | None = None):
        self.initial = float(initial)
        self.maximum = max(float(maximum), self.initial)
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._attempt = 0

    @property
    def attempts(self) -> int:
        """Failed attempts since the last success."""
        return self._attempt

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; grows until the cap."""
        base = min(self.maximum, self.initial * (2.0 ** min(self._attempt, 30)))
        self._attempt += 1
        # Jitter downwards only: the cap stays a cap, and clients that failed together (a switch
        # reboot, a broker restart) spread their reconnects instead of stampeding the server.
        return base * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """Back to the initial delay (after a successful connection)."""
        self._attempt = 0
