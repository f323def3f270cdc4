"""Video files (real-time pacing, as fast as possible, loop, end) and HTTP MJPEG streams."""

from __future__ import annotations

import time

import cv2
import numpy as np

from monitor.types import CameraState
from tests.support.data import VTEST, need

from .helpers import RunningReader

VTEST_FRAMES = 795  # vtest.avi: 768x576 msmpeg4v3 at 10 fps, 79.5 s


def gradient(width: int, height: int, start: int):
    """A left-to-right gradient frame: a uniform one would be reported blind, not online."""
    import numpy as np

    row = np.linspace(start, start + 150, width).clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(row[None, :, None], height, 0).repeat(3, 2))


def test_vtest_avi_replayed_as_fast_as_possible_loses_no_frame():
    path = need(VTEST, "vtest.avi")
    with RunningReader(str(path), sample_fps=5, realtime=False) as run:
        frames = []
        while True:
            frame = run.slot.take_wait(0.5)
            if frame is None and run.reader.status().state is CameraState.OFFLINE:
                break
            if frame is not None:
                frames.append(frame)
        status = run.reader.status()
    assert status.reason == "end of file"
    assert len(frames) == VTEST_FRAMES // 2 + 1  # every other frame of a 10 fps file
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
    assert frames[0].image.shape == (576, 768, 3)
    assert status.counters.slot_drops == 0 and status.counters.frames_read == VTEST_FRAMES


def test_vtest_avi_paced_at_real_time():
    path = need(VTEST, "vtest.avi")
    with RunningReader(str(path), sample_fps=4) as run:
        frames = run.frames(6, timeout=10)
    span = frames[-1].monotonic - frames[0].monotonic
    assert 0.9 <= span <= 2.5  # 5 intervals of 0.25 s of video time take ~1.25 s of wall time


def test_short_file_loops(tmp_path):
    import av
    import numpy as np

    path = tmp_path / "short.mp4"
    with av.open(str(path), "w") as out:  # a 1 s clip: 10 frames at 10 fps
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(10):
            image = gradient(160, 120, i * 20)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with RunningReader(str(path), sample_fps=10, realtime=False, loop=True, capacity=64) as run:
        frames = run.frames(30, timeout=20)
        assert run.reader.status().state is CameraState.ONLINE
    assert [f.seq for f in frames] == list(range(1, 31))
    levels = [round(f.image[:, :4].mean() / 20) for f in frames[:20]]  # the gradient starts at i * 20
    assert levels[:10] == levels[10:20] == list(range(10))  # the clip, then the clip again


def test_mjpeg_over_http(mjpeg_server):
    with RunningReader(mjpeg_server.url, sample_fps=5) as run:
        frames = run.frames(4, timeout=15)
        status = run.wait_state(CameraState.ONLINE, 1)
    assert "mjpeg" in status.reason
    assert frames[0].image.shape[2] == 3 and frames[0].image.std() > 5
    mjpeg_server.close()


def test_the_status_reason_follows_a_change_of_resolution():
    from tests.support.streams import MjpegServer

    def frames(width: int, height: int) -> list[bytes]:
        image = gradient(width, height, 50)
        return [cv2.imencode(".jpg", image)[1].tobytes()]

    server = MjpegServer(fps=10, frames=frames(640, 480))
    try:
        with RunningReader(server.url, sample_fps=5) as run:
            run.wait_state(CameraState.ONLINE, 15, reason="640x480")
            server.frames = frames(320, 240)  # the camera was reconfigured
            status = run.wait_state(CameraState.ONLINE, 15, reason="320x240")
            assert run.frames(2, timeout=10)[-1].image.shape == (240, 320, 3)  # the first may be older
    finally:
        server.close()
    assert status.reason == "receiving 320x240 mjpeg"


def test_corrupt_frames_mid_stream_are_counted_and_skipped():
    from tests.support.streams import MjpegServer

    server = MjpegServer(fps=20, corrupt_every=3)
    try:
        with RunningReader(server.url, sample_fps=20, capacity=100) as run:
            frames = run.frames(10, timeout=15)
            status = run.reader.status()
    finally:
        server.close()
    bad = status.counters.decode_errors + status.counters.corrupt_frames
    assert bad >= 3, status.counters  # every third JPEG is damaged: none may pass as a frame
    assert bad >= (status.counters.frames_read - 2) // 3, status.counters
    assert status.state is CameraState.ONLINE  # damaged frames do not drop the connection
    assert status.counters.frames_read >= len(frames) + 2  # the damaged ones were not delivered
