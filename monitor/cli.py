"""The ``crowd-monitor`` command line: one module per verb under ``monitor.commands``.

Command modules import only the standard library at module level, so ``--help`` and light verbs
start fast; each does its heavy imports inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import UserError
from .logsetup import configure_logging

# verb -> (module under monitor.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run the monitoring daemon"),
    "check-config": ("check_config", "validate a YAML config file"),
    "count": ("count", "count people in images or video frames"),
    "evaluate": ("evaluate", "accuracy (MAE/RMSE) on an annotated dataset"),
    "finetune": ("finetune", "adapt the model to one venue from a few annotated frames (CPU)"),
    "calibrate": ("calibrate", "snapshots of a camera -> with their counts, the best settings written back"),
    "train": ("train", "full CSRNet training (GPU)"),
    "export": ("export", "compile a deployable engine (ONNX, OpenVINO, TensorRT)"),
    "serve": ("serve", "serve the model to other machines over Triton (HTTP/gRPC, dynamic batching)"),
    "bench": ("bench", "throughput and latency per backend, JSON out"),
    "demo": ("demo", "the whole chain on this machine, no camera or broker needed"),
    "weights": ("weights", "locate and verify the default CSRNet weights"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb's subparser."""
    parser = argparse.ArgumentParser(
        prog="crowd-monitor", description="Real-time crowd monitoring: cameras -> CSRNet density maps -> zone alerts over MQTT.")
    parser.add_argument("--version", action="version", version=f"crowd-monitor {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for verb, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"monitor.commands.{module_name}")
        sub = verbs.add_parser(verb, help=help_text, description=module.__doc__)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    configure_logging("debug" if args.verbose else "info", daemon=args.command == "run")
    from engines.errors import EngineError

    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"crowd-monitor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except EngineError as exc:
        print(f"crowd-monitor: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
