"""Unit tests of the reader's logic: URL redaction, backoff, sampling and decode planning."""

from __future__ import annotations

import random

import pytest

from monitor.backoff import Backoff
from monitor.sources import SourceKind, classify, redact_text, redact_url
from monitor.sources.kinds import open_spec
from monitor.sources.sampler import DecodePlanner, Sampler


@pytest.mark.parametrize("url", [
    "rtsp://admin:hunter2@cam.local:554/Streaming/Channels/101",
    "http://viewer:hunter2@10.1.2.3/axis-cgi/mjpg/video.cgi?resolution=640x480",
    "rtsp://cam.local/live?user=admin&password=hunter2&channel=1",
    "https://cam.local/stream.mjpg?token=hunter2",
])
def test_redact_url_removes_secrets(url):
    redacted = redact_url(url)
    assert "hunter2" not in redacted
    assert "***" in redacted
    assert redacted.split("://")[0] == url.split("://")[0]


def test_redact_url_keeps_urls_without_secrets():
    for url in ("rtsp://cam.local/stream1", "/var/video/entrance.mp4", "/dev/video0",
                "http://cam/video.mjpg?resolution=640x480"):
        assert redact_url(url) == url


def test_redact_text_masks_urls_inside_messages():
    text = "Server returned 404 Not Found: 'rtsp://admin:hunter2@10.0.0.5/x'"
    assert "hunter2" not in redact_text(text)
    assert "10.0.0.5/x" in redact_text(text)


def test_classify_and_open_options():
    assert classify("rtsp://x/y") is SourceKind.RTSP
    assert classify("HTTPS://x/y.mjpg") is SourceKind.HTTP
    assert classify("/dev/video2") is SourceKind.DEVICE and classify("0") is SourceKind.DEVICE
    assert classify("clips/a.mp4") is SourceKind.FILE
    assert open_spec("rtsp://x/y").options["rtsp_transport"] == "tcp"
    assert open_spec("rtsp://x/y", "udp").options["rtsp_transport"] == "udp"
    device = open_spec("1")
    assert device.format == "v4l2" and device.target == "/dev/video1"


def test_backoff_grows_is_capped_and_jittered():
    backoff = Backoff(1.0, 8.0, jitter=0.3, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    bases = [1, 2, 4, 8, 8, 8, 8, 8]
    for delay, base in zip(delays, bases):
        assert 0.7 * base - 1e-9 <= delay <= base
    assert len({round(d, 6) for d in delays[3:]}) > 1  # jitter: capped delays differ
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_sampler_keeps_the_asked_rate_on_a_25fps_timeline():
    sampler = Sampler(2.0)
    kept = []
    for i in range(25 * 10):  # 10 s at 25 fps
        t = i / 25
        if sampler.due(t):
            sampler.take(t)
            kept.append(t)
    assert len(kept) == 20
    assert all(abs((b - a) - 0.5) < 0.05 for a, b in zip(kept, kept[1:]))


def test_sampler_restarts_after_a_gap_and_after_time_goes_back():
    sampler = Sampler(1.0)
    sampler.take(0.0)
    assert sampler.due(100.0)  # gap: due at once
    sampler.take(100.0)
    assert sampler.next_due == pytest.approx(101.0)
    assert sampler.due(0.0)  # a looped file starts again at 0


def _simulate(sample_fps: float, gop: int, fps: int = 25, seconds: int = 20):
    """Decode decisions on a synthetic stream; returns (kept times, decoded count)."""
    sampler = Sampler(sample_fps)
    planner = DecodePlanner(sampler)
    decodable, kept, decoded = False, [], 0
    for i in range(fps * seconds):
        t, key = i / fps, i % gop == 0
        if not planner.want(t, key, t):
            decodable = False  # a skipped packet breaks the chain until the next keyframe
            continue
        decodable = decodable or key
        assert decodable, "planner decoded a P-frame whose reference was skipped"
        decoded += 1
        if sampler.due(t, key):
            sampler.take(t)
            planner.taken(t)
            kept.append(t)
    return kept, decoded


@pytest.mark.parametrize("sample_fps,gop", [(2.0, 25), (2.0, 50), (0.5, 25), (1.0, 12), (5.0, 25)])
def test_planner_skips_frames_without_losing_samples(sample_fps, gop):
    kept, decoded = _simulate(sample_fps, gop)
    expected = 20 * sample_fps
    assert len(kept) >= expected * 0.9
    assert decoded < 25 * 20  # something was skipped in every case
    if sample_fps <= 25 / gop:  # at most one sample per GOP: mostly keyframes get decoded
        assert decoded <= 0.3 * 25 * 20


def test_planner_decodes_everything_when_disabled():
    sampler = Sampler(1.0)
    planner = DecodePlanner(sampler, enabled=False)
    assert all(planner.want(i / 25, i % 25 == 0, i / 25) for i in range(100))
