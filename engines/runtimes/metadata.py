"""The metadata JSON stored next to every exported artifact (``model.xml`` -> ``model.xml.json``).

It says how to feed the artifact (input size, stride, colour order, mean/std), what it computes
(precision) and from which weights (their digest), so that a daemon can refuse a stale engine.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from pathlib import Path

from ..preprocess import MEAN, STD, STRIDE

SCHEMA = 1


def metadata_path(artifact: str | Path) -> Path:
    """Where the metadata of ``artifact`` lives."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".json")


def make_metadata(*, fmt: str, precision: str, weights_sha: str | None, source: str,
                  input_shape: dict | None = None, extra: dict | None = None) -> dict:
    """The metadata record; ``input_shape`` is ``{"dynamic": bool, "min"/"opt"/"max" or "shape": [N,C,H,W]}``."""
    return {
        "schema": SCHEMA,
        "format": fmt,
        "precision": precision,
        "model": "CSRNet",
        "input": {"name": "image", "layout": "NCHW", "color": "RGB", "scale": 1 / 255,
                  "mean": [round(float(v), 6) for v in MEAN], "std": [round(float(v), 6) for v in STD],
                  **(input_shape or {"dynamic": True})},
        "output": {"name": "density", "stride": STRIDE, "count": "sum of the map"},
        "weights_sha": weights_sha,
        "source": source,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": {"machine": platform.machine(), "python": platform.python_version()},
        **(extra or {}),
    }


def write_metadata(artifact: str | Path, **fields) -> Path:
    """Write the metadata of ``artifact`` (keyword arguments as in ``make_metadata``)."""
    from ..cache import atomic_write

    path = metadata_path(artifact)
    atomic_write(path, (json.dumps(make_metadata(**fields), indent=2) + "\n").encode())
    return path


def read_metadata(artifact: str | Path) -> dict | None:
    """The metadata of ``artifact``, or None when there is none or it is unreadable."""
    path = metadata_path(artifact)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
