"""Exceptions of the engines package; their messages are meant for the user, not a traceback."""

from __future__ import annotations

from pathlib import Path


class EngineError(Exception):
    """Something about a model or an engine that the user must fix (message says how)."""


class DatasetError(EngineError):
    """A dataset folder, annotation file, image or frame range the user must fix (the message says how)."""


class WeightsError(EngineError):
    """A weights file that is missing, truncated, or not CSRNet."""


class BackendUnavailable(EngineError):
    """A backend whose Python package (or hardware) is missing; the message names the extra to install."""

    def __init__(self, backend: str, reason: str, extra: str | None = None):
        hint = f"; install it with: pip install 'crowd-monitor[{extra}]'" if extra else ""
        super().__init__(f"backend '{backend}' is not available: {reason}{hint}")
        self.backend, self.reason, self.extra = backend, reason, extra


def file_problem(path: str | Path, what: str) -> str:
    """Why ``path`` (a ``what``) cannot be read as a file: it is a directory, something else, or absent."""
    p = Path(path)
    if p.is_dir():
        return f"{what} {path} is a directory, not a file"
    if p.exists():
        return f"{what} {path} is not a regular file"
    return f"{what} not found: {path}"


class NotUtf8(ValueError):
    """Bytes that are not UTF-8 text; ``line`` (1-based) is where the first bad byte is."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def decode_utf8(raw: bytes) -> str:
    """``raw`` as text (a leading UTF-8 BOM is dropped), or ``NotUtf8`` naming the first bad byte's line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise NotUtf8(line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None


class EngineUnreachable(EngineError):
    """A model server that is slow or gone: a reading gap to report and retry with backoff, not a fault."""
