"""Polling for tests that wait on real processes."""

from __future__ import annotations

import subprocess
import time

import pytest


def wait_until(condition, timeout: float, what: str, daemon: subprocess.Popen | None = None):
    """The first true value of ``condition()`` within ``timeout`` s, else fail saying ``what``
    (at once, if ``daemon`` is given and exits meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert daemon is None or daemon.poll() is None, f"the daemon exited while waiting for {what}"
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
