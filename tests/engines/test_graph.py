"""The ONNX graph built from the weights dict (no torch): equal to torch, dynamic shapes, cached."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from engines.graph import INPUT_NAME, OUTPUT_NAME, build_graph, cached_graph_path
from engines.weights import weights_digest

ort = pytest.importorskip("onnxruntime", reason="runs the graph: pip install 'crowd-monitor[onnxruntime]'")


def run_graph(model_or_path, batch: np.ndarray) -> np.ndarray:
    """Density maps (N x h x w) from an ONNX model under ONNX Runtime."""
    source = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else str(model_or_path)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: batch})[0][:, 0]


def test_graph_matches_torch_on_real_frames(graph_path, small_batch, reference_maps):
    maps = run_graph(graph_path, small_batch)
    assert maps.shape == reference_maps.shape == (2, 15, 20)
    np.testing.assert_allclose(maps, reference_maps, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), reference_maps.sum(axis=(1, 2)), rtol=1e-5)


def test_graph_is_dynamic_and_rounds_down_like_torch(graph_path, torch_model, mall_images):
    import torch

    crop = mall_images[1][:100, :130]  # neither side a multiple of 8
    from engines.preprocess import MEAN, STD

    x = ((crop[:, :, ::-1] / 255.0 - MEAN) / STD).astype(np.float32).transpose(2, 0, 1)[None]
    maps = run_graph(graph_path, np.ascontiguousarray(x))
    with torch.inference_mode():
        ref = torch_model(torch.from_numpy(np.ascontiguousarray(x))).numpy()[:, 0]
    assert maps.shape == ref.shape == (1, 12, 16)
    np.testing.assert_allclose(maps, ref, rtol=1e-4, atol=1e-5)
    declared = [d.dim_param or d.dim_value for d in onnx.load(str(graph_path)).graph.input[0].type.tensor_type.shape.dim]
    assert declared == ["batch", 3, "height", "width"]


def test_graph_structure_and_metadata(weights):
    model = build_graph(weights)
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("Conv") == 17 and ops.count("MaxPool") == 3 and ops.count("Relu") == 16
    dilated = [n for n in model.graph.node if n.op_type == "Conv" and n.name.startswith("backend")]
    assert all(list(a.ints) == [2, 2] for n in dilated for a in n.attribute if a.name == "dilations")
    props = {p.key: p.value for p in model.metadata_props}
    assert props["weights_sha"] == weights_digest(weights)
    assert model.graph.output[0].name == OUTPUT_NAME


def test_graph_cache_is_keyed_by_weights_and_survives_corruption(weights, tmp_path):
    first = cached_graph_path(weights, tmp_path)
    assert first.name == f"csrnet-{weights_digest(weights)}-fp32.onnx"
    assert first.with_name(first.name + ".json").is_file()
    stamp = first.stat().st_mtime_ns
    assert cached_graph_path(weights, tmp_path) == first and first.stat().st_mtime_ns == stamp  # reused
    other = dict(weights, **{"output_layer.bias": weights["output_layer.bias"] + 1})
    assert cached_graph_path(other, tmp_path) != first  # other weights, other file
    first.write_bytes(b"not an onnx file")
    rebuilt = cached_graph_path(weights, tmp_path)
    assert rebuilt == first and onnx.load(str(rebuilt)).graph.node  # rebuilt, not fatal


def test_cache_dir_defaults(monkeypatch, tmp_path):
    from engines.cache import default_cache_dir

    monkeypatch.setenv("CACHE_DIRECTORY", f"{tmp_path}/a:{tmp_path}/b")
    assert default_cache_dir() == tmp_path / "a"
    assert default_cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("CACHE_DIRECTORY")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "crowd-monitor"


def test_truncated_graph_gives_the_back_end_features_the_last_layers_turn_into_the_map(weights, small_batch):
    import torch
    import torch.nn.functional as F

    features = ort.InferenceSession(build_graph(weights, backend_layers=4).SerializeToString(),
                                    providers=["CPUExecutionProvider"]).run(None, {INPUT_NAME: small_batch})[0]
    assert features.shape == (2, 256, 15, 20) and features.min() >= 0  # after the ReLU of backend.6
    x = torch.from_numpy(features)
    for key in ("backend.8", "backend.10"):  # what an adapter retrains (engines.adapter.ADAPTED_KEYS)
        x = F.relu(F.conv2d(x, torch.from_numpy(weights[f"{key}.weight"]), torch.from_numpy(weights[f"{key}.bias"]),
                            padding=2, dilation=2))
    out = F.conv2d(x, torch.from_numpy(weights["output_layer.weight"]), torch.from_numpy(weights["output_layer.bias"]))
    np.testing.assert_allclose(out.numpy()[:, 0], run_graph(build_graph(weights), small_batch), rtol=1e-4, atol=1e-5)
