"""Head clicks of the console's calibration page, kept as the counts dataset ``crowd-monitor calibrate`` reads.

The folder is ``STATE/calibration/CAMERA/``: the snapshots, ``counts.csv`` (``image,count,points``
rows, the ``counts`` dataset format; ``points`` are the clicked heads, ``x y;x y`` in pixels, left
empty where boxes with a typed count were used, since their people have no points) and
``clicks.json``, what the page drew (points and boxes per image), so it can be edited again.
Rows written by hand stay as they are until their snapshot is clicked.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .snapshots import COUNTS

CLICKS = "clicks.json"
IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.(jpg|jpeg|png)$")
MAX_MARKS = 20_000  # points or boxes on one snapshot
MAX_BOX_COUNT = 100_000.0


class BadClicks(ValueError):
    """The clicks sent for a snapshot do not make sense: the message goes back with a 400."""


@dataclass(frozen=True)
class Row:
    """One snapshot's row of counts.csv: its image, its count ("" while uncounted) and head points."""

    image: str
    count: str = ""
    points: str = ""


def read_rows(folder: Path) -> list[Row]:
    """The rows of ``counts.csv`` (none when it does not exist yet)."""
    table = folder / COUNTS
    if not table.is_file():
        return []
    with open(table, newline="", encoding="utf-8", errors="replace") as handle:
        rows = [r for r in csv.reader(handle) if r and r[0].strip()]
    return [Row(r[0].strip(), r[1].strip() if len(r) > 1 else "", r[2].strip() if len(r) > 2 else "")
            for r in rows[1:]]


def write_rows(folder: Path, rows: list[Row]) -> None:
    """Replace ``counts.csv`` atomically with ``image,count,points`` rows."""
    _atomic_write(folder / COUNTS, "".join(_csv_line([r.image, r.count, r.points]) for r in
                                           [Row("image", "count", "points"), *rows]))


def read_clicks(folder: Path) -> dict[str, dict]:
    """What was clicked per image: ``{"points": [[x, y], ...], "boxes": [[x0, y0, x1, y1, count], ...]}``."""
    try:
        data = json.loads((folder / CLICKS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def add_snapshot(folder: Path, image: str) -> None:
    """List a new snapshot in counts.csv, not counted yet."""
    write_rows(folder, [*read_rows(folder), Row(image)])


def remove_snapshot(folder: Path, image: str) -> bool:
    """Forget a snapshot: its row, its clicks and its file; False when it was not listed."""
    rows = read_rows(folder)
    kept = [r for r in rows if r.image != image]
    if len(kept) == len(rows):
        return False
    write_rows(folder, kept)
    clicks = read_clicks(folder)
    if clicks.pop(image, None) is not None:
        _atomic_write(folder / CLICKS, json.dumps(clicks))
    (folder / image).unlink(missing_ok=True)
    return True


def save_clicks(folder: Path, image: str, body: dict, width: int, height: int) -> Row:
    """Store the heads clicked (and boxes counted) on ``image`` of ``width`` x ``height``; returns its row."""
    rows = read_rows(folder)
    if image not in [r.image for r in rows]:
        raise BadClicks(f"no snapshot {image!r} in {folder / COUNTS}")
    points = [_point(p, width, height) for p in _marks(body, "points")]
    boxes = [_box(b, width, height) for b in _marks(body, "boxes")]
    count = len(points) + sum(b[4] for b in boxes)
    from engines.datasets import format_points

    row = Row(image, f"{count:g}", "" if boxes else format_points(points))
    write_rows(folder, [row if r.image == image else r for r in rows])
    clicks = read_clicks(folder)
    clicks[image] = {"points": points, "boxes": boxes}
    _atomic_write(folder / CLICKS, json.dumps(clicks))
    return row


def _marks(body: dict, key: str) -> list:
    marks = body.get(key, [])
    if not isinstance(marks, list) or len(marks) > MAX_MARKS:
        raise BadClicks(f"{key}: a list of at most {MAX_MARKS}")
    return marks


def _point(value, width: int, height: int) -> list[float]:
    """[x, y] in pixels, inside the image."""
    numbers = _numbers(value, 2, "a point is [x, y] in pixels")
    x, y = numbers
    if not (0 <= x <= width and 0 <= y <= height):
        raise BadClicks(f"point {numbers} outside the {width}x{height} snapshot")
    return [round(x, 1), round(y, 1)]


def _box(value, width: int, height: int) -> list[float]:
    """[x0, y0, x1, y1, count]: a box inside the image with the number of people in it."""
    x0, y0, x1, y1, count = _numbers(value, 5, "a box is [x0, y0, x1, y1, count]")
    if not (0 <= min(x0, x1) and max(x0, x1) <= width and 0 <= min(y0, y1) and max(y0, y1) <= height):
        raise BadClicks(f"box {[x0, y0, x1, y1]} outside the {width}x{height} snapshot")
    if not 0 <= count <= MAX_BOX_COUNT:
        raise BadClicks(f"a box's count is from 0 to {MAX_BOX_COUNT:g}, not {count:g}")
    return [round(min(x0, x1), 1), round(min(y0, y1), 1), round(max(x0, x1), 1), round(max(y0, y1), 1), count]


def _numbers(value, n: int, what: str) -> list[float]:
    if not (isinstance(value, list) and len(value) == n and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        raise BadClicks(f"{what}, not {json.dumps(value)[:60]}")
    return [float(v) for v in value]


def _csv_line(cells: list[str]) -> str:
    from io import StringIO

    out = StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def _atomic_write(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file and a rename: a crash leaves the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)
