"""Exceptions of the engines package; their messages are meant for the user, not a traceback."""

from __future__ import annotations


class EngineError(Exception):
    """Something about a model or an engine that the user must fix (message says how)."""


class WeightsError(EngineError):
    """A weights file that is missing, truncated, or not CSRNet."""


class BackendUnavailable(EngineError):
    """A backend whose Python package (or hardware) is missing; the message names the extra to install."""

    def __init__(self, backend: str, reason: str, extra: str | None = None):
        hint = f"; install it with: pip install 'crowd-monitor[{extra}]'" if extra else ""
        super().__init__(f"backend '{backend}' is not available: {reason}{hint}")
        self.backend, self.reason, self.extra = backend, reason, extra
