"""Not built yet: see the issue queue."""

from __future__ import annotations

import argparse

from ..errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `evaluate`."""


def run(args: argparse.Namespace) -> int:
    """Not built yet."""
    raise UserError("'evaluate' is not built yet")
