"""The systemd unit verifies, and the notify protocol reaches a real datagram socket."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from monitor.health.auth import CREDENTIAL
from monitor.sdnotify import SystemdNotifier

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "crowd-monitor.service"
DROP_IN = ROOT / "systemd" / "console-writes.conf"
INSTALLED = "/opt/crowd-monitor/.venv/bin/crowd-monitor"  # where the unit expects the executable


def verify_problems(folder: Path, drop_ins: tuple[Path, ...] = ()) -> str | None:
    """``systemd-analyze verify`` of the unit with ``drop_ins`` in its ``.d/`` folder, all pointed at this
    checkout's executable so verify can check ExecStart/ExecStartPre exist: its output when it objects."""
    exe = ROOT / ".venv" / "bin" / "crowd-monitor"
    if not exe.exists():
        pytest.skip("no .venv/bin/crowd-monitor; run `make setup-dev`")
    unit = folder / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(exe)))
    for drop_in in drop_ins:
        target = folder / f"{UNIT.name}.d" / drop_in.name
        target.parent.mkdir(exist_ok=True)
        target.write_text(drop_in.read_text().replace(INSTALLED, str(exe)))
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines() if UNIT.name in line]
    return proc.stdout + proc.stderr if proc.returncode != 0 or problems else None


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_unit_passes_systemd_analyze_verify(tmp_path):
    problems = verify_problems(tmp_path)
    assert problems is None, problems


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_console_writes_drop_in_verifies_with_the_unit(tmp_path):
    problems = verify_problems(tmp_path, (DROP_IN,))
    assert problems is None, problems


def test_console_writes_drop_in_keeps_the_config_in_the_state_directory_and_loads_the_token():
    unit, drop_in = unit_keys(UNIT), unit_keys(DROP_IN)
    state = f"/var/lib/{unit['StateDirectory'][0]}/"
    # An empty ExecStart= first clears the unit's own command: systemd refuses two for Type=notify.
    assert drop_in["ExecStart"][0] == "" and drop_in["ExecStartPre"][0] == ""
    run, check = drop_in["ExecStart"][1].split(), drop_in["ExecStartPre"][1].split()
    assert run[1:3] == ["run", "-c"] and run[3].startswith(state)
    assert check[1] == "check-config" and check[2] == run[3]
    assert [v.split(":")[0] for v in drop_in["LoadCredential"]] == [CREDENTIAL]


def unit_keys(path: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, values in file order."""
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_unit_declares_notify_watchdog_credentials_and_hardening():
    keys = unit_keys(UNIT)
    assert keys["Type"] == ["notify"]
    assert keys["WatchdogSec"] and keys["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert any(v.startswith("MQTT_PASSWORD:") for v in keys["LoadCredential"])
    for hardening in ("DynamicUser", "ProtectSystem", "NoNewPrivileges", "PrivateTmp"):
        assert hardening in keys
    assert any("/dev/nvidiactl" in v for v in keys["DeviceAllow"])


def test_notifier_sends_datagrams_to_notify_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(2)
        notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000",
                                    "WATCHDOG_PID": str(os.getpid())})
        assert notifier.enabled and notifier.watchdog_interval_s == 4.0
        notifier.ready("2 cameras")
        notifier.watchdog()
        notifier.reloading()
        notifier.stopping()
        got = [server.recv(4096).decode() for _ in range(4)]
    assert got[0] == "READY=1\nSTATUS=2 cameras"
    assert got[1] == "WATCHDOG=1"
    assert got[2].startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert got[3] == "STOPPING=1"


def test_notifier_is_silent_without_systemd():
    notifier = SystemdNotifier({})
    assert not notifier.enabled and notifier.watchdog_interval_s is None
    notifier.ready()  # must not raise


def test_watchdog_for_another_pid_is_ignored():
    notifier = SystemdNotifier({"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert notifier.watchdog_interval_s is None
