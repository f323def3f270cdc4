"""Counting accuracy on an annotated dataset: MAE, RMSE and bias of the whole-frame counts.

Prints one summary line (or, with --json, exactly one JSON line {"n","mae","rmse","bias","max_side",
"sides","correction","count_gain","camera"} on stdout); --csv FILE writes one row per image.  A
progress bar is drawn on stderr when it is a terminal.
Example: crowd-monitor evaluate ../shared/data/mall --format mall --frames 801-1600:4

Frames are counted as the daemon counts them: blind pictures (uniform, noise) read 0 and the input
size is ``auto`` unless given (once for one camera's frames -- a video, the Mall dataset -- as the
daemon chooses per camera; per image for independent pictures).  ``-c FILE --camera NAME`` counts
as the daemon counts that camera: the config's model, the camera's max_side, correction and count
gain (flags given win).
``--max-side auto,768,512,448`` evaluates at each setting and names the best one: count a handful
of a venue's frames (``--format counts``), scan, and set the winner as that camera's ``max_side``
if it beats auto (``crowd-monitor calibrate`` does all of it for a live camera).
"""

from __future__ import annotations

import argparse

from ._common import add_dataset_arguments, add_model_arguments, open_dataset, open_model, sides_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `evaluate`."""
    add_dataset_arguments(parser)
    add_model_arguments(parser, several_sides=True)
    parser.add_argument("--json", action="store_true",
                        help='print one JSON line {"n","mae","rmse","bias","max_side","sides"} per size; "sides": '
                             'how many images were fed at each long side (auto chooses once per camera or video, else per image)')
    parser.add_argument("--csv", metavar="FILE", help="write per-image rows (image,number,truth,predicted,error)")


def run(args: argparse.Namespace) -> int:
    """Evaluate the model on the dataset at each ``--max-side`` and print the metrics."""
    import json
    import sys
    import time

    from pathlib import Path

    from engines.correction import is_corrected
    from engines.evaluate import sides_used, write_csv

    from ..errors import UserError
    from ._camera import resolve_model_arguments

    resolve_model_arguments(args, several_sides=True)
    if args.csv and Path(args.csv).is_dir():  # found out before the model runs, not after
        raise UserError(f"--csv {args.csv}: is a directory; give a file name such as "
                        f"{args.csv.rstrip('/')}/rows.csv")
    dataset = open_dataset(args)
    engine = open_model(args)
    sides = sides_of(args.max_side)
    correction = "on" if is_corrected(engine) else "off"
    scan: list[tuple[int, object]] = []
    try:
        for side in sides:
            start = time.monotonic()
            summary, rows = _evaluate_at(engine, dataset, side, args.gain,
                                         label=f"evaluate {side}" if len(sides) > 1 else "evaluate")
            seconds = time.monotonic() - start
            scan.append((side, summary))
            if args.csv:
                path = args.csv if len(sides) == 1 else _with_suffix(args.csv, side)
                write_csv(rows, path)
                print(f"per-image results written to {path}", file=sys.stderr)
            used = sides_used(rows)
            if args.json:
                print(json.dumps({**summary.as_dict(), "max_side": side, "sides": used, "correction": correction,
                                  "count_gain": args.gain, "camera": args.camera}))
            else:
                fed = ", ".join(f"{k}: {v}" for k, v in used.items())
                print(f"{dataset.format} {args.dir}:  max_side {side} ({fed})  n={summary.n}  MAE {summary.mae:.3f}  "
                      f"RMSE {summary.rmse:.3f}  bias {summary.bias:+.3f}  (model {args.model}, engine {engine.name}, "
                      f"map correction {correction}, count gain {args.gain:g}, {seconds:.0f} s)", flush=True)
    finally:
        engine.close()
    if len(scan) > 1:
        side, best = min(scan, key=lambda item: (item[1].mae, 0 if item[0] == "auto" else -item[0]))
        print(f"best: max_side {side} (MAE {best.mae:.3f}); for a camera like these frames set "
              f"cameras.<name>.max_side: {side}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _evaluate_at(engine, dataset, side: int | str, gain: float, label: str):
    """Metrics and per-image rows at one input size and count gain, with a progress bar on a terminal."""
    import functools

    from engines.evaluate import evaluate

    from ..pipeline.output import gained
    from ..progress import ProgressBar

    bar = ProgressBar(len(dataset.samples), label)
    try:
        return evaluate(engine, dataset, side, postprocess=functools.partial(gained, gain=gain),
                        progress=lambda done, total, r: bar.update(done, f"{r.key} {r.predicted:.1f}/{r.truth:g}"))
    finally:
        bar.close()


def _with_suffix(path: str, side: int) -> str:
    """``rows.csv`` -> ``rows-448.csv``: one file per scanned size."""
    stem, dot, ext = path.rpartition(".")
    return f"{stem}-{side}.{ext}" if dot and "/" not in ext else f"{path}-{side}"
