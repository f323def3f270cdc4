"""One thread per camera: open, read, sample, hand frames to the slot; reconnect on failure."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import av

from ..backoff import Backoff
from ..config.camera import CameraConfig
from ..types import CameraState, CameraStatus, Frame
from .kinds import OpenSpec, SourceKind, open_spec
from .picture import PictureWatch
from .redact import redact_url
from .sampler import DecodePlanner, Sampler
from .status import StatusTracker
from .stream import OpenedSource, SourceEnded, SourceError, describe_error, open_source

log = logging.getLogger("monitor.sources")


class CameraReader:
    """Reads one camera in its own thread and puts sampled frames into ``slot``.

    Status changes go to ``on_status`` (called from the reader thread: keep it cheap).  The
    reader never gives up on its own: it reconnects with capped exponential backoff and jitter,
    reports ``reconnecting`` at once and ``offline`` after ``offline_after_s``.  Only a file that
    ends without ``loop`` stops it (state ``offline``, reason ``end of file``).
    """

    def __init__(self, name: str, config: CameraConfig, slot, on_status: Callable[[CameraStatus], None] | None = None,
                 *, skip_gops: bool = True, jitter: float = 0.3):
        self.name = name
        self.config = config
        self.slot = slot
        self._spec: OpenSpec = open_spec(config.url, config.transport)
        self._tracker = StatusTracker(name, on_status)
        self._backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s, jitter)
        self._sampler = Sampler(config.sample_fps)
        self._planner = DecodePlanner(self._sampler, enabled=skip_gops)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._cpu_s = 0.0
        self._cpu_origin = 0.0
        self._failing_since: float | None = None
        self._size: tuple[int, int] | None = None  # of the latest decoded frame
        self._picture = PictureWatch(config.frozen_after_s)
        self._receiving = "receiving"  # the online reason: size and codec of the stream

    # -- control -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the reader thread."""
        if self._thread is not None:
            raise RuntimeError(f"camera {self.name}: reader already started")
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop reading; True when the thread has ended within ``timeout``.

        A read blocked on a silent stream returns at the latest after the read timeout (FFmpeg
        cannot be interrupted from outside); the thread is a daemon, so it never blocks exit.
        """
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        ended = not self._thread.is_alive()
        if not ended:
            log.warning("camera %s: reader still blocked in a read after %.1f s", self.name, timeout)
        return ended

    def status(self) -> CameraStatus:
        """Current state, reason and counters."""
        self._tracker.set_counter("slot_drops", getattr(self.slot, "drops", 0))
        return self._tracker.snapshot()

    @property
    def alive(self) -> bool:
        """Whether the reader thread is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def cpu_seconds(self) -> float:
        """CPU time the reader thread has used (demux, decode, colour conversion)."""
        return self._cpu_s

    @property
    def url(self) -> str:
        """The source URL with credentials masked (safe to log)."""
        return redact_url(self.config.url)

    # -- thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        self._cpu_origin = time.thread_time()
        try:
            self._loop()
        finally:
            self._cpu_s = time.thread_time() - self._cpu_origin
            if self._stop.is_set():
                self._tracker.set(CameraState.OFFLINE, "stopped")

    def _loop(self) -> None:
        attempts = 0
        while not self._stop.is_set():
            if attempts:
                self._tracker.count("reconnects")
            attempts += 1
            try:
                self._session()
                return  # only returns normally when asked to stop
            except SourceEnded:
                self._tracker.set(CameraState.OFFLINE, "end of file")
                return
            except SourceError as exc:
                if exc.counter:
                    self._tracker.count(exc.counter)
                reason = str(exc)
            except Exception as exc:  # a bug or an unexpected library error must not end the camera
                log.exception("camera %s: unexpected reader error", self.name)
                reason = describe_error(exc, "reader error")
            if self._stop.is_set():
                return
            self._wait_before_retry(reason)

    def _wait_before_retry(self, reason: str) -> None:
        """Report the failure and wait the backoff delay, turning ``offline`` when it lasts."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        retry_at = now + self._backoff.next_delay()
        offline_at = self._failing_since + self.config.offline_after_s
        while not self._stop.is_set():
            now = time.monotonic()
            state = CameraState.OFFLINE if now >= offline_at else CameraState.RECONNECTING
            self._tracker.set(state, reason)
            if now >= retry_at:
                return
            wake = retry_at if state is CameraState.OFFLINE else min(retry_at, offline_at)
            self._stop.wait(max(0.0, wake - now))

    def _session(self) -> None:
        source = open_source(self._spec, self.config.open_timeout_s, self.config.read_timeout_s)
        try:
            self._read(source)
        finally:
            source.close()

    def _read(self, source: OpenedSource) -> None:
        """Demux, decode what sampling needs, deliver; raises on stall, end or broken stream."""
        live = self._spec.kind.live
        self._sampler.reset()
        self._planner.reset()
        demux = source.container.demux(source.stream)
        pace = _Pacer() if not live and self.config.realtime else None
        last_progress = time.monotonic()
        while not self._stop.is_set():
            packet = self._next_packet(demux)
            if packet is None:  # end of a file that loops
                source.container.seek(0)
                source.stream.codec_context.flush_buffers()
                demux = source.container.demux(source.stream)
                self._sampler.reset()
                self._planner.reset()
                pace = _Pacer() if pace else None
                continue
            if packet.size == 0:
                continue  # the demuxer's flush packet before the end
            self._tracker.count("frames_read")
            media_t = _packet_time(packet)
            t = time.monotonic() if live else (media_t or 0.0)
            if pace is not None and not pace.wait(t, self._stop):
                return
            if self._decode(packet, t, media_t, source):
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > self.config.read_timeout_s:
                raise SourceError(f"no decodable frame for {self.config.read_timeout_s:g} s")
            self._cpu_s = time.thread_time() - self._cpu_origin

    def _next_packet(self, demux):
        """Next packet; None at the end of a looping file; raises for every other ending."""
        try:
            return next(demux)
        except (StopIteration, av.error.EOFError):
            if self._spec.kind is not SourceKind.FILE:
                raise SourceError("stream ended: the server closed the connection") from None
            if not self.config.loop:
                raise SourceEnded() from None
            return None
        except av.error.ExitError:
            raise SourceError(f"stalled: no data for {self.config.read_timeout_s:g} s (read timeout)", "stalls") from None
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(describe_error(exc, "read failed")) from None

    def _decode(self, packet, t: float, media_t: float | None, source: OpenedSource) -> bool:
        """Decode the packet when sampling needs it; True when it made progress (frame or skip)."""
        if packet.is_corrupt:
            self._tracker.count("corrupt_frames")
        if not self._planner.want(t, packet.is_keyframe, media_t):
            return True
        try:
            frames = packet.decode()
        except (av.error.FFmpegError, ValueError) as exc:
            self._tracker.count("decode_errors")
            log.debug("camera %s: %s", self.name, describe_error(exc, "decode error"))
            return False
        progressed = False
        for frame in frames:
            if frame.is_corrupt:
                self._tracker.count("corrupt_frames")
                continue  # concealed garbage would be counted as people
            progressed = True
            if self._tracker.state not in (CameraState.ONLINE, CameraState.BLIND) or \
                    (frame.width, frame.height) != self._size:
                self._went_online(frame, source)  # also on a new resolution: the reason names the size
            frame_t = t if self._spec.kind.live or frame.time is None else float(frame.time)
            if self._sampler.due(frame_t, bool(frame.key_frame)):
                self._sampler.take(frame_t)
                self._planner.taken(frame_t)
                self._deliver(frame.to_ndarray(format="bgr24"))
        return progressed

    def _went_online(self, frame, source: OpenedSource) -> None:
        self._size = (frame.width, frame.height)
        self._failing_since = None
        self._backoff.reset()
        self._receiving = f"receiving {frame.width}x{frame.height} {source.stream.codec_context.name}"
        self._tracker.set(CameraState.ONLINE, self._receiving)

    def _deliver(self, image) -> None:
        blind = self._picture.check(image, time.monotonic())
        if blind is not None:
            self._tracker.count("blind_frames")
            self._tracker.set(CameraState.BLIND, blind)
            return  # nothing to count: the model would read phantom people in it
        if self._tracker.state is CameraState.BLIND:
            self._tracker.set(CameraState.ONLINE, self._receiving)
        self._seq += 1
        frame = Frame(self.name, self._seq, time.time(), image, time.monotonic())
        if self._spec.kind is SourceKind.FILE and not self.config.realtime:
            # Replay for evaluation: wait for the worker instead of dropping frames.
            while not self.slot.wait_for_room(0.2):
                if self._stop.is_set():
                    return
        self.slot.put(frame)
        self._tracker.count("frames_sampled")
        self._tracker.set_counter("slot_drops", self.slot.drops)


def _packet_time(packet) -> float | None:
    """Media time of a packet in seconds (pts, else dts), None when it has neither."""
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.time_base is None:
        return None
    return float(ts * packet.time_base)


class _Pacer:
    """Sleeps so that a file's media time advances no faster than the wall clock."""

    def __init__(self):
        self._origin: tuple[float, float] | None = None

    def wait(self, media_t: float, stop: threading.Event) -> bool:
        """Wait until ``media_t`` is due; False when ``stop`` was set meanwhile."""
        now = time.monotonic()
        if self._origin is None or media_t < self._origin[1]:
            self._origin = (now, media_t)
            return True
        delay = self._origin[0] + (media_t - self._origin[1]) - now
        return delay <= 0 or not stop.wait(delay)
