"""Where the shared real datasets are, and skips with a reason when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path((ROOT / ".." / "shared" / "data").resolve())
MALL = SHARED_DATA / "mall"
SHANGHAITECH = SHARED_DATA / "shanghaitech"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def need(path: Path, what: str) -> Path:
    """``path`` if it exists, else skip the test saying what is missing."""
    if not path.exists():
        pytest.skip(f"{what} not found at {path} (real data lives in ../shared/data; opencv-doc for vtest.avi)")
    return path


def mall_frame(n: int) -> Path:
    """Path of Mall frame ``n`` (1-based), skipping when the dataset is absent."""
    return need(MALL / "frames" / f"seq_{n:06d}.jpg", "Mall dataset")
