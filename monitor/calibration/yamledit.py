"""Write settings back into a config file, keeping its comments and layout (ruamel.yaml round trip).

The new text is checked with the same loader as ``check-config`` before anything is replaced; the
previous file is kept as ``FILE.bak`` and the new one is written atomically (``replace_file``, the
one write path of ``calibrate``, the console's calibration and its zone editor).  Within the daemon,
each read-modify-write of the file holds ``WRITE_LOCK``, so an editor save and a calibration apply
never overwrite each other's change.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..errors import UserError

WRITE_LOCK = threading.Lock()  # one read-modify-write of a config file at a time in this process


def _round_trip():
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    return yaml


def load_document(text: str) -> Any:
    """The YAML text as ruamel's round-trip document (mappings and lists that keep their comments)."""
    return _round_trip().load(text)


def dump_document(document: Any) -> str:
    """The text of a round-trip document."""
    out = io.StringIO()
    _round_trip().dump(document, out)
    return out.getvalue()


def set_values(path: str | Path, changes: dict[tuple[str, ...], object]) -> str:
    """Apply ``{key path: value}`` to the YAML file at ``path``; returns the new text (not yet written)."""
    document = load_document(Path(path).read_text(encoding="utf-8"))
    for keys, value in changes.items():
        node = document
        for key in keys[:-1]:
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        node[keys[-1]] = value
    return dump_document(document)


def write_checked(path: str | Path, text: str) -> Path:
    """Check ``text`` as a config, keep ``path`` as ``path.bak``, then replace ``path`` atomically."""
    from ..config import ConfigError, parse_config

    try:
        parse_config(text, str(path))
    except ConfigError as exc:
        raise UserError("the new settings do not validate, nothing written:\n" + "\n".join(map(str, exc.problems))) from None
    return replace_file(path, text)


def replace_file(path: str | Path, text: str) -> Path:
    """Keep ``path`` as ``path.bak``, then replace it with ``text`` atomically; returns the backup's path."""
    path = Path(path)
    backup = path.with_name(path.name + ".bak")
    backup.write_bytes(path.read_bytes())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # the new file is whole on disk before it replaces the old one
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup


def write_settings(path: str | Path, changes: dict[tuple[str, ...], object]) -> Path:
    """Apply ``changes`` to the YAML file, checked, keeping comments and a ``.bak``; returns the backup."""
    with WRITE_LOCK:
        return write_checked(path, set_values(path, changes))
