"""Where the daemon and its tools keep state: calibration snapshots, fine-tuned models, history."""

from __future__ import annotations

import os
from pathlib import Path

STATE_ENV = "STATE_DIRECTORY"  # set by systemd's StateDirectory=


def state_dir(configured: str | None = None) -> Path:
    """``configured`` (the config's ``state_dir``), else $STATE_DIRECTORY (systemd), else
    $XDG_STATE_HOME or ~/.local/state, /crowd-monitor."""
    if configured:
        return Path(configured).expanduser()
    systemd = os.environ.get(STATE_ENV, "").split(":")[0]  # systemd may list several, ':'-separated
    if systemd:
        return Path(systemd)
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "crowd-monitor"
