"""Fixtures for the mini broker tests: a broker per test and clients closed at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from monitor.devtools.minibroker import MiniBroker

from .mqtt_helpers import Client, RawClient


@pytest.fixture
def broker() -> Iterator[MiniBroker]:
    """A mini broker on a free loopback port, in a thread of the test process."""
    with MiniBroker() as running:
        yield running


@pytest.fixture
def client(broker: MiniBroker) -> Iterator[Callable[..., Client]]:
    """Make connected paho clients (``client(protocol=V5, ...)``); closed at teardown."""
    made: list[Client] = []

    def make(**options: object) -> Client:
        made.append(Client(broker.port, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for one in made:
        try:
            one.close()
        except Exception:  # already dropped by the test
            pass


@pytest.fixture
def raw(broker: MiniBroker) -> Iterator[Callable[[], RawClient]]:
    """Make raw-socket connections; closed at teardown."""
    made: list[RawClient] = []

    def make() -> RawClient:
        made.append(RawClient(broker.port))
        return made[-1]

    yield make
    for one in made:
        one.close()
