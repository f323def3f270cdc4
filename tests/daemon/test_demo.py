"""`crowd-monitor demo` runs the whole chain on this machine and prints the MQTT traffic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.demo import VTEST

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_prints_counts_zone_states_and_stops_cleanly():
    if not VTEST.exists():
        pytest.skip(f"{VTEST} missing (apt install opencv-doc)")
    proc = subprocess.run([sys.executable, "-m", "monitor", "demo", "--duration", "35", "--max-side", "320",
                           "--sample-fps", "2"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    lines = out.splitlines()
    topics = {line.split()[1]: line for line in lines if line[:2].isdigit()}
    assert topics["crowd/available"].split()[-1] == "stopped"
    assert any(line.split()[1:3] == ["crowd/available", "online"] for line in lines if line[:2].isdigit())
    counts = [json.loads(line.split(None, 2)[2]) for line in lines if " crowd/street/count " in line]
    assert counts and all(c["count"] >= 0 for c in counts)
    state = json.loads(topics["crowd/street/walkway/state"].split(None, 2)[2])
    assert state["area_m2"] == 180 and state["level"] in ("normal", "warning", "critical")
    assert "crowd/site/campus/state" in topics and "homeassistant/#" in topics
