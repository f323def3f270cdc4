"""Frames for benchmarks: real Mall frames (and their ground truth) when present, else generated ones."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

MALL_FRAMES = 1600  # frames in the shared copy of the Mall dataset


def default_data_dir(name: str) -> Path | None:
    """``../shared/data/NAME`` next to the project (or the working directory), when it exists."""
    project = Path(__file__).resolve().parents[2]
    for base in (project.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if (base / name).is_dir():
            return base / name
    return None


def spread(first: int, last: int, count: int) -> list[int]:
    """``count`` frame numbers spread evenly over first..last (neighbouring frames are near duplicates)."""
    return sorted({int(round(v)) for v in np.linspace(first, last, count)})


def mall_paths(root: Path, numbers: list[int]) -> list[Path]:
    """Paths of Mall frames by 1-based number."""
    return [root / "frames" / f"seq_{n:06d}.jpg" for n in numbers]


def load_frames(paths: list[Path], size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """BGR frames, resized to ``size`` (W, H) when given and different."""
    frames = []
    for path in paths:
        image = cv2.imread(str(path))
        if image is None:
            raise FileNotFoundError(f"cannot read {path}")
        if size and (image.shape[1], image.shape[0]) != tuple(size):
            grow = size[0] > image.shape[1]
            image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR if grow else cv2.INTER_AREA)
        frames.append(image)
    return frames


def generated_frames(count: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """Synthetic scenes (textured floor with dark head-like blobs) for machines without the datasets."""
    rng = np.random.default_rng(seed)
    width, height = size
    frames = []
    for _ in range(count):
        image = cv2.GaussianBlur(rng.integers(60, 200, (height, width, 3), dtype=np.uint8), (0, 0), 3)
        for _ in range(int(rng.integers(10, 60))):
            centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            radius = int(rng.integers(4, 12))
            cv2.circle(image, centre, radius, tuple(int(v) for v in rng.integers(0, 60, 3)), -1)
        frames.append(image)
    return frames


def mall_counts(root: Path, numbers: list[int]) -> list[int] | None:
    """Ground-truth head counts of Mall frames (None without scipy or the .mat file)."""
    try:
        from scipy.io import loadmat
        truth = loadmat(str(root / "mall_gt.mat"))["count"].ravel()
    except (ImportError, OSError, KeyError, ValueError):
        return None
    return [int(truth[n - 1]) for n in numbers]


def shanghaitech_images(root: Path, count: int) -> tuple[list[Path], list[int]] | None:
    """Up to ``count`` ShanghaiTech test images with their ground-truth counts (None when absent)."""
    images = root / "test_data" / "images"
    if not images.is_dir():
        return None
    try:
        from scipy.io import loadmat
    except ImportError:
        return None
    paths = sorted(images.glob("IMG_*.jpg"), key=lambda p: int(p.stem.split("_")[1]))[:count]
    counts = []
    for path in paths:
        mat = loadmat(str(root / "test_data" / "ground-truth" / f"GT_{path.stem}.mat"))
        counts.append(int(mat["image_info"][0, 0][0, 0][0].shape[0]))
    return paths, counts
