"""Validate a config file: exit 0 with a summary, or exit 2 with ``FILE:LINE: key.path: message`` lines."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``check-config``."""
    parser.add_argument("file", help="YAML config file")


def run(args: argparse.Namespace) -> int:
    """Print the verdict on one config file."""
    from ._common import load_config_or_report

    config = load_config_or_report(args.file)
    if config is None:
        return 2
    zones = sum(len(c.zones) for c in config.cameras.values())
    print(f"{args.file}: OK: {len(config.cameras)} camera(s), {zones} zone(s), "
          f"{len(config.site_zones)} site zone(s); MQTT {config.mqtt.host}:{config.mqtt.port} "
          f"prefix '{config.mqtt.topic_prefix}'; model {config.model.weights} on {config.model.backend}")
    return 0
