"""Shared fixtures; real-server fixtures live in tests/support and are registered here."""

pytest_plugins: list[str] = ["tests.support.broker", "tests.support.rtsp", "tests.support.streams"]
