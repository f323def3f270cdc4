"""Where compiled artifacts are cached, how they are named, and how they are written safely."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_ENV = "CACHE_DIRECTORY"  # set by systemd's CacheDirectory=
SUFFIX = {"onnx": ".onnx", "openvino": ".xml", "tensorrt": ".engine"}


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else $CACHE_DIRECTORY (systemd), else $XDG_CACHE_HOME or ~/.cache, /crowd-monitor."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    systemd = os.environ.get(CACHE_ENV, "").split(":")[0]  # systemd may list several, ':'-separated
    if systemd:
        return Path(systemd)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crowd-monitor"


def artifact_path(cache_dir: str | os.PathLike | None, fmt: str, weights_sha: str, precision: str,
                  key: str | None = None) -> Path:
    """The cache path of an artifact, e.g. ``<cache>/openvino/csrnet-<sha>-int8.xml``."""
    tail = f"-{key}" if key else ""
    return default_cache_dir(cache_dir) / fmt / f"csrnet-{weights_sha}-{precision}{tail}{SUFFIX[fmt]}"


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file so that readers see either nothing or all of it (two daemons may race)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
