"""Topics the daemon reads on its own connection (other daemons' state), handed to whoever asked.

The publisher does not interpret them: a ``Subscription`` says which topics (asked again after every
reload) and where their messages go.  Its ``deliver`` runs on paho's network thread, so it must
only store the message and return.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt

log = logging.getLogger("monitor.publish")


@dataclass(frozen=True)
class Subscription:
    """Which topics to follow, and the callback their messages go to (topic, payload)."""

    topics: Callable[[], frozenset[str]]
    deliver: Callable[[str, bytes], None]


class Follower:
    """The subscriptions of one connection, kept equal to what the ``Subscription`` wants."""

    def __init__(self, subscription: Subscription | None) -> None:
        self.subscription = subscription
        self.subscribed: frozenset[str] = frozenset()

    def connected(self) -> None:
        """A new connection starts without subscriptions (clean start)."""
        self.subscribed = frozenset()

    def follow(self, client: mqtt.Client) -> None:
        """Subscribe to new topics and unsubscribe from dropped ones (not under the publisher's lock)."""
        if self.subscription is None:
            return
        wanted = self.subscription.topics()
        if wanted == self.subscribed:
            return
        added, dropped = sorted(wanted - self.subscribed), sorted(self.subscribed - wanted)
        self.subscribed = wanted
        if added:
            client.subscribe([(topic, 1) for topic in added])
        if dropped:
            client.unsubscribe(dropped)
        log.info("following %d topic(s) of other daemons", len(wanted))

    def deliver(self, topic: str, payload: bytes) -> None:
        """Hand over a message (paho's thread); the receiver ignores topics it no longer wants."""
        if self.subscription is not None:
            self.subscription.deliver(topic, payload)
