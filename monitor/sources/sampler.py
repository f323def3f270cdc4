"""Which frames to keep at ``sample_fps``, and which packets must be decoded to get them.

Decoding is the cost of ingestion (demuxing is ~0.01 ms/packet, H.264 decoding 1.2 ms at 640x480
and 2.7 ms at 1280x720 on this CPU; see bench/bench_pipeline.py).  A P-frame needs every frame
since the last keyframe, so the only frames that can be skipped are the rest of a group of
pictures (GOP) once its wanted frame is out, and whole GOPs that contain no wanted frame.
"""

from __future__ import annotations

from collections import deque

KEYFRAME_SLACK = 0.3  # fraction of a sample period a keyframe may come early and still be taken


class Sampler:
    """Keeps frames spaced at least ``1 / sample_fps`` apart on a given timeline, without drift."""

    def __init__(self, sample_fps: float):
        self.period = 1.0 / sample_fps
        self.next_due: float | None = None

    def due(self, t: float, keyframe: bool = False) -> bool:
        """Whether a frame at time ``t`` (seconds) should be kept.

        A keyframe is taken up to 30 % of a period early: it is the one frame that needs no
        other decoded, so snapping samples to keyframes lets the rest of the GOP go undecoded.
        """
        if self.next_due is not None and t < self.next_due - 2 * self.period:
            self.next_due = None  # the timeline went backwards (a file looped): start again
        slack = KEYFRAME_SLACK * self.period if keyframe else 1e-6
        return self.next_due is None or t >= self.next_due - slack

    def take(self, t: float) -> None:
        """Record that the frame at ``t`` was kept."""
        if self.next_due is None or t - self.next_due > self.period:
            self.next_due = t + self.period  # first frame, or a gap: restart the grid
        else:
            self.next_due += self.period  # stay on the grid so the mean rate is exact

    def reset(self) -> None:
        """Forget the timeline (a new connection starts a new one)."""
        self.next_due = None


class DecodePlanner:
    """Decides per packet whether to decode it, from keyframe flags and the sampler's next due time.

    Decodes everything until two keyframes have been seen; then skips the rest of a GOP once its
    due frame is out (when the next sample falls beyond the next keyframe), and skips whole GOPs
    that contain no due frame.  The GOP length estimate is the longest of the last few, so a
    shorter GOP than expected only costs extra decoding, never a missed sample.
    """

    def __init__(self, sampler: Sampler, enabled: bool = True):
        self.sampler = sampler
        self.enabled = enabled
        self._gops: deque[float] = deque(maxlen=4)
        self._last_key: float | None = None
        self._last_key_media: float | None = None
        self._decoding = True
        self.skipped = 0

    def gop_seconds(self) -> float | None:
        """Longest recent keyframe interval, or None before two keyframes were seen."""
        return max(self._gops) if self._gops else None

    def want(self, t: float, keyframe: bool, media_t: float | None = None) -> bool:
        """Whether the packet at time ``t`` must be decoded.

        ``media_t`` is the packet's own timestamp: GOP lengths are measured on it when given,
        because live packets arrive in bursts (the first second is buffered while the stream
        is probed) and arrival times would make GOPs look far shorter than they are.
        """
        if keyframe:
            stamp = t if media_t is None else media_t
            previous = self._last_key_media if media_t is not None else self._last_key
            if previous is not None and stamp > previous:
                self._gops.append(stamp - previous)
            self._last_key = t
            self._last_key_media = media_t
            gop = self.gop_seconds()
            due = self.sampler.next_due
            # Skip this whole GOP when the next wanted frame lies beyond its end.
            self._decoding = not (self.enabled and gop is not None and due is not None and due >= t + gop)
        if not self._decoding:
            self.skipped += 1
        return self._decoding

    def taken(self, t: float) -> None:
        """A frame at ``t`` was kept: stop decoding this GOP if the next one is due after it."""
        gop = self.gop_seconds()
        due = self.sampler.next_due
        if self.enabled and gop is not None and self._last_key is not None and due is not None:
            if due >= self._last_key + gop:
                self._decoding = False

    def reset(self) -> None:
        """Forget GOP history (new connection)."""
        self._gops.clear()
        self._last_key = None
        self._last_key_media = None
        self._decoding = True
