"""The torch CSRNet: original layout, output size, checkpoints of the original code."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch model needs crowd-monitor[train]")

from engines.errors import WeightsError  # noqa: E402
from engines.model import CSRNet, build_model, model_arrays, save_checkpoint, save_npz  # noqa: E402
from engines.weights import expected_shapes, load_weights  # noqa: E402

from .conftest import torch_reference  # noqa: E402


def test_layout_matches_the_original_key_names():
    state = CSRNet().state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected_shapes()
    dilations = [m.dilation for m in CSRNet().backend if isinstance(m, torch.nn.Conv2d)]
    assert dilations == [(2, 2)] * 6


@pytest.mark.parametrize("height,width", [(64, 64), (100, 130), (121, 161), (8, 8)])
def test_output_is_one_eighth_rounded_down(height, width):
    with torch.inference_mode():
        out = CSRNet().eval()(torch.zeros(2, 3, height, width))
    assert tuple(out.shape) == (2, 1, height // 8, width // 8)


def test_default_weights_count_a_real_frame(torch_model, small_batch, mall_images):
    from engines.preprocess import prepare

    full = torch_reference(torch_model, prepare(mall_images[0], 640)[None])
    assert full.shape == (1, 60, 80)
    assert 10 < float(full.sum()) < 80  # Mall frames hold 13..53 people


def test_pth_tar_checkpoint_in_the_original_layout_round_trips(tmp_path, weights, torch_model, small_batch):
    path = save_checkpoint(torch_model, tmp_path / "model_best.pth.tar", epoch=3, best_prec1=1.5)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"state_dict", "epoch", "best_prec1"}
    assert set(raw["state_dict"]) == set(expected_shapes())
    loaded = load_weights(str(path))
    assert all(np.array_equal(loaded[k], weights[k]) for k in weights)
    again = torch_reference(build_model(loaded), small_batch)
    np.testing.assert_array_equal(again, torch_reference(torch_model, small_batch))


def test_dataparallel_prefix_and_bare_state_dict_load(tmp_path, torch_model, weights):
    path = tmp_path / "bare.pth"
    torch.save({f"module.{k}": v for k, v in torch_model.state_dict().items()}, path)
    loaded = load_weights(str(path))
    assert np.array_equal(loaded["output_layer.weight"], weights["output_layer.weight"])


def test_npz_round_trip(tmp_path, torch_model, weights):
    path = save_npz(torch_model, tmp_path / "w.npz")
    assert path.name == "w.npz"
    loaded = load_weights(str(path))
    assert all(np.array_equal(loaded[k], weights[k]) for k in weights)
    assert set(model_arrays(torch_model)) == set(weights)


def test_wrong_checkpoints_give_clear_errors(tmp_path, weights):
    truncated = tmp_path / "cut.pth.tar"
    good = tmp_path / "good.pth.tar"
    save_checkpoint(build_model(weights), good)
    truncated.write_bytes(good.read_bytes()[:100_000])
    with pytest.raises(WeightsError, match="cannot read checkpoint"):
        load_weights(str(truncated))
    other = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, other)
    with pytest.raises(WeightsError, match="not a CSRNet checkpoint"):
        load_weights(str(other))
    shaped = dict(weights, **{"output_layer.weight": np.zeros((2, 64, 1, 1), np.float32)})
    with pytest.raises(WeightsError, match="output_layer.weight has shape"):
        build_model(shaped)
    with pytest.raises(WeightsError, match="not found"):
        load_weights(str(tmp_path / "absent.pth.tar"))
