"""Reading a real RTSP server (GStreamer, H.264): frames, kill/restart, stalls, UDP, credentials."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from monitor.types import CameraState
from tests.support.data import MALL

from .helpers import RunningReader


def test_reader_delivers_real_frames_with_time_and_sequence(rtsp_server):
    before = time.time()
    with RunningReader(rtsp_server.url, sample_fps=5) as run:
        frames = run.frames(6, timeout=20)
        status = run.wait_state(CameraState.ONLINE, 1)
    assert "640x480 h264" in status.reason
    assert [f.seq for f in frames] == list(range(frames[0].seq, frames[0].seq + 6))
    for f in frames:
        assert f.image.shape == (480, 640, 3) and f.image.dtype == np.uint8
        assert before <= f.captured_at <= time.time() and f.monotonic > 0
        assert f.image.std() > 10  # a picture, not a flat or blank frame
    if (MALL / "frames" / "seq_000001.jpg").exists():
        import cv2
        first = cv2.imread(str(MALL / "frames" / "seq_000001.jpg"))
        # The server loops the Mall sequence: the static background matches a real Mall frame.
        diff = np.abs(frames[-1].image.astype(np.int16) - first.astype(np.int16)).mean()
        assert diff < 30
    assert status.counters.frames_read > status.counters.frames_sampled >= 6


def test_kill_turns_reconnecting_and_restart_comes_back_online(rtsp_server):
    with RunningReader(rtsp_server.url, sample_fps=5) as run:
        run.wait_state(CameraState.ONLINE, 20)
        killed = time.monotonic()
        rtsp_server.kill()
        run.wait_state(CameraState.RECONNECTING, 2.0 + 1.0)  # read timeout 2 s, +1 s slack
        assert time.monotonic() - killed <= 3.0
        rtsp_server.start()  # same port, like a rebooted camera
        status = run.wait_state(CameraState.ONLINE, 20)
        run.frames(2, timeout=10)
    assert status.counters.reconnects >= 1


def test_stalled_stream_is_detected_within_the_read_timeout(rtsp_server):
    with RunningReader(rtsp_server.url, sample_fps=5, read_timeout_s=2.0) as run:
        run.wait_state(CameraState.ONLINE, 20)
        rtsp_server.pause()  # connection stays open, no byte flows
        paused = time.monotonic()
        try:
            status = run.wait_state(CameraState.RECONNECTING, 6.0)
            elapsed = time.monotonic() - paused
        finally:
            rtsp_server.resume()
        # FFmpeg's default would block for minutes; the read timeout (2 s) must take effect.
        assert 1.0 <= elapsed <= 2.0 + 2.0, elapsed  # measured ~2.05 s; slack for a busy machine
        assert status.counters.stalls == 1 and "read timeout" in status.reason
        run.wait_state(CameraState.ONLINE, 20)


def test_udp_transport(rtsp_server):
    with RunningReader(rtsp_server.url, sample_fps=5, transport="udp") as run:
        run.frames(3, timeout=20)


def test_credentials_never_reach_status_or_logs(rtsp_server, caplog):
    url = rtsp_server.url.replace("rtsp://", "rtsp://admin:hunter2@").replace("/cam", "/missing")
    caplog.set_level(logging.DEBUG)
    with RunningReader(url) as run:
        status = run.wait_state(CameraState.RECONNECTING, 10, reason="404")
        assert "hunter2" not in run.reader.url
    assert "hunter2" not in status.reason
    assert all("hunter2" not in s.reason for s in run.statuses)
    assert "hunter2" not in caplog.text


def test_stop_ends_the_thread_promptly_while_streaming(rtsp_server):
    run = RunningReader(rtsp_server.url, sample_fps=2)
    with run:
        run.wait_state(CameraState.ONLINE, 20)
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    assert not run.reader.alive and run.reader.status().state is CameraState.OFFLINE
    assert run.reader.cpu_seconds > 0


@pytest.mark.parametrize("keyint", [5])
def test_low_sample_rate_skips_decoding(rtsp_server_factory, keyint):
    server = rtsp_server_factory(keyint=keyint).start()  # a keyframe every 0.5 s at 10 fps
    with RunningReader(server.url, sample_fps=1) as run:
        run.frames(3, timeout=20)
        planner = run.reader._planner
        assert planner.skipped > 0  # whole GOPs were left undecoded


def test_vtest_avi_served_over_rtsp(rtsp_server_factory):
    from tests.support.data import VTEST, need

    server = rtsp_server_factory(file=need(VTEST, "vtest.avi"), size="768x576").start()
    with RunningReader(server.url, sample_fps=5) as run:
        frames = run.frames(3, timeout=20)
    assert frames[0].image.shape == (576, 768, 3) and frames[0].image.std() > 10
