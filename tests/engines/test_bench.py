"""The bench: one JSON report with every engine against torch fp32 measured in the same run."""

from __future__ import annotations

import json

import pytest

from engines.bench import BenchOptions, run_bench
from engines.bench.measure import Run, compare, summary
from monitor.cli import main

pytest.importorskip("torch", reason="torch fp32 is the bench's reference")


def test_compare_and_summary_arithmetic():
    import numpy as np

    ref = Run("torch:fp32", "8x8", 1, [100.0, 300.0], [np.full((2, 2), 2.5), np.full((2, 2), 5.0)])
    fast = Run("x", "8x8", 1, [10.0, 30.0], [np.full((2, 2), 2.5) * 1.01, np.full((2, 2), 5.0) * 0.99])
    fast.maps[0][0, 0] += 0.001  # not constant, so the correlation is defined
    row = summary(fast, ref, truth=[10, 21])
    assert row["speedup_vs_reference"] == 10.0 and row["fps"] == 50.0
    assert row["count_diff_pct_mean"] == pytest.approx(1.0, abs=0.01)
    assert row["total_count_diff_pct"] == pytest.approx(-1 / 3, abs=0.01)
    assert row["mae"] == pytest.approx((0.1 + 1.2) / 2, abs=0.01)
    assert compare(ref, ref)["count_diff_pct_max"] == 0.0


@pytest.mark.slow
def test_bench_report_on_small_real_frames(engine_cache):
    options = BenchOptions(sizes=[(160, 120)], frames=4, batch=2, resolution=False, cache_dir=engine_cache,
                           engines=["torch:fp32", "onnxruntime:fp32", "openvino:bf16", "tensorrt:fp16", "x:y"])
    report = run_bench(options)
    json.dumps(report)  # serialisable as is
    assert report["reference"] == "torch:fp32"
    assert set(report["skipped"]) >= {"x:y"} and "unknown engine" in report["skipped"]["x:y"]
    rows = {row["engine"]: row for row in report["results"]}
    assert rows["torch:fp32"]["speedup_vs_reference"] == 1.0 and rows["torch:fp32"]["count_diff_pct_max"] == 0
    assert rows["onnxruntime:fp32"]["count_diff_pct_max"] < 0.01
    assert rows["openvino:bf16"]["count_diff_pct_mean"] < 1.0
    assert all(row["frames"] == 4 and row["median_ms"] > 0 for row in rows.values())
    assert report["best"]["160x120"]["engine"] in rows
    assert [row["batch"] for row in report["batching"]] == [1, 2]
    assert "load_avg_start" in report["machine"] and "Mall" in report["frames"]["source"]


def test_bench_command_prints_json(tmp_path, capsys, engine_cache):
    out = tmp_path / "report.json"
    code = main(["bench", "--sizes", "96x64", "--frames", "2", "--engines", "onnxruntime:fp32", "--batch", "1",
                 "--no-resolution", "--cache-dir", engine_cache, "--out", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["results"][0]["size"] == "96x64"
    assert main(["bench", "--sizes", "big"]) == 1
