"""A private MQTT broker on a free loopback port: Mosquitto when installed, else the embedded one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .camera import free_port


def wait_listening(port: int, timeout: float = 10.0) -> bool:
    """True once something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class LocalBroker:
    """Mosquitto bound to 127.0.0.1 with anonymous access, or the embedded broker as a fallback."""

    def __init__(self, port: int | None = None, *, prefer_mosquitto: bool = True):
        self.port = port or free_port()
        self.prefer_mosquitto = prefer_mosquitto
        self.kind = "none"
        self._process: subprocess.Popen | None = None
        self._embedded = None
        self._dir = tempfile.TemporaryDirectory(prefix="crowd-monitor-broker-")

    def start(self) -> "LocalBroker":
        """Start Mosquitto, or the embedded broker when the mosquitto binary is missing."""
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if exe and self.prefer_mosquitto:
            conf = Path(self._dir.name) / "mosquitto.conf"
            conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                            f"log_dest file {Path(self._dir.name) / 'mosquitto.log'}\n")
            # Its own session: the terminal's Ctrl-C goes to the whole foreground process group, and
            # a broker that died first would leave the daemon's will ("offline") instead of "stopped".
            self._process = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, start_new_session=True)
            if wait_listening(self.port):
                self.kind = "mosquitto"
                return self
            self.stop()
        from .minibroker import MiniBroker

        self._embedded = MiniBroker("127.0.0.1", self.port)
        self._embedded.start()
        self.kind = "embedded"
        return self

    def stop(self) -> None:
        """Stop whichever broker runs."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None
        self._dir.cleanup()
