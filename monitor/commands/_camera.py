"""``-c FILE --camera NAME`` for `count` and `evaluate`: count as the daemon counts that camera.

The model flags of those commands default to None here, so that what a user types can be told
from what is left unset: ``resolve_model_arguments`` fills the unset ones from the camera's config
(the model section, the camera's ``max_side``, ``correction`` and ``count_gain``, as ``calibrate``
wrote them) and then from the built-in defaults.  Flags given on the command line win.
"""

from __future__ import annotations

import argparse
import math

from ..errors import UserError

DEFAULTS = {"model": "csrnet-0.2", "backend": "auto", "precision": "auto", "threads": None, "adapter": "auto",
            "correction": "off", "max_side": "auto", "gain": 1.0, "cache_dir": None}


def add_camera_arguments(parser) -> None:
    """``-c/--config FILE``, ``--camera NAME`` and ``--gain G``."""
    parser.add_argument("--gain", type=gain_argument, default=None, metavar="G",
                        help="multiply the counts by G, as a camera's count_gain does (default 1)")
    parser.add_argument("-c", "--config", metavar="FILE", default=None,
                        help="with --camera: count as the daemon counts that camera (its model, max_side, "
                             "correction and count_gain; flags given here win)")
    parser.add_argument("--camera", metavar="NAME", default=None, help="the camera's name in --config")


def gain_argument(text: str) -> float:
    """A ``--gain`` value: a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: a count gain is a positive number, e.g. 1.25")
    return value


def resolve_model_arguments(args: argparse.Namespace, *, several_sides: bool = False) -> None:
    """Set every model flag left unset: from ``--camera``'s config when given, else the defaults."""
    chosen = _camera_settings(args) if args.camera or args.config else {}
    for key, default in DEFAULTS.items():
        if getattr(args, key, None) is None:
            setattr(args, key, chosen.get(key, default))
    if several_sides and not isinstance(args.max_side, list):
        args.max_side = [args.max_side]


def _camera_settings(args: argparse.Namespace) -> dict:
    """The model flags a camera of the config runs with."""
    from ._common import load_config_or_report

    if not (args.camera and args.config):
        raise UserError("give both -c FILE and --camera NAME to count as a configured camera")
    config = load_config_or_report(args.config)
    if config is None:
        raise UserError(f"{args.config}: fix the problems above first")
    camera = config.cameras.get(args.camera)
    if camera is None:
        raise UserError(f"no camera {args.camera!r} in {args.config} (cameras: {', '.join(config.cameras)})")
    model = config.model
    correction = model.correction if camera.correction is None else camera.correction
    return {"model": model.engine_model(), "backend": model.backend, "precision": model.precision,
            "threads": model.threads, "adapter": model.adapter, "cache_dir": model.cache_dir,
            "correction": "on" if correction else "off", "max_side": camera.max_side or model.max_side,
            "gain": camera.count_gain}
