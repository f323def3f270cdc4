"""Annotated datasets for evaluate / finetune / train: ``mall``, ``shanghaitech`` and ``counts``.

Layouts (see conventions.md):
- ``mall``: ``DIR/frames/seq_NNNNNN.jpg`` + ``DIR/mall_gt.mat`` (``frame[0, N-1]['loc']`` = head
  points of frame N); ``DIR/perspective_roi.mat`` (``pMapN``, ``roi.mask``) is used when present.
- ``shanghaitech``: ``DIR/images/IMG_n.jpg`` + ``DIR/ground-truth/GT_IMG_n.mat`` (``image_info``).
- ``counts``: ``DIR/counts.csv`` with ``frame,count`` rows and one video in DIR (frame = 0-based
  index), or ``image,count`` rows with image paths relative to DIR (numbered 1.. in file order);
  an optional third column ``points`` holds the head points (``x y;x y;...`` in pixels; the
  console's clicks), used instead of the bare count where it is filled in.
Grey-scale images are read as 3-channel BGR; head points outside the image are ignored (the count
of a sample is the number of its points inside the image).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .density import inside_points
from .errors import DatasetError, NotUtf8, decode_utf8, file_problem
from .images import read_image

FORMATS = ("mall", "shanghaitech", "counts")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".ts", ".mpg", ".mpeg", ".wmv")
_FRAMES_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?(?::\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class FrameRange:
    """Frames ``first``..``last`` (inclusive) taking every ``step``-th, as given by ``--frames A-B[:STEP]``."""

    first: int
    last: int
    step: int = 1

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.first <= number <= self.last and (number - self.first) % self.step == 0

    def __str__(self) -> str:
        return f"{self.first}-{self.last}" + (f":{self.step}" if self.step != 1 else "")


def parse_frames(text: str) -> FrameRange:
    """``"A-B"``, ``"A-B:STEP"`` or ``"A"`` -> FrameRange; ``DatasetError`` explaining the syntax otherwise."""
    match = _FRAMES_RE.match(text or "")
    if not match:
        raise DatasetError(f"--frames {text!r}: expected A-B or A-B:STEP (e.g. 801-1600:4), or a single frame number")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    step = int(match.group(3)) if match.group(3) is not None else 1
    if last < first:
        raise DatasetError(f"--frames {text!r}: the range ends ({last}) before it starts ({first})")
    if step < 1:
        raise DatasetError(f"--frames {text!r}: the step must be 1 or more")
    return FrameRange(first, last, step)


@dataclass(frozen=True, eq=False)
class Sample:
    """One annotated image or video frame: where it is and its head points (or just its count)."""

    key: str  # a short name for reports: "seq_000801", "IMG_12", "frame 15", "shots/a.jpg"
    number: int  # the number ``--frames`` selects on
    path: Path  # image file, or the video file
    frame_index: int | None = None  # 0-based frame of ``path`` when it is a video
    points: np.ndarray | None = None  # N x 2 (x, y) pixels; None when only a count is annotated
    annotated_count: float | None = None

    def count_in(self, height: int, width: int) -> float:
        """The true count for an image of this size: points inside it, or the annotated count."""
        if self.points is None:
            return float(self.annotated_count or 0.0)
        return float(len(inside_points(self.points, height, width)))


@dataclass(frozen=True, eq=False)
class Dataset:
    """The selected samples of one dataset folder, with the venue's perspective map and ROI if known."""

    format: str
    root: Path
    samples: tuple[Sample, ...]
    perspective: np.ndarray | None = None  # pMapN-style map at the frames' resolution
    roi: np.ndarray | None = None  # bool mask at the frames' resolution

    @property
    def has_points(self) -> bool:
        """Whether every sample has head points (needed for density-map training)."""
        return all(s.points is not None for s in self.samples)


def _loadmat(path: Path) -> dict:
    """scipy's loadmat with errors the user can act on."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise DatasetError(f"reading MATLAB annotations ({path.name}) needs scipy: "
                           "pip install 'crowd-monitor[train]' (or pip install scipy)") from None

    if not path.is_file():
        raise DatasetError(file_problem(path, "annotation file"))
    try:
        return loadmat(str(path))
    except NotImplementedError:
        raise DatasetError(f"{path} is a MATLAB v7.3 (HDF5) file; re-save it with save(..., '-v7')") from None
    except Exception as exc:  # scipy raises several types for corrupt files
        raise DatasetError(f"cannot read {path}: {exc}") from None


def _find_points(obj: object) -> np.ndarray | None:
    """The first numeric N x 2 array inside nested MATLAB structs / cells (``image_info`` style)."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fiu" and obj.ndim == 2 and obj.shape[1] == 2:
            return obj.astype(np.float64)
        if obj.dtype.kind in "fiu" and obj.size == 0:
            return np.zeros((0, 2))
        if obj.dtype == object or obj.dtype.names:
            items = [obj[name] for name in obj.dtype.names] if obj.dtype.names else list(obj.flat)
            for item in items:
                found = _find_points(item)
                if found is not None:
                    return found
    return None


def _require_dir(path: Path, what: str) -> Path:
    if path.exists() and not path.is_dir():
        raise DatasetError(f"{what} {path} is a file, not a folder")
    if not path.is_dir():
        raise DatasetError(f"{what} not found: {path}")
    return path


def _select(numbered: list[tuple[int, Path]], frames: FrameRange | None, where: Path) -> list[tuple[int, Path]]:
    """Entries whose number is in ``frames`` (all when None), sorted; error when none remain."""
    chosen = sorted((n, p) for n, p in numbered if frames is None or n in frames)
    if not chosen:
        have = f"{min(n for n, _ in numbered)}-{max(n for n, _ in numbered)}" if numbered else "none"
        raise DatasetError(f"no frames selected in {where} (frames present: {have}; --frames {frames})")
    return chosen


def _read_mall(root: Path, frames: FrameRange | None) -> Dataset:
    folder = _require_dir(root / "frames", "Mall frames folder")
    numbered = [(int(m.group(1)), p) for p in folder.glob("seq_*.jpg") if (m := re.match(r"seq_(\d+)\.jpg$", p.name))]
    chosen = _select(numbered, frames, folder)
    gt = _loadmat(root / "mall_gt.mat")
    if "frame" not in gt:
        raise DatasetError(f"{root / 'mall_gt.mat'} has no 'frame' struct array (not Mall ground truth?)")
    table = gt["frame"].reshape(-1)
    samples = []
    for n, path in chosen:
        if n < 1 or n > len(table):
            raise DatasetError(f"{path.name}: frame {n} has no ground truth (mall_gt.mat covers 1-{len(table)})")
        points = _find_points(table[n - 1]["loc"])
        samples.append(Sample(path.stem, n, path, points=np.zeros((0, 2)) if points is None else points))
    perspective, roi = _read_mall_perspective(root / "perspective_roi.mat")
    return Dataset("mall", root, tuple(samples), perspective, roi)


def _read_mall_perspective(path: Path) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``pMapN`` and ``roi.mask`` when the file exists (it is optional)."""
    if not path.is_file():
        return None, None
    mat = _loadmat(path)
    perspective = np.asarray(mat["pMapN"], dtype=np.float32) if "pMapN" in mat else None
    roi = None
    if "roi" in mat and mat["roi"].dtype.names and "mask" in mat["roi"].dtype.names:
        roi = np.asarray(mat["roi"]["mask"].reshape(-1)[0], dtype=bool)
    return perspective, roi


def _read_shanghaitech(root: Path, frames: FrameRange | None) -> Dataset:
    images = root / "images"
    if not images.is_dir() and (root / "test_data" / "images").is_dir():
        raise DatasetError(f"{root} holds train_data/ and test_data/: pass one of them, e.g. {root / 'test_data'}")
    _require_dir(images, "ShanghaiTech images folder")
    numbered = [(int(m.group(1)), p) for p in images.iterdir()
                if (m := re.match(r"IMG_(\d+)\.(jpe?g|png)$", p.name, re.IGNORECASE))]
    samples = []
    for n, path in _select(numbered, frames, images):
        mat = _loadmat(root / "ground-truth" / f"GT_{path.stem}.mat")
        source = mat.get("image_info", mat.get("annPoints"))
        points = _find_points(source) if source is not None else None
        if points is None:
            raise DatasetError(f"{root / 'ground-truth' / f'GT_{path.stem}.mat'}: no N x 2 head points in 'image_info'")
        samples.append(Sample(path.stem, n, path, points=points))
    return Dataset("shanghaitech", root, tuple(samples))


def _read_counts(root: Path, frames: FrameRange | None) -> Dataset:
    table = root / "counts.csv"
    if not table.is_file():
        raise DatasetError(file_problem(table, "counts file")
                           + " (rows 'frame,count' with one video, or 'image,count')")
    rows = [row for row in csv.reader(io.StringIO(_utf8_text(table), newline=""))
            if row and any(cell.strip() for cell in row)]
    if not rows:
        raise DatasetError(f"{table} is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    if header[:2] not in (["frame", "count"], ["image", "count"]):
        raise DatasetError(f"{table}: the first row must be 'frame,count' or 'image,count', not {','.join(rows[0])!r}")
    body = rows[1:]
    if header[0] == "frame":
        return _counts_video(root, table, body, frames)
    entries, with_points = [], header[2:3] == ["points"]
    for line, row in enumerate(body, start=2):
        image, count = row[0].strip(), _count_cell(row, table, line)
        points = _points_cell(row, count, table, line) if with_points else None
        entries.append((line - 1, Sample(image, line - 1, root / image, points=points, annotated_count=count)))
    chosen = [s for n, s in entries if frames is None or n in frames]
    if not chosen:
        raise DatasetError(f"no rows of {table} selected by --frames {frames} (rows 1-{len(entries)})")
    missing = [s.path for s in chosen if not s.path.is_file()]
    if missing:
        raise DatasetError(f"{table}: {file_problem(missing[0], 'image')}"
                           + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return Dataset("counts", root, tuple(chosen))


def _utf8_text(table: Path) -> str:
    """The file's text; a one-line error naming the line of the first byte that is not UTF-8."""
    try:
        return decode_utf8(table.read_bytes())
    except NotUtf8 as exc:
        raise DatasetError(f"{table}:{exc.line}: {exc}") from None


def _count_cell(row: list[str], table: Path, line: int) -> float:
    try:
        value = float(row[1])
    except (IndexError, ValueError):
        raise DatasetError(f"{table}:{line}: expected a number in the count column, got {row!r}") from None
    if not (math.isfinite(value) and value >= 0):  # float() takes 'inf' and 'nan': no head count is either
        raise DatasetError(f"{table}:{line}: a count must be a finite number, 0 or more, got {row[1]!r}")
    return value


def format_points(points) -> str:
    """Head points (x, y pixels) as a ``points`` cell of counts.csv: ``x y;x y;...``."""
    return ";".join(f"{x:.1f} {y:.1f}" for x, y in points)


def _points_cell(row: list[str], count: float, table: Path, line: int) -> np.ndarray | None:
    """The row's head points (N x 2), or None when its points cell is empty (a bare count)."""
    cell = row[2].strip() if len(row) > 2 else ""
    if not cell:
        return None
    try:
        points = np.array([[float(v) for v in pair.split()] for pair in cell.split(";")], dtype=np.float32)
    except ValueError:
        points = np.zeros((0, 1), np.float32)
    if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
        raise DatasetError(f"{table}:{line}: points must be 'x y;x y;...' in pixels, got {cell[:60]!r}")
    if len(points) != count:
        raise DatasetError(f"{table}:{line}: count {count:g} but {len(points)} head points")
    return points


def _counts_video(root: Path, table: Path, body: list[list[str]], frames: FrameRange | None) -> Dataset:
    videos = sorted(p for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if len(videos) != 1:
        found = ", ".join(p.name for p in videos) or "none"
        raise DatasetError(f"{root}: 'frame,count' rows need exactly one video in the folder (found: {found})")
    samples = []
    for line, row in enumerate(body, start=2):
        try:
            index = int(row[0])
        except ValueError:
            index = -1
        if index < 0:
            raise DatasetError(f"{table}:{line}: frame must be a 0-based frame number (0 or more), got {row[0]!r}")
        if frames is None or index in frames:
            samples.append(Sample(f"frame {index}", index, videos[0], frame_index=index,
                                  annotated_count=_count_cell(row, table, line)))
    if not samples:
        raise DatasetError(f"no rows of {table} selected by --frames {frames}")
    return Dataset("counts", root, tuple(sorted(samples, key=lambda s: s.number)))


def open_dataset(root: str | Path, fmt: str, frames: FrameRange | str | None = None) -> Dataset:
    """The samples of a dataset folder in ``fmt`` (mall / shanghaitech / counts), filtered by ``frames``."""
    root = Path(root).expanduser()
    _require_dir(root, "dataset folder")
    if isinstance(frames, str):
        frames = parse_frames(frames)
    readers = {"mall": _read_mall, "shanghaitech": _read_shanghaitech, "counts": _read_counts}
    if fmt not in readers:
        raise DatasetError(f"unknown dataset format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return readers[fmt](root, frames)


def iter_images(samples: tuple[Sample, ...] | list[Sample]) -> Iterator[tuple[Sample, np.ndarray]]:
    """(sample, BGR image) in order; video frames are read in one forward pass per video."""
    for sample in samples:
        if sample.frame_index is None:
            yield sample, read_image(sample.path)
    videos: dict[Path, list[Sample]] = {}
    for sample in samples:
        if sample.frame_index is not None:
            videos.setdefault(sample.path, []).append(sample)
    for path, wanted in videos.items():
        yield from _video_frames(path, sorted(wanted, key=lambda s: s.frame_index))


def _video_frames(path: Path, wanted: list[Sample]) -> Iterator[tuple[Sample, np.ndarray]]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DatasetError(f"cannot open video {path}")
    try:
        index, pending = 0, list(wanted)
        while pending:
            if index < pending[0].frame_index:
                if not capture.grab():
                    break
                index += 1
                continue
            ok, image = capture.read()
            if not ok:
                break
            while pending and pending[0].frame_index == index:
                yield pending.pop(0), image
            index += 1
        if pending:
            raise DatasetError(f"{path} ends before frame {pending[0].frame_index} listed in counts.csv")
    finally:
        capture.release()
