"""Logging is configured in one place (``monitor.logsetup``), once, by the CLI."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.logsetup import configure_logging, set_level

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def root_logger():
    """The root logger, restored afterwards (pytest's own capture handlers included)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_daemon_under_systemd_writes_journald_priorities(root_logger, monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "8:123")
    configure_logging("info", daemon=True)
    handler, = root_logger.handlers
    record = logging.LogRecord("monitor", logging.WARNING, __file__, 1, "two\nlines", None, None)
    assert handler.format(record) == "<4>monitor: two\n<4>lines"
    set_level("error")
    assert root_logger.level == logging.ERROR and root_logger.handlers == [handler]


def test_a_tool_leaves_handlers_someone_else_installed(root_logger):
    mine = logging.NullHandler()
    root_logger.handlers[:] = [mine]
    configure_logging("debug")
    assert root_logger.handlers == [mine]


def test_nothing_else_configures_logging():
    """The daemon's code and the commands only log; the stand-in broker is a program of its own."""
    sources = [p for p in (ROOT / "monitor").rglob("*.py") if p.name != "logsetup.py" and "devtools" not in p.parts]
    setup = ("basicConfig", "handlers[:]", "addHandler(")
    offenders = [str(p) for p in sources if any(s in p.read_text() for s in setup)]
    assert offenders == []
