"""Reading still images for count / evaluate / finetune / calibration, with a size limit.

A small file can hold a huge picture (a 20000 x 20000 PNG of one colour is 400 KB and decodes to
1.2 GB), so images above ``MAX_IMAGE_PIXELS`` are refused.  OpenCV checks its own limit,
``OPENCV_IO_MAX_IMAGE_PIXELS``, against the file's header before decoding; it reads that variable
once, when cv2 is loaded, so ``engines`` (imported by ``monitor`` first thing) sets it.  The size is
checked again after decoding, for programs that loaded cv2 before this package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DatasetError, file_problem

if TYPE_CHECKING:  # importing this module stays cheap: ``engines/__init__`` uses its constants
    import numpy as np

MAX_IMAGE_PIXELS = 64_000_000  # 64 megapixels (e.g. 8000 x 8000): 192 MB decoded, far above any camera
PIXELS_VARIABLE = "OPENCV_IO_MAX_IMAGE_PIXELS"


def pixel_limit() -> int:
    """The limit in force: ours, or OpenCV's variable when the environment set it lower."""
    try:
        return min(MAX_IMAGE_PIXELS, int(os.environ.get(PIXELS_VARIABLE, MAX_IMAGE_PIXELS)))
    except ValueError:
        return MAX_IMAGE_PIXELS


class ImageTooLarge(DatasetError):
    """An image with more pixels than ``pixel_limit()``."""


def _too_big(path: Path, size: str | None = None) -> ImageTooLarge:
    limit = pixel_limit()
    what = f"is {size}" if size else f"has more than {limit / 1e6:g} megapixels"
    side = int(limit ** 0.5)
    return ImageTooLarge(f"image {path} {what}; images are limited to {limit / 1e6:g} megapixels ({limit} pixels, "
                         f"e.g. {side}x{side}): scale it down first")


def read_image(path: str | Path) -> np.ndarray:
    """A BGR uint8 image (grey-scale files become 3 channels), or ``DatasetError``."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise DatasetError(file_problem(path, "image"))
    try:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV refuses from the header: more pixels than its limit
        if "CV_IO_MAX_IMAGE" in str(exc):
            raise _too_big(path) from None
        raise DatasetError(f"cannot read image {path}: {str(exc).strip().splitlines()[-1]}") from None
    if image is None:
        raise DatasetError(f"cannot read image {path} (truncated or not an image)")
    height, width = image.shape[:2]
    if height * width > pixel_limit():
        raise _too_big(path, f"{width}x{height} ({height * width / 1e6:.3g} megapixels)")
    return image


def read_image_or_none(path: str | Path) -> np.ndarray | None:
    """``read_image``, or None for a file that is not a readable image; too large still raises."""
    try:
        return read_image(path)
    except ImageTooLarge:
        raise
    except DatasetError:
        return None
