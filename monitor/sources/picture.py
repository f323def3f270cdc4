"""Whether a camera shows a picture worth counting: not uniform, not noise, not frozen.

A camera with its lens covered, a dead sensor, a blown-out exposure or a stuck encoder still
delivers frames, and CSRNet reads phantom crowds in them.  ``PictureWatch`` looks at each sampled
frame before it reaches the model: ``engines.picture.blind_reason`` catches uniform and noise-only
pictures at once; a picture identical to the previous ones for ``frozen_after_s`` is frozen.
Identical means bit for bit (on a regular subsample): real sensors add noise to every frame, so
only a stuck encoder, a still image or a test pattern repeats one exactly.
"""

from __future__ import annotations

import numpy as np

from engines.picture import blind_reason

_SUBSAMPLE = 4  # every 4th row and column is compared: a frozen frame is identical everywhere


class PictureWatch:
    """Judges one camera's sampled frames; ``check`` returns why the camera is blind, or None."""

    def __init__(self, frozen_after_s: float):
        self.frozen_after_s = float(frozen_after_s)
        self._previous: np.ndarray | None = None
        self._unchanged_since: float | None = None

    def check(self, image: np.ndarray, t: float) -> str | None:
        """Why ``image`` (taken at ``t`` seconds) shows nothing to count, or None."""
        reason = blind_reason(image)
        if self.frozen_after_s <= 0:  # frozen detection off: no copy of every frame to keep
            return reason
        frozen = self._frozen_for(image, t)
        if reason is None and frozen >= self.frozen_after_s:
            reason = f"frozen picture: unchanged for {frozen:.0f} s"
        return reason

    def _frozen_for(self, image: np.ndarray, t: float) -> float:
        """For how long the picture has been identical to this one (0 when it just changed)."""
        sample = image[::_SUBSAMPLE, ::_SUBSAMPLE]
        same = self._previous is not None and self._previous.shape == sample.shape and \
            np.array_equal(self._previous, sample)
        if not same or self._unchanged_since is None or t < self._unchanged_since:
            self._previous, self._unchanged_since = sample.copy(), t
            return 0.0
        return t - self._unchanged_since
