"""Is there a picture to count at all?  Uniform frames (lens cap, dead sensor, blown out) and pure noise.

CSRNet reads phantom crowds in pictures without content (black 32, mid-grey 79, noise 17 people on
640x480 with the default weights), so such frames are caught before the model and reported as a
*blind* camera rather than counted.  Two tests on a grey copy shrunk to at most 320 pixels wide:

- *uniform*: at least 95% of the pixels lie within 6 grey levels of the median (an on-screen
  clock or camera name on a black picture stays under the 5% left over);
- *noise*: neighbouring pixels of the full-size frame are uncorrelated (correlation below 0.25)
  *and* shrinking the small copy 8 times more keeps less than a third of its contrast.  Pure
  noise has neither correlation nor large structures (0.00 and 0.12); real pictures are smooth
  at the pixel scale (the lowest correlation over ShanghaiTech A/B, Mall and vtest.avi is 0.57).
  Contrast alone is not enough: a packed crowd seen from afar keeps as little of it as noise
  does (ShanghaiTech A train IMG_112: 0.31), which is why both tests must agree.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK_WIDTH = 320
UNIFORM_LEVELS = 6.0
UNIFORM_FRACTION = 0.95
NOISE_SHRINK = 8
NOISE_RATIO = 0.33
NOISE_CORRELATION = 0.25


def _grey_small(image: np.ndarray) -> np.ndarray:
    """Grey float32 copy at most ``WORK_WIDTH`` pixels wide (area interpolation)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height, width = grey.shape[:2]
    if width > WORK_WIDTH:
        size = (WORK_WIDTH, max(1, round(height * WORK_WIDTH / width)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey.astype(np.float32)


def contrast_kept(grey: np.ndarray, shrink: int = NOISE_SHRINK) -> float:
    """Standard deviation after shrinking ``shrink`` times (area) over the standard deviation before."""
    height, width = grey.shape[:2]
    size = (max(1, width // shrink), max(1, height // shrink))
    before = float(grey.std())
    if before <= 0.0:
        return 0.0
    return float(cv2.resize(grey, size, interpolation=cv2.INTER_AREA).std()) / before


def neighbour_correlation(image: np.ndarray, rows: int = 64) -> float:
    """Correlation of horizontally adjacent pixels (grey) over up to ``rows`` rows spread over the frame."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    picked = grey[:: max(1, grey.shape[0] // rows)].astype(np.float32)
    left, right = picked[:, :-1].ravel(), picked[:, 1:].ravel()
    if left.size < 2 or left.std() <= 0.0 or right.std() <= 0.0:
        return 1.0
    return float(np.corrcoef(left, right)[0, 1])


def blind_reason(image: np.ndarray) -> str | None:
    """Why a frame shows nothing to count ("uniform picture ...", "no structure ..."), or None."""
    grey = _grey_small(image)
    median = float(np.median(grey))
    if float(np.mean(np.abs(grey - median) <= UNIFORM_LEVELS)) >= UNIFORM_FRACTION:
        return f"uniform picture (grey level {median:.0f})"
    kept = contrast_kept(grey)
    if kept < NOISE_RATIO and neighbour_correlation(image) < NOISE_CORRELATION:
        return "no structure: the picture is noise"
    return None
