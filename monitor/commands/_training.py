"""What finetune and train share: the --out weights file, torch, saving, timestamped progress lines."""

from __future__ import annotations

import argparse
import sys
import time

SAVE_SUFFIXES = (".npz", ".pt", ".pth", ".pth.tar")


def add_out_argument(parser: argparse.ArgumentParser) -> None:
    """``--out MODEL``: where the weights are saved."""
    parser.add_argument("--out", required=True, metavar="MODEL", help="where to save: .npz, .pt, .pth or .pth.tar")


def check_out(out: str) -> None:
    """Refuse an --out name that ``save_weights`` cannot write, before any work."""
    from ..errors import UserError

    if not out.lower().endswith(SAVE_SUFFIXES):
        raise UserError(f"--out {out}: use a name ending in .npz, .pt, .pth or .pth.tar")


def import_torch():
    """torch, or a ``UserError`` naming the extra that installs it."""
    from ..errors import UserError

    try:
        import torch
    except ImportError:
        raise UserError("finetune and train need torch: pip install 'crowd-monitor[train]'") from None
    return torch


def save_weights(weights: dict, out: str):
    """Save CSRNet weights as .npz, or as a torch checkpoint for .pt / .pth / .pth.tar."""
    from pathlib import Path

    from engines.model import build_model, save_checkpoint, save_npz

    if out.lower().endswith(".npz"):
        return save_npz(weights, out)
    return save_checkpoint(build_model(weights), Path(out))


class ProgressLog:
    """``log(message)`` prints ``[   12s] message`` on stderr, in seconds since the log was made."""

    def __init__(self):
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        """Print one timestamped progress line."""
        print(f"[{self.elapsed():6.0f}s] {message}", file=sys.stderr, flush=True)

    def elapsed(self) -> float:
        """Seconds since the log was made."""
        return time.monotonic() - self.start
