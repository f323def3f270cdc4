"""Layers import downwards only: geometry below config below the stages, and the daemon without the demo's stand-ins.

Checked in a fresh interpreter by what a real code path leaves in ``sys.modules`` (lazy imports
included, as they run), not by reading source.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABOVE_CONFIG = ("monitor.zones", "monitor.sources", "monitor.pipeline", "monitor.publish", "monitor.health",
                "monitor.daemon", "monitor.commands", "monitor.devtools", "monitor.demo")


def loaded_after(code: str) -> list[str]:
    """The ``monitor`` modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys; print(json.dumps(sorted(m for m in sys.modules if m.startswith('monitor'))))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_geometry_imports_no_other_part_of_monitor():
    assert loaded_after("import monitor.geometry") == ["monitor", "monitor.geometry"]


def test_checking_a_calibrated_config_stays_in_config_and_geometry():
    # example.yaml has a calibrated camera: the floor-area check runs, lazy imports included.
    loaded = loaded_after("from monitor.config import load_config; load_config('config/example.yaml')")
    assert "monitor.geometry" in loaded
    assert [m for m in loaded if m.startswith(ABOVE_CONFIG)] == []


def test_the_daemon_never_imports_the_demo_stand_ins():
    # What `crowd-monitor run` imports: the CLI with every verb's arguments, then the daemon.
    loaded = loaded_after("import monitor.cli; monitor.cli.build_parser(); import monitor.daemon.service")
    assert "monitor.daemon.service" in loaded
    assert [m for m in loaded if m.startswith(("monitor.devtools", "monitor.demo"))] == []
