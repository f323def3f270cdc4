"""Write settings back into a config file, keeping its comments and layout (ruamel.yaml round trip).

The new text is checked with the same loader as ``check-config`` before anything is replaced; the
previous file is kept as ``FILE.bak`` and the new one is written atomically.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from ..errors import UserError


def set_values(path: str | Path, changes: dict[tuple[str, ...], object]) -> str:
    """Apply ``{key path: value}`` to the YAML file at ``path``; returns the new text (not yet written)."""
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    with open(path, encoding="utf-8") as handle:
        document = yaml.load(handle)
    for keys, value in changes.items():
        node = document
        for key in keys[:-1]:
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        node[keys[-1]] = value
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def write_checked(path: str | Path, text: str) -> Path:
    """Check ``text`` as a config, keep ``path`` as ``path.bak``, then replace ``path`` atomically."""
    from ..config import ConfigError, parse_config

    path = Path(path)
    try:
        parse_config(text, str(path))
    except ConfigError as exc:
        raise UserError("the new settings do not validate, nothing written:\n" + "\n".join(map(str, exc.problems))) from None
    backup = path.with_name(path.name + ".bak")
    backup.write_bytes(path.read_bytes())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)
    return backup


def write_settings(path: str | Path, changes: dict[tuple[str, ...], object]) -> Path:
    """Apply ``changes`` to the YAML file, checked, keeping comments and a ``.bak``; returns the backup."""
    return write_checked(path, set_values(path, changes))
