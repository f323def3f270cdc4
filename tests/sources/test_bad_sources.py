"""Sources that never answer, 404, are not video, or send garbage: a clear status, no hang."""

from __future__ import annotations

import time

import pytest

from monitor.types import CameraState
from tests.support.rtsp import free_port

from .helpers import RunningReader


def _fails_with(url: str, reason: str, within: float, **config):
    """The reader reports ``reconnecting`` with ``reason`` within ``within`` s, keeps retrying, stops."""
    with RunningReader(url, **config) as run:
        started = time.monotonic()
        status = run.wait_state(CameraState.RECONNECTING, within, reason=reason)
        elapsed = time.monotonic() - started
        time.sleep(0.5)
        assert run.reader.alive  # still retrying, not dead
    assert run.reader.status().state is CameraState.OFFLINE  # stopped
    return status, elapsed


def test_url_that_never_answers_hits_the_open_timeout(silent_server):
    status, elapsed = _fails_with(f"rtsp://127.0.0.1:{silent_server.port}/cam", "no answer within the open timeout",
                                  within=2.0 + 2.0, open_timeout_s=2.0)
    assert elapsed >= 1.5  # waited for the timeout, not an instant refusal
    assert silent_server.connections >= 1


def test_http_url_that_never_answers(silent_server):
    _fails_with(f"http://127.0.0.1:{silent_server.port}/video.mjpg", "no answer within the open timeout",
                within=4.0, open_timeout_s=2.0)


def test_wrong_rtsp_path_says_not_found(rtsp_server):
    _fails_with(rtsp_server.url_for("no-such-stream"), "404 Not Found", within=5.0)


def test_connection_refused():
    _fails_with(f"rtsp://127.0.0.1:{free_port()}/cam", "Connection refused", within=3.0)


def test_missing_file_and_device(tmp_path):
    _fails_with(str(tmp_path / "nope.mp4"), "No such file", within=3.0)
    _fails_with("/dev/video63", "No such file", within=3.0)


@pytest.mark.parametrize("name,content", [
    ("notes.txt", b"this is a text file, not a camera\n" * 50),  # FFmpeg would render it as ANSI art
    ("config.yaml", b"cameras:\n  a: {url: x}\n" * 20),
    ("clip.mp4", bytes(range(256)) * 400),
])
def test_non_video_file_says_so(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    status, _ = _fails_with(str(path), "", within=3.0)
    assert "not a video" in status.reason, status.reason


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_stream_of_garbage_bytes(garbage_server, scheme):
    status, _ = _fails_with(f"{scheme}://127.0.0.1:{garbage_server.port}/cam", "", within=6.0, open_timeout_s=3.0)
    reason = status.reason
    assert any(word in reason for word in ("invalid data", "Invalid data", "not a video", "no answer")), reason


def test_offline_after_failing_long_enough():
    with RunningReader(f"rtsp://127.0.0.1:{free_port()}/cam", offline_after_s=1.0) as run:
        run.wait_state(CameraState.RECONNECTING, 3.0)
        status = run.wait_state(CameraState.OFFLINE, 4.0)
        assert "refused" in status.reason
        assert run.reader.alive  # offline cameras keep retrying with the capped backoff
