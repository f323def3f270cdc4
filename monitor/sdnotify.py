"""systemd's notify protocol (READY, RELOADING, STOPPING, WATCHDOG, STATUS) without dependencies."""

from __future__ import annotations

import os
import socket
import time


class SystemdNotifier:
    """Sends ``sd_notify`` datagrams to ``$NOTIFY_SOCKET``; a no-op when not run by systemd."""

    def __init__(self, environ: dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace socket
            address = "\0" + address[1:]
        self._address = address or None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        # WATCHDOG_PID names the process the watchdog is meant for; ignore it for our children.
        watchdog_ok = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_interval_s = int(usec) / 1e6 if watchdog_ok else None

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notify socket."""
        return self._address is not None

    def notify(self, *fields: str) -> None:
        """Send ``KEY=VALUE`` fields in one datagram; errors are ignored (systemd may be gone)."""
        if not self._address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect(self._address)
                sock.sendall("\n".join(fields).encode())
            except OSError:
                pass

    def ready(self, status: str = "") -> None:
        """Start-up finished."""
        self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> None:
        """A reload started (systemd >= 253 wants MONOTONIC_USEC with it)."""
        self.notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def stopping(self) -> None:
        """Shutdown started."""
        self.notify("STOPPING=1")

    def watchdog(self) -> None:
        """Keep-alive ping; only send it when the inference loop proved it is alive."""
        self.notify("WATCHDOG=1")

    def status(self, text: str) -> None:
        """Free-text status shown by ``systemctl status``."""
        self.notify(f"STATUS={text}")
