"""A private Mosquitto broker on a free loopback port, for the demo and (with options) the tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..errors import UserError
from .net import HOST, free_port, wait_listening

INSTALL_HINT = "install it with: sudo apt-get install mosquitto"


def mosquitto_path() -> str | None:
    """The mosquitto binary, or None when it is not installed (Debian puts it in /usr/sbin)."""
    return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


class LocalBroker:
    """One mosquitto process bound to 127.0.0.1 with its own config and log; anonymous, no persistence.

    Subclasses add config lines by overriding ``config_lines``; ``stop()`` then ``start()`` keeps
    the port.  Without ``workdir`` a temporary folder is used and removed by ``close()``.
    """

    def __init__(self, workdir: Path | None = None, port: int | None = None):
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="crowd-monitor-broker-")
        self.workdir = Path(workdir) if workdir else Path(self._tmp.name)  # type: ignore[union-attr]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host, self.port = HOST, port or free_port()
        self.log_file = self.workdir / "mosquitto.log"
        self.config_file = self.workdir / "mosquitto.conf"
        self._proc: subprocess.Popen | None = None

    def config_lines(self) -> list[str]:
        """Lines of mosquitto.conf: the loopback listener, the log file, anonymous access."""
        return [f"listener {self.port} {HOST}", f"log_dest file {self.log_file}", "allow_anonymous true",
                "persistence false"]

    def start(self, timeout: float = 10.0) -> "LocalBroker":
        """Start mosquitto and wait until it accepts connections; ``UserError`` when it is not installed."""
        if self.running:
            return self
        exe = mosquitto_path()
        if exe is None:
            raise UserError(f"the MQTT broker Mosquitto is not installed; {INSTALL_HINT}")
        self.config_file.write_text("\n".join(self.config_lines()) + "\n")
        with open(self.workdir / "mosquitto.stderr", "wb") as errors:
            # Its own session: the terminal's Ctrl-C goes to the whole foreground process group, and
            # a broker that died first would leave the daemon's will ("offline") instead of "stopped".
            self._proc = subprocess.Popen([exe, "-c", str(self.config_file)], stdout=subprocess.DEVNULL,
                                          stderr=errors, start_new_session=True)
        if not wait_listening(self.port, timeout):
            self.kill()
            raise RuntimeError(f"mosquitto did not start on {HOST}:{self.port}:\n{self.log()}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown (SIGTERM): persistence is written, clients see the connection close."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """Abrupt end (SIGKILL)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def close(self) -> None:
        """Stop and remove the temporary folder, if this broker made one."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        """What the broker wrote so far: its log file, then anything it printed on stderr."""
        parts = [self.log_file, self.workdir / "mosquitto.stderr"]
        return "".join(p.read_text(errors="replace") for p in parts if p.exists())

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
