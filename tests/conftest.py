"""Shared fixtures; real-server fixtures live in tests/support and are registered here."""

import pytest

pytest_plugins: list[str] = ["tests.support.broker", "tests.support.rtsp", "tests.support.streams",
                             "tests.support.triton"]


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory, monkeypatch):
    """Daemons started by tests (history is on by default) keep their state in a temporary folder,
    never in the user's ~/.local/state."""
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
