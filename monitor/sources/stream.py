"""Opening a source with PyAV under open/read timeouts, and saying clearly why one failed.

PyAV was chosen over OpenCV's FFmpeg backend (same libavcodec, same decode cost: see
bench/bench_pipeline.py) because it (1) raises errors that say what went wrong (404, 401,
refused, invalid data) where OpenCV only returns ``isOpened() == False``, (2) gives packet
keyframe flags, so whole GOPs can be left undecoded at low ``sample_fps``, and (3) applies open
and read timeouts through FFmpeg's interrupt callback, so no call blocks forever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import av

from .kinds import OpenSpec, SourceKind
from .redact import redact_text

# Formats FFmpeg opens that are not camera video (text rendered as ANSI art, subtitles, ...).
_INTRA_ONLY = {"mjpeg", "jpeg2000", "png"}
_NOT_VIDEO_FORMATS = {"tty", "lrc", "srt", "ass", "webvtt", "sami", "subviewer", "subviewer1", "microdvd"}


class SourceError(Exception):
    """The source failed; the message is a short, credential-free reason for the status."""

    def __init__(self, reason: str, counter: str | None = None):
        super().__init__(redact_text(reason))
        self.counter = counter  # CameraCounters field to increment, if any


class SourceEnded(Exception):
    """A file source reached its end and does not loop."""


@dataclass
class OpenedSource:
    """An open container and its video stream."""

    container: av.container.InputContainer
    stream: av.video.stream.VideoStream

    def close(self) -> None:
        """Release the connection or file."""
        try:
            self.container.close()
        except Exception:  # closing a broken connection may fail too; nothing left to do
            pass


def read_timeout_for(spec: OpenSpec, read_timeout_s: float) -> float:
    """The interrupt period to give FFmpeg so that a stall surfaces within ``read_timeout_s``.

    Measured: on a stalled RTSP stream the first interrupt makes the depacketizer hand out the
    packet it held back, and only the second one fails the read, so RTSP stalls surface after
    two periods.  Other protocols fail at the first.
    """
    return read_timeout_s / 2 if spec.kind is SourceKind.RTSP else read_timeout_s


def open_source(spec: OpenSpec, open_timeout_s: float, read_timeout_s: float) -> OpenedSource:
    """Open ``spec`` and find its video stream; raises ``SourceError`` with a clear reason."""
    started = time.monotonic()
    timeout = (open_timeout_s, read_timeout_for(spec, read_timeout_s))
    try:
        container = av.open(spec.target, mode="r", format=spec.format, options=dict(spec.options), timeout=timeout)
    except Exception as exc:
        raise SourceError(describe_open_error(exc, time.monotonic() - started, open_timeout_s)) from None
    try:
        stream = video_stream(container)
    except SourceError:
        container.close()
        raise
    ctx = stream.codec_context
    ctx.thread_count = 1  # one camera per thread: predictable cost, no frame-threading delay
    ctx.thread_type = "SLICE"
    if ctx.name in _INTRA_ONLY:
        # A damaged JPEG is otherwise "concealed" into a frame of garbage (measured: 2 of 3
        # damaged MJPEG frames decoded without error); each frame stands alone, so reject it.
        ctx.options = {"err_detect": "explode"}
    return OpenedSource(container, stream)


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The container's first video stream, or ``SourceError`` saying what the source is instead."""
    format_name = container.format.name
    if format_name in _NOT_VIDEO_FORMATS or not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["nothing"]
        raise SourceError(f"not a video: FFmpeg read it as '{format_name}' with {', '.join(kinds)} streams")
    return container.streams.video[0]


def describe_open_error(exc: BaseException, elapsed_s: float, open_timeout_s: float) -> str:
    """A short reason for a failed open: timeout, refused, not found, unauthorized, not video."""
    if elapsed_s >= 0.9 * open_timeout_s and isinstance(exc, (av.error.ExitError, av.error.InvalidDataError)):
        # FFmpeg reports an interrupted handshake as "invalid data" on some protocols.
        return f"no answer within the open timeout ({open_timeout_s:g} s)"
    return describe_error(exc, "cannot open")


def describe_error(exc: BaseException, what: str) -> str:
    """``what: <FFmpeg's reason>`` without the URL (it may carry credentials)."""
    if isinstance(exc, av.error.FFmpegError):
        message = exc.strerror or type(exc).__name__
        if isinstance(exc, av.error.InvalidDataError):
            message += " (not a video stream, or a format FFmpeg cannot read)"
    elif isinstance(exc, OSError):
        message = exc.strerror or str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    return redact_text(f"{what}: {message}")
