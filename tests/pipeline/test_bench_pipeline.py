"""The ingestion benchmark runs end to end and reports what the issue asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_pipeline_reports_costs_and_cameras_per_core(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "bench_pipeline.py"), "--seconds", "3", "--out", str(out)],
                   check=True, capture_output=True, timeout=240)
    report = json.loads(out.read_text())
    for size in ("640x480", "1280x720"):
        costs = report["per_frame_ms"][size]
        assert costs["pyav_decode_ms"] > 0 and costs["opencv_grab_ms"] > 0
        camera = report["per_camera"][f"{size} gop 1s"]
        assert camera["skip_gops"]["frames_sampled"] == camera["decode_all"]["frames_sampled"] >= 2
        assert camera["skip_gops"]["packets_not_decoded"] > 0
        assert camera["decode_all"]["cameras_per_core"] > 0
