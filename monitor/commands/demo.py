"""Not built yet: see the issue queue."""

from __future__ import annotations

import argparse

from ..errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `demo`."""


def run(args: argparse.Namespace) -> int:
    """Not built yet."""
    raise UserError("'demo' is not built yet")
