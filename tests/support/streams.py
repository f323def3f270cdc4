"""Small misbehaving (and one well-behaved) stream servers on free loopback ports, for reader tests.

- ``MjpegServer``: HTTP multipart/x-mixed-replace JPEG stream, like an IP camera's MJPEG endpoint.
- ``GarbageServer``: accepts connections and answers with random bytes.
- ``SilentServer``: accepts connections and never says anything.
Each runs in daemon threads of the test process, sends a bounded amount, and stops on ``close``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from .data import MALL


def jpeg_frames(n: int = 20, size: tuple[int, int] = (640, 480)) -> list[bytes]:
    """JPEG images: Mall frames when present, else generated moving squares."""
    frames = []
    for i in range(n):
        path = MALL / "frames" / f"seq_{i + 1:06d}.jpg"
        if path.exists():
            frames.append(path.read_bytes())
            continue
        image = np.repeat(np.linspace(40, 200, size[0], dtype=np.uint8)[None, :, None], size[1], 0).repeat(3, 2)
        image = np.ascontiguousarray(image)  # a gradient: a uniform picture would be reported blind
        x = (i * 23) % (size[0] - 60)
        cv2.rectangle(image, (x, 100), (x + 60, 160), (0, 200, 255), -1)
        frames.append(cv2.imencode(".jpg", image)[1].tobytes())
    return frames


class _TcpServer:
    """Accept loop on a free loopback port, one thread per connection."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.closed = threading.Event()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._serve_and_close, args=(conn,), daemon=True).start()

    def _serve_and_close(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def serve(self, conn: socket.socket) -> None:
        """Handle one connection."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop accepting; open connections end within a fraction of a second."""
        self.closed.set()
        self._sock.close()


class GarbageServer(_TcpServer):
    """Answers every connection with up to ``limit`` random bytes, then hangs up."""

    def __init__(self, limit: int = 2_000_000) -> None:
        self.limit = limit
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        sent = 0
        while sent < self.limit and not self.closed.is_set():
            conn.sendall(os.urandom(4096))
            sent += 4096
            time.sleep(0.002)


class SilentServer(_TcpServer):
    """Accepts connections and keeps them open without a byte, until closed."""

    def serve(self, conn: socket.socket) -> None:
        self.closed.wait()


class MjpegServer:
    """``http://127.0.0.1:PORT/video.mjpg``: JPEG frames at ``fps`` as multipart/x-mixed-replace."""

    def __init__(self, fps: float = 10.0, frames: list[bytes] | None = None, corrupt_every: int = 0):
        self.frames = frames or jpeg_frames()
        self.fps = fps
        self.corrupt_every = corrupt_every  # every k-th JPEG has its entropy-coded data overwritten
        self.closed = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path != "/video.mjpg":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    self._stream()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the reader hung up

            def _stream(self) -> None:
                i = 0
                while not server.closed.is_set():
                    data = server.frames[i % len(server.frames)]
                    if server.corrupt_every and i % server.corrupt_every == server.corrupt_every - 1:
                        data = data[:len(data) // 3] + os.urandom(len(data) // 3) + data[2 * len(data) // 3:]
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                     + f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                    i += 1
                    time.sleep(1.0 / server.fps)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    @property
    def url(self) -> str:
        """The stream's URL."""
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def close(self) -> None:
        """Stop serving and end the open streams."""
        self.closed.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def mjpeg_server():
    """A running MJPEG-over-HTTP server."""
    server = MjpegServer()
    yield server
    server.close()


@pytest.fixture
def garbage_server():
    """A TCP server that answers with random bytes."""
    server = GarbageServer()
    yield server
    server.close()


@pytest.fixture
def silent_server():
    """A TCP server that accepts and never answers."""
    server = SilentServer()
    yield server
    server.close()
