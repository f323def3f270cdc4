"""Every publisher a test made is stopped afterwards, also when the test failed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import CREATED


@pytest.fixture(autouse=True)
def _stop_publishers() -> Iterator[None]:
    yield
    while CREATED:
        CREATED.pop().stop(clean=False, timeout=5)
