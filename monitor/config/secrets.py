"""``{VAR}`` substitution from the environment and systemd credentials ($CREDENTIALS_DIRECTORY)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path as FsPath
from typing import Any

from .errors import Path

_VARIABLE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def lookup_variable(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A variable's value: the environment first, then a credential file named like it."""
    environ = os.environ if environ is None else environ
    if name in environ:
        return environ[name]
    cred_dir = environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        candidate = FsPath(cred_dir) / name
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8").rstrip("\r\n")
    return None


def _is_unquoted_variable(data: Any) -> bool:
    if not isinstance(data, dict) or len(data) != 1:
        return False
    key, value = next(iter(data.items()))
    return value is None and isinstance(key, str) and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key) is not None


def substitute(
    data: Any, report: Callable[[Path, str], None], environ: Mapping[str, str] | None = None, path: Path = ()
) -> Any:
    """Copy of ``data`` with ``{VAR}`` replaced in every string; ``{{`` and ``}}`` are literal braces."""
    if _is_unquoted_variable(data):
        # YAML reads an unquoted `{VAR}` as a one-key mapping; treat it as the string it was meant to be.
        data = "{%s}" % next(iter(data))
    if isinstance(data, dict):
        return {k: substitute(v, report, environ, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [substitute(v, report, environ, (*path, i)) for i, v in enumerate(data)]
    if not isinstance(data, str):
        return data

    def replace(match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        value = lookup_variable(match.group(1), environ)
        if value is None:
            report(path, f"variable {match.group(1)} is not set in the environment "
                         f"nor as a credential file in $CREDENTIALS_DIRECTORY")
            return ""
        return value

    return _VARIABLE.sub(replace, data)
