"""Logging, configured once per process by the CLI: plain lines for the tools, timestamps (or
journald priorities under systemd) for the daemon."""

from __future__ import annotations

import logging
import os
import sys

TOOL_FORMAT = "%(levelname)s %(name)s: %(message)s"
DAEMON_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, *, daemon: bool = False) -> None:
    """Route log records to stderr at ``level`` (debug, info, warning, error).

    A tool leaves logging alone when the root logger already has handlers (a program or test that
    embeds the CLI routes records itself); the daemon owns its process and always installs its own.
    """
    root = logging.getLogger()
    if root.handlers and not daemon:
        return
    root.setLevel(level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(daemon))
    root.handlers[:] = [handler]


def set_level(level: str) -> None:
    """Change the level of every log record, e.g. to the config's ``log_level`` once it is read."""
    logging.getLogger().setLevel(level.upper())


def _formatter(daemon: bool) -> logging.Formatter:
    """journald priorities under systemd, timestamps for the daemon elsewhere, plain lines for tools."""
    if not daemon:
        return logging.Formatter(TOOL_FORMAT)
    if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
        return _JournalFormatter("%(name)s: %(message)s")  # journald adds its own timestamps
    return logging.Formatter(DAEMON_FORMAT)


class _JournalFormatter(logging.Formatter):
    """Prefix each line with its syslog priority (``<3>`` error ... ``<7>`` debug) for journald."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        """Prefix the line with its syslog priority for journald."""
        prefix = f"<{self.PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())
