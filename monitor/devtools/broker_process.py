"""The mini broker as a subprocess (``python -m monitor.devtools.minibroker``), for the demo."""

from __future__ import annotations

import select
import subprocess
import sys


class BrokerProcess:
    """``python -m monitor.devtools.minibroker`` as a subprocess; ``port`` is known after ``start()``."""

    def __init__(self, port: int = 0, python: str = sys.executable):
        self.requested_port, self.python = port, python
        self.port = 0
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "BrokerProcess":
        """Start it and wait for its ``ready PORT`` line."""
        cmd = [self.python, "-m", "monitor.devtools.minibroker", "--port", str(self.requested_port)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline().split() if ready else []  # type: ignore[union-attr]
        if len(line) != 2 or line[0] != "ready":
            code = self.process.poll()
            self.stop()
            why = f"exit code {code}, its message is above" if code is not None else f"no 'ready' in {timeout:g} s"
            raise RuntimeError(f"the mini broker did not start ({why})")
        self.port = int(line[1])
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> "BrokerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
