"""Run the monitoring daemon: cameras -> engine -> zones -> MQTT, until SIGTERM (SIGHUP reloads the YAML)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``run``."""
    parser.add_argument("-c", "--config", required=True, help="YAML config file")


def run(args: argparse.Namespace) -> int:
    """Validate the config, then run the daemon in the foreground."""
    from ..daemon import Daemon
    from ..logsetup import set_level
    from ._common import load_config_or_report

    config = load_config_or_report(args.config)
    if config is None:
        return 2
    if not args.verbose:  # the CLI set up logging for the daemon; -v (debug) wins over the config
        set_level(config.log_level)
    daemon = Daemon(args.config, config)
    daemon.install_signal_handlers()
    code = daemon.run()
    if daemon.reloader.busy:
        end_now(code)
    return code


def end_now(code: int) -> None:
    """Exit at once, everything flushed, without finalising the interpreter.

    A reload abandoned at shutdown is still being read in a daemon thread.  Finalising under it
    would end that thread where it next takes the GIL, possibly inside a C++ extension (OpenCV's
    wrappers catch everything), and the process would abort ("FATAL: exception not rethrown")
    after a clean stop.  The daemon has already published, committed and closed what it keeps.
    """
    import logging
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
