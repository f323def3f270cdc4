"""The bench: one JSON report with every engine against torch fp32 measured in the same run."""

from __future__ import annotations

import json

import numpy as np

import pytest

from engines.bench import BenchOptions, run_bench
from engines.bench.measure import Run, compare, summary, time_engine
from engines.runtimes.openvino_backend import cpu_capabilities
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
    if "BF16" in cpu_capabilities():
        assert rows["openvino:bf16"]["count_diff_pct_mean"] < 1.0
    else:  # reported as skipped with the reason, and the rest of the bench still ran
        assert report["skipped"]["openvino:bf16"] == "this CPU has no native bf16"
    assert all(row["frames"] == 4 and row["median_ms"] > 0 for row in rows.values())
    assert report["best"]["160x120"]["engine"] in rows
    assert [row["batch"] for row in report["batching"]] == [1, 2]
    assert report["roi_windows"] and all("skipped" in row for row in report["roi_windows"])  # 64 px margin
    assert "load_avg_start" in report["machine"] and "Mall" in report["frames"]["source"]
    auto = report["max_side_auto"]
    assert auto["probe_ms"] > auto["frame_ms_at_chosen_side"] > 0  # a probe runs the frame at three sizes
    assert auto["probes_first_hour"] > auto["probes_per_hour_after"] == 6  # every 600 s once settled
    assert 0 < auto["engine_time_added_pct_per_hour_after"] < auto["engine_time_added_pct_first_hour"]
    correction = report["map_correction"]  # what model.correction: on would add (off by default)
    assert not correction["on"] and correction["side"] == auto["chosen_side"] and correction["correction_ms"] > 0
    assert correction["engine_time_added_pct"] == pytest.approx(
        100 * correction["correction_ms"] / correction["frame_ms"], rel=0.05)


def test_bench_command_prints_json(tmp_path, capsys, engine_cache):
    out = tmp_path / "report.json"
    code = main(["bench", "--sizes", "96x64", "--frames", "2", "--engines", "onnxruntime:fp32", "--batch", "1",
                 "--no-resolution", "--cache-dir", engine_cache, "--out", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["results"][0]["size"] == "96x64"
    assert main(["bench", "--sizes", "big"]) == 1


def test_roi_window_rows_time_the_window_and_compare_counts_in_the_box():
    """With a uniform fake engine every map cell is 1: the box counts match exactly, the window is smaller."""
    from engines.bench.policy import ROI_BOXES, window_rows

    class Ones:
        def infer(self, batch):
            return np.ones((batch.shape[0], batch.shape[2] // 8, batch.shape[3] // 8), np.float32)

    inputs = [np.zeros((3, 480, 640), np.float32)] * 2
    full, reference = (time_engine(engine, inputs, name, "640x480") for engine, name in
                       ((Ones(), "fast"), (Ones(), "torch:fp32")))
    rows = window_rows(Ones(), "fast", inputs, full, reference)
    assert [row["roi"] for row in rows] == list(ROI_BOXES)
    lower = rows[0]
    assert lower["window"] == "640x352" and lower["area_fraction"] == round(352 / 480, 3)
    assert lower["count_in_box_diff_vs_full_frame_pct"] == 0.0
    assert lower["count_in_box_diff_vs_torch:fp32_pct_mean"] == 0.0
    assert lower["count_in_box_mean"] == 80 * 36  # rows 24..59 of the 60 x 80 map
    assert lower["median_ms"] >= 0 and "speedup_vs_torch:fp32" in lower


@pytest.mark.slow
def test_bench_shows_the_default_path_before_and_after_int8_and_a_servers_rate(engine_cache, triton_server):
    from engines.bench.default_path import float_engine_name

    before = float_engine_name()
    options = BenchOptions(sizes=[(160, 120)], frames=4, batch=2, resolution=False, cache_dir=engine_cache,
                           calib_frames=6, engines=["onnxruntime:fp32", before, "openvino:int8"],
                           server=triton_server.url(), server_clients=(1, 2))
    report = run_bench(options)
    json.dumps(report)
    row = report["default_path"][0]
    assert row["size"] == "160x120" and row["before"]["engine"] == before
    assert row["after"]["engine"] == "openvino:int8" and row["after"]["engine_name"] == "openvino-int8"
    assert row["speedup"] == pytest.approx(row["before"]["ms_per_frame"] / row["after"]["ms_per_frame"], rel=0.05)
    assert "fps_batch_2" in row["before"] and "speedup_batch_2" in row
    assert row["counts_check"]["frames"] == 4 and "reason" in row["counts_check"]
    served = report["server"]["rows"]  # the server runs ONNX Runtime fp32, as the reference here does
    assert [r["clients"] for r in served] == [1, 2] and [r["frames"] for r in served] == [8, 16]
    assert all(r["fps"] > 0 for r in served) and abs(served[0]["total_count_diff_vs_reference_pct"]) < 0.1
