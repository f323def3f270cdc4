"""A real RTSP camera (GStreamer rtsp-server, H.264) run as a subprocess on a free loopback port.

The server runs under Debian's /usr/bin/python3 (python3-gi): ``gst_available()`` says why not when
it cannot.  It serves a folder of numbered JPEG frames, a video file, or a test pattern.
``kill()`` and ``start()`` again reuse the same port, like a camera that reboots.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

from .net import free_port

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")


def gst_available() -> str | None:
    """None when the GStreamer RTSP server can run here, else why not."""
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} not found"
    probe = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
             "from gi.repository import Gst, GstRtspServer; Gst.init(None);"
             "assert Gst.ElementFactory.find('x264enc'), 'x264enc missing'")
    result = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        return (f"GStreamer RTSP server unavailable ({last}); apt: python3-gi gir1.2-gst-rtsp-server-1.0"
                " gstreamer1.0-plugins-ugly")
    return None


class RtspServer:
    """``rtsp://127.0.0.1:PORT/cam`` served by a GStreamer subprocess."""

    def __init__(self, port: int | None = None, *, size: str = "640x480", fps: int = 10, keyint: int = 10,
                 frames: Path | None = None, pattern: str = "seq_%06d.jpg", file: Path | None = None):
        self.port = port or free_port()
        self.size, self.fps, self.keyint = size, fps, keyint
        self.frames, self.pattern, self.file = frames, pattern, file
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The stream's URL."""
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def url_for(self, path: str) -> str:
        """A URL on this server with another path (for wrong-path tests)."""
        return f"rtsp://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def start(self, timeout: float = 20.0) -> "RtspServer":
        """Start (or restart) the server on its port; waits until it listens."""
        args = [SYSTEM_PYTHON, str(SERVER_SCRIPT), str(self.port), "--size", self.size,
                "--fps", str(self.fps), "--keyint", str(self.keyint)]
        if self.frames:
            args += ["--frames", str(self.frames), "--pattern", self.pattern]
        elif self.file:
            args += ["--file", str(self.file)]
        deadline = time.monotonic() + timeout
        while True:
            # Its own session: a Ctrl-C meant for the demo must not stop the camera before the daemon.
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                            start_new_session=True)
            if self._wait_ready(deadline):
                return self
            err = self.process.stderr.read() if self.process.poll() is not None else ""
            self.kill()
            if time.monotonic() >= deadline:  # the port may linger briefly after a kill: retry
                raise RuntimeError(f"RTSP server did not start on port {self.port}: {err.strip()}")
            time.sleep(0.3)

    def _wait_ready(self, deadline: float) -> bool:
        assert self.process is not None and self.process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                return self.process.stdout.readline().strip() == "ready"
            if self.process.poll() is not None:
                return False
        return False

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), like a camera losing power."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self.process is not None:
            for stream in (self.process.stdout, self.process.stderr):
                if stream:
                    stream.close()
        self.process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but no data flows (a stall)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo ``pause``."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> "RtspServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
        self.kill()
