"""Fine-tuning and training: splits, a smoke run on a few frames, and the saved model loading everywhere."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engines.datasets import Sample
from engines.finetune import evenly_spaced, split_holdout
from monitor.cli import main

torch = pytest.importorskip("torch")


def _samples(numbers):
    return [Sample(f"f{n}", n, path=None) for n in numbers]  # type: ignore[arg-type]


def test_holdout_is_contiguous_blocks_with_gaps_never_random():
    train, held = split_holdout(_samples(range(800, 0, -1)), 0.2)  # given out of order
    held_numbers = [s.number for s in held]
    blocks = [list(range(161, 201)), list(range(361, 401)), list(range(561, 601)), list(range(761, 801))]
    assert held_numbers == [n for block in blocks for n in block]  # four contiguous blocks, the last at the end
    train_numbers = {s.number for s in train}
    for block in blocks:  # 16 frames on each side of a block are used for neither part
        assert not train_numbers & set(range(block[0] - 16, block[-1] + 17))
    assert len(train) == 800 - 160 - 7 * 16
    small_train, small_held = split_holdout(_samples(range(0, 501, 25)), 0.2)
    assert [s.number for s in small_held] == [425, 450, 475, 500]  # few frames: one block at the end
    few_train, few_held = split_holdout(_samples([1, 2, 3]), 0.2)
    assert len(few_train) == 3 and few_held == []  # too few frames to hold any back


def test_evenly_spaced_keeps_both_ends():
    picked = evenly_spaced(list(range(100)), 5)
    assert picked[0] == 0 and picked[-1] == 99 and len(picked) == 5
    assert evenly_spaced([1, 2], 5) == [1, 2]


def test_finetune_smoke_saves_a_model_that_loads_everywhere(tiny_mall, tmp_path, capsys):
    from engines.weights import expected_shapes, load_weights

    out = tmp_path / "venue.npz"
    assert main(["finetune", str(tiny_mall), "--format", "mall", "--frames", "1-6", "--out", str(out),
                 "--max-side", "64", "--max-epochs", "2", "--holdout", "0.34"]) == 0
    captured = capsys.readouterr()
    assert "saved" in captured.out and "held-back MAE" in captured.err  # progress on stderr
    with np.load(out, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(expected_shapes())  # the original 34-array layout
    weights = load_weights(str(out))
    assert len(weights) == 34
    assert main(["evaluate", str(tiny_mall), "--frames", "1-2", "--model", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2
    checkpoint = tmp_path / "venue.pth.tar"
    assert main(["finetune", str(tiny_mall), "--frames", "1-6", "--out", str(checkpoint), "--max-side", "64",
                 "--max-epochs", "1"]) == 0
    assert len(load_weights(str(checkpoint))) == 34


def test_finetune_changes_only_the_trained_layers_and_lowers_the_training_loss():
    """On real Mall frames at a small size: the back end's tail moves, the front end does not."""
    from engines.datasets import open_dataset
    from engines.finetune import FinetuneSettings, finetune
    from engines.weights import load_weights
    from tests.support.data import MALL, need

    dataset = open_dataset(need(MALL, "Mall dataset"), "mall", "1-40:4")
    original = load_weights()
    settings = FinetuneSettings(max_side=320, max_epochs=3, holdout=0.0, learning_rate=1e-5, train_from=3)
    messages: list[str] = []
    tuned, report = finetune(original, dataset, settings, log=messages.append)
    assert report.holdout_frames == [] and report.best_epoch == 3  # nothing held back: the last epoch
    for key in original:
        changed = not np.array_equal(original[key], tuned[key])
        trainable = key.startswith(("backend.6", "backend.8", "backend.10", "output_layer"))
        assert changed == trainable, key
    losses = [float(m.split("loss ")[1].split(",")[0]) for m in messages if m.startswith("epoch")]
    assert len(losses) == 3 and losses[-1] < losses[0]


def test_finetune_keeps_the_original_when_no_epoch_beats_it(tiny_mall):
    from engines.datasets import open_dataset
    from engines.finetune import FinetuneSettings, finetune
    from engines.weights import load_weights

    original = load_weights()
    settings = FinetuneSettings(max_side=64, max_epochs=2, holdout=0.34, learning_rate=0.0, refit_output=False)
    tuned, report = finetune(original, open_dataset(tiny_mall, "mall"), settings, log=lambda m: None)
    assert report.best_epoch == 0
    assert all(np.array_equal(original[k], tuned[k]) for k in original)


def test_train_runs_a_step_on_cpu_and_saves(tmp_path, capsys):
    import cv2
    from scipy.io import savemat

    from engines.weights import load_weights

    root = tmp_path / "st"
    (root / "images").mkdir(parents=True)
    (root / "ground-truth").mkdir()
    rng = np.random.default_rng(0)
    for n in range(1, 4):
        cv2.imwrite(str(root / "images" / f"IMG_{n}.jpg"), rng.integers(0, 255, (64, 80, 3), dtype=np.uint8))
        info = np.zeros((1, 1), dtype=object)
        inner = np.zeros((1, 1), dtype=[("location", object)])
        inner[0, 0]["location"] = rng.uniform(0, 60, (n, 2))
        info[0, 0] = inner
        savemat(root / "ground-truth" / f"GT_IMG_{n}.mat", {"image_info": info})
    out = tmp_path / "trained.pth.tar"
    assert main(["train", str(root), "--format", "shanghaitech", "--out", str(out), "--epochs", "1",
                 "--max-side", "64", "--device", "cpu", "--max-steps", "1"]) == 0
    assert "1 steps on cpu" in capsys.readouterr().out
    assert len(load_weights(str(out))) == 34


def test_vgg16_front_end_initialisation_from_a_local_file(tmp_path):
    from engines.train import VGG16_FEATURE_INDICES, initial_model
    from engines.weights import expected_shapes

    shapes = expected_shapes()
    state = {}
    for index in VGG16_FEATURE_INDICES:
        state[f"features.{index}.weight"] = torch.full(shapes[f"frontend.{index}.weight"], float(index))
        state[f"features.{index}.bias"] = torch.zeros(shapes[f"frontend.{index}.bias"])
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the rest of VGG-16 is ignored
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    model = initial_model(vgg16=str(path), log=lambda m: None)
    assert float(model.frontend[21].weight.detach().mean()) == 21.0
    assert abs(float(model.backend[0].weight.detach().std()) - 0.01) < 0.002  # the paper's N(0, 0.01)


def test_finetune_from_counts_only_on_a_video(tmp_path, capsys):
    import cv2

    from engines.weights import load_weights

    root = tmp_path / "street"
    root.mkdir()
    writer = cv2.VideoWriter(str(root / "cam.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    rng = np.random.default_rng(3)
    for _ in range(10):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    (root / "counts.csv").write_text("frame,count\n" + "".join(f"{i},{i % 3}\n" for i in range(0, 10, 2)))
    out = tmp_path / "street.npz"
    assert main(["finetune", str(root), "--format", "counts", "--out", str(out), "--max-side", "64",
                 "--max-epochs", "1"]) == 0
    assert len(load_weights(str(out))) == 34


def test_floor_to_count_keeps_peaks_and_clears_the_carpet():
    from engines.finetune import floor_to_count

    carpet = np.full((20, 20), 0.01)
    carpet[5, 5] = carpet[12, 15] = 1.0
    target = floor_to_count(carpet, 2.0)
    assert target.sum() == pytest.approx(2.0)
    assert target[5, 5] > 0.95 and target[12, 15] > 0.95
    assert target[0, 0] < 0.001  # the carpet is (almost) gone
    assert floor_to_count(carpet, 10.0).sum() == pytest.approx(10.0)  # too little density: scaled up
    assert floor_to_count(carpet, 0.0).sum() == 0.0
