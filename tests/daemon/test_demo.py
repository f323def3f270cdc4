"""`crowd-monitor demo` runs the whole chain on this machine, prints the MQTT traffic, and Ctrl-C ends it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monitor.demo import VTEST
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def message_lines(lines: list[str]) -> dict[str, str]:
    """The latest printed line per topic (message lines start with a HH:MM:SS time)."""
    return {line.split()[1]: line for line in lines if line[:2].isdigit()}


@contextmanager
def running_demo(*args: str) -> Iterator[tuple[subprocess.Popen, list[str]]]:
    """``crowd-monitor demo ARGS`` in its own process group (as a shell runs a foreground job) and the
    lines it prints so far; killed with its group if still running at the end."""
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "demo", "--duration", "300", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        yield proc, lines
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(10)


def wait_for_topics(proc: subprocess.Popen, lines: list[str], wanted: set[str], timeout: float = 180) -> None:
    """Until the demo has printed a message on each of ``wanted`` (or ``timeout`` s); fails if it exits."""
    deadline = time.monotonic() + timeout
    while not wanted <= set(message_lines(list(lines))) and time.monotonic() < deadline:
        assert proc.poll() is None, "".join(lines)[-3000:] + proc.stderr.read()[-3000:]
        time.sleep(0.5)


@pytest.mark.slow
def test_demo_prints_counts_zone_states_and_ctrl_c_stops_it_cleanly():
    if not VTEST.exists():
        pytest.skip(f"{VTEST} missing (apt install opencv-doc)")
    with running_demo("--max-side", "320", "--sample-fps", "2") as (proc, lines):
        wait_for_topics(proc, lines, {"crowd/street/walkway/state", "crowd/site/campus/state", "homeassistant/#",
                                      "crowd/street/count"})
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert proc.wait(timeout=60) == 0, "".join(lines)[-3000:]
    out = [line.rstrip("\n") for line in lines]
    topics = message_lines(out)
    assert topics["crowd/available"].split()[-1] == "stopped"  # not the will ('offline') of a broker gone first
    assert any(line.split()[1:3] == ["crowd/available", "online"] for line in out if line[:2].isdigit())
    counts = [json.loads(line.split(None, 2)[2]) for line in out if " crowd/street/count " in line]
    assert counts and all(c["count"] >= 0 for c in counts)
    state = json.loads(topics["crowd/street/walkway/state"].split(None, 2)[2])
    assert state["area_m2"] == 180 and state["level"] in ("normal", "warning", "critical")
    assert "crowd/site/campus/state" in topics and "homeassistant/#" in topics
    assert out[-1].startswith("demo: stopped (daemon exit code 0)")


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


@pytest.mark.slow
def test_sigterm_to_the_demo_alone_stops_its_daemon_camera_and_broker():
    if not VTEST.exists():
        pytest.skip(f"{VTEST} missing (apt install opencv-doc)")
    # `timeout 60 make demo` or a service manager signals the demo process only, not its children.
    with running_demo("--max-side", "320") as (proc, lines):
        wait_for_topics(proc, lines, {"crowd/street/count"})
        work = next(line.split()[2] for line in lines if line.startswith("demo: config "))
        work = str(Path(work).parent)
        assert processes_mentioning(work), "the demo's daemon and camera should be running"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, "".join(lines)[-3000:]
    assert lines[-1].startswith("demo: stopped (daemon exit code 0)"), lines[-5:]
    wait_until(lambda: processes_mentioning(work) == [], 10, "the demo's daemon, camera and broker to exit")
