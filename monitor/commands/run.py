"""Run the monitoring daemon: cameras -> engine -> zones -> MQTT, until SIGTERM (SIGHUP reloads the YAML)."""

from __future__ import annotations

import argparse
import logging
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``run``."""
    parser.add_argument("-c", "--config", required=True, help="YAML config file")


def run(args: argparse.Namespace) -> int:
    """Validate the config, then run the daemon in the foreground."""
    from ..daemon import Daemon
    from ._common import load_config_or_report

    config = load_config_or_report(args.config)
    if config is None:
        return 2
    configure_logging(config.log_level if not args.verbose else "debug")
    daemon = Daemon(args.config, config)
    daemon.install_signal_handlers()
    return daemon.run()


def configure_logging(level: str) -> None:
    """journald-friendly lines: ``<N>`` syslog priority prefixes when under systemd, plain otherwise."""
    import os

    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]


class _JournalFormatter(logging.Formatter):
    """Prefix each line with its syslog priority (``<3>`` error ... ``<7>`` debug) for journald."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        """Prefix the line with its syslog priority for journald."""
        prefix = f"<{self.PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())
