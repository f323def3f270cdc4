"""Counting accuracy on an annotated dataset: MAE, RMSE and bias of the whole-frame counts.

Prints one summary line (or, with --json, exactly one JSON line {"n","mae","rmse","bias"} on
stdout); --csv FILE writes one row per image.  A progress bar is drawn on stderr when it is a
terminal.  Example: crowd-monitor evaluate ../shared/data/mall --format mall --frames 801-1600:4
"""

from __future__ import annotations

import argparse

from ._common import add_dataset_arguments, add_model_arguments, open_dataset, open_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `evaluate`."""
    add_dataset_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--json", action="store_true", help='print one JSON line {"n","mae","rmse","bias"}')
    parser.add_argument("--csv", metavar="FILE", help="write per-image rows (image,number,truth,predicted,error)")


def run(args: argparse.Namespace) -> int:
    """Evaluate the model on the dataset and print the metrics."""
    import json
    import sys
    import time

    from engines.evaluate import evaluate, write_csv

    from ..progress import ProgressBar

    dataset = open_dataset(args)
    engine = open_model(args)
    bar = ProgressBar(len(dataset.samples), "evaluate")
    start = time.monotonic()
    try:
        summary, rows = evaluate(engine, dataset, args.max_side,
                                 progress=lambda done, total, r: bar.update(done, f"{r.key} {r.predicted:.1f}/{r.truth:g}"))
    finally:
        bar.close()
        engine.close()
    seconds = time.monotonic() - start
    if args.csv:
        write_csv(rows, args.csv)
        print(f"per-image results written to {args.csv}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        print(f"{dataset.format} {args.dir}: n={summary.n}  MAE {summary.mae:.3f}  RMSE {summary.rmse:.3f}  "
              f"bias {summary.bias:+.3f}  (model {args.model}, engine {engine.name}, {seconds:.0f} s)")
    return 0
