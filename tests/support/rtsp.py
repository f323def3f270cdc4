"""RTSP server fixtures: the package's GStreamer camera stand-in, serving real Mall frames when present.

Tests skip with a reason when GStreamer's RTSP server cannot run here.
"""

from __future__ import annotations

import pytest

from monitor.devtools import camera
from monitor.devtools.camera import gst_available
from monitor.devtools.net import free_port

from .data import MALL

__all__ = ["RtspServer", "free_port", "gst_available"]


class RtspServer(camera.RtspServer):
    """The package's RTSP camera, defaulting to the real Mall frames when they are present."""

    def __init__(self, port=None, *, real_frames: bool = True, **options):
        if (real_frames and options.get("frames") is None and options.get("file") is None
                and (MALL / "frames" / "seq_000001.jpg").exists()):
            options["frames"] = MALL / "frames"
        super().__init__(port, **options)


@pytest.fixture(scope="session")
def gst_rtsp() -> None:
    """Skips the test when the GStreamer RTSP server cannot run on this machine."""
    reason = gst_available()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def rtsp_server(gst_rtsp):
    """A started RTSP server (real Mall frames when present), killed after the test."""
    with RtspServer() as server:
        yield server


@pytest.fixture
def rtsp_server_factory(gst_rtsp):
    """Makes RTSP servers (``factory(**RtspServer kwargs)``, not started); all killed after the test."""
    servers: list[RtspServer] = []

    def make(**kwargs) -> RtspServer:
        server = RtspServer(**kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.__exit__(None, None, None)
