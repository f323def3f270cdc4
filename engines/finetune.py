"""Adapt CSRNet to one venue on a CPU: frozen front end, cached features, back end trained.

The front end (VGG-16 to conv4_3) stays frozen, so its output is computed once per training frame
(and its mirror image) and kept in memory as float16.  The back end is trained on random crops of
the cached features against ground-truth density maps (``engines.density``; see
``engines.tuning`` for the loss and the closed-form output layer).  Contiguous blocks spread over
the given frames are held back (``split_holdout``; never a random split: neighbouring video frames
are near duplicates); training stops when its MAE has not improved for ``patience`` epochs or the time
budget runs out, and the best epoch is kept.  If no epoch beats the unchanged model on the
held-back frames, the unchanged model is returned: fine-tuning never makes a venue worse on its
own held-back frames.

Frames annotated with a count only (the ``counts`` format) get the unchanged model's map minus a
background floor as their target (``floor_to_count``): for a sparse scene, this teaches the
network the venue's empty ground.

The result has the original CSRNet key layout, so it saves as .npz or a torch checkpoint and loads
everywhere a weights file is accepted.  Needs torch (the ``train`` extra).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .datasets import Dataset, DatasetError, Sample, iter_images, read_image
from .density import fit_perspective_reference, model_target
from .preprocess import model_input_size, prepare

Log = Callable[[str], None]


@dataclass(frozen=True)
class FinetuneSettings:
    """Knobs of ``finetune``; the defaults fit Mall frames 1-800 in under an hour on 2 cores."""

    max_side: int = 960  # frames are fed as the daemon feeds them
    train_from: int = 0  # first trainable back-end conv (0..5); the layers before it are frozen and cached
    holdout: float = 0.2  # fraction of the frames held back (contiguous blocks) for early stopping
    max_train_frames: int = 160  # evenly spaced over the training part (near-duplicates add little)
    max_holdout_frames: int = 40
    cache_bytes: float = 3e9  # fewer training frames when their cached features would exceed this
    flips: bool = True  # also cache mirrored frames
    crop: float = 0.5  # random crops of this fraction of each side
    batch_size: int = 4
    learning_rate: float = 3e-5  # Adam, hidden layers (the output layer is solved in closed form)
    pool: int = 4  # the loss also compares counts in pool x pool cell blocks (32 x 32 px regions)
    refit_output: bool = True  # re-solve the output layer in closed form after every epoch
    max_epochs: int = 40
    patience: int = 5
    time_budget_s: float = 50 * 60  # the whole run, features included; training stops in time
    seed: int = 0


@dataclass
class FinetuneReport:
    """What happened: split, per-epoch held-back MAE, the epoch kept and timings."""

    train_frames: list[int] = field(default_factory=list)
    holdout_frames: list[int] = field(default_factory=list)
    baseline_mae: float = math.nan  # the unchanged model on the held-back frames
    epoch_mae: list[float] = field(default_factory=list)
    best_epoch: int = 0  # 0: the unchanged model was kept
    best_mae: float = math.nan
    features_s: float = 0.0
    training_s: float = 0.0
    stopped: str = ""


@dataclass
class _Item:
    features: np.ndarray  # C x h x w float16 (output of the frozen layers)
    target: np.ndarray  # h x w float32 density
    truth: float  # the sample's true count


def split_holdout(samples: list[Sample], fraction: float, blocks: int = 4) -> tuple[list[Sample], list[Sample]]:
    """(train, held back): ``fraction`` of the frames held back as ``blocks`` contiguous blocks.

    Never a random split: neighbouring video frames are near copies, so a held-back frame next to
    a training frame would flatter the model.  Blocks spread over the sequence (the last one at
    its end) see its different conditions; a gap of frames on each side of a block is used for
    neither part.  Fewer blocks when there are few frames (one block below 40 frames).
    """
    ordered = sorted(samples, key=lambda s: s.number)
    n = len(ordered)
    if n < 4 or fraction <= 0:
        return ordered, []
    held_total = max(1, int(round(n * fraction)))
    blocks = max(1, min(blocks, n // 40))
    size = max(1, held_total // blocks)
    gap = n // 50  # frames right next to a held-back block are near copies of its frames
    held_index: set[int] = set()
    unused: set[int] = set()
    for b in range(blocks):
        end = round(n * (b + 1) / blocks)  # blocks end at evenly spaced points, the last at n
        start = max(0, end - size)
        held_index.update(range(start, end))
        unused.update(range(max(0, start - gap), start))
        unused.update(range(end, min(n, end + gap)))
    train = [s for i, s in enumerate(ordered) if i not in held_index and i not in unused]
    held = [s for i, s in enumerate(ordered) if i in held_index]
    return train, held


def evenly_spaced(items: list, limit: int) -> list:
    """At most ``limit`` items spread evenly over the list (first and last included)."""
    if len(items) <= limit:
        return list(items)
    picks = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in sorted(set(picks))]


def _frozen_and_trainable(weights: dict[str, np.ndarray], train_from: int):
    """(frozen nn.Sequential, trainable nn.Sequential, full model) built from the weights."""
    from torch import nn

    from .model import build_model

    if not 0 <= train_from <= 5:
        raise ValueError("train_from must be 0..5 (the first trainable back-end layer)")
    model = build_model(weights)
    cut = 2 * train_from  # conv + ReLU per back-end layer
    frozen = nn.Sequential(model.frontend, *list(model.backend)[:cut]).eval()
    trainable = nn.Sequential(*list(model.backend)[cut:], model.output_layer)
    for p in frozen.parameters():
        p.requires_grad_(False)
    return frozen, trainable, model


def _bf16_ok() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX512-BF16 / AMX): 2x faster features."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _targets_for(dataset: Dataset, image: np.ndarray, sample: Sample, max_side: int,
                 reference: float | None) -> tuple[np.ndarray, float, tuple[int, int]]:
    """(density target on the model grid, true count, model input size) of one frame."""
    height, width = image.shape[:2]
    size = model_input_size(width, height, max_side)
    truth = sample.count_in(height, width)
    if sample.points is None:  # count-only annotation: filled in from the model's own map later
        return np.zeros((size[1] // 8, size[0] // 8), np.float32), truth, size
    perspective = dataset.perspective if dataset.perspective is not None and \
        dataset.perspective.shape == (height, width) else None
    target = model_target(sample.points, (width, height), size, perspective=perspective,
                          reference_sigma=reference if perspective is not None else None)
    return target, truth, size


def cache_features(frozen, dataset: Dataset, samples: list[Sample], settings: FinetuneSettings, *,
                   flips: bool, log: Log, label: str, original=None) -> list[_Item]:
    """Run the frozen layers once per frame (and its mirror image) and keep their output."""
    import torch

    reference = None
    if dataset.perspective is not None and dataset.has_points:
        reference = fit_perspective_reference([s.points for s in dataset.samples], dataset.perspective)
    use_bf16 = _bf16_ok()
    items: list[_Item] = []
    start = time.monotonic()
    for done, (sample, image) in enumerate(iter_images(samples), start=1):
        target, truth, _ = _targets_for(dataset, image, sample, settings.max_side, reference)
        views = [(image, target)] + ([(image[:, ::-1], target[:, ::-1])] if flips else [])
        for view, view_target in views:
            x = torch.from_numpy(prepare(np.ascontiguousarray(view), settings.max_side))[None]
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
                features = frozen(x)[0].float()
            if sample.points is None and original is not None:
                view_target = _count_only_target(original, features, truth)
            items.append(_Item(features.numpy().astype(np.float16), np.ascontiguousarray(view_target), truth))
        if done % 10 == 0 or done == len(samples):
            rate = (time.monotonic() - start) / done
            log(f"{label}: features of {done}/{len(samples)} frames ({rate:.1f} s/frame)")
    return items


def _count_only_target(original, features, truth: float) -> np.ndarray:
    """For frames annotated with a count only: the unchanged model's map with a background floor
    removed (or scaled up) so that it sums to that count.

    The excess of a dense-crowd model over a sparse scene is a low carpet of phantom density, so
    the floor ``t`` that makes sum(max(map - t, 0)) equal the count keeps the people's peaks and
    clears the empty ground; the network then learns this venue's floor.  When the map holds too
    little, it is scaled up instead.
    """
    import torch

    with torch.no_grad():
        density = original(features[None])[0, 0].clamp(min=0).double().numpy()
    return floor_to_count(density, truth).astype(np.float32)


def floor_to_count(density: np.ndarray, count: float) -> np.ndarray:
    """``max(density - t, 0)`` with the floor ``t`` >= 0 that makes it sum to ``count`` (bisection),
    or ``density`` scaled up when it sums to less than ``count``."""
    density = np.maximum(np.asarray(density, dtype=np.float64), 0.0)
    total = float(density.sum())
    if count <= 0:
        return np.zeros_like(density)
    if total <= count:
        return density * (count / total) if total > 1e-9 else np.full(density.shape, count / density.size)
    low, high = 0.0, float(density.max())
    for _ in range(60):  # sum(max(d - t, 0)) falls monotonically with t
        mid = 0.5 * (low + high)
        if np.maximum(density - mid, 0.0).sum() > count:
            low = mid
        else:
            high = mid
    floored = np.maximum(density - 0.5 * (low + high), 0.0)
    return floored * (count / floored.sum()) if floored.sum() > 0 else floored


def _ranges(numbers: list[int]) -> str:
    """Sorted frame numbers as runs, e.g. ``"161-198, 362-398"`` (a run breaks at a jump > 2 steps)."""
    if not numbers:
        return ""
    typical = float(np.median(np.diff(numbers))) if len(numbers) > 1 else 1.0
    runs, start = [], numbers[0]
    for previous, current in zip(numbers, numbers[1:]):
        if current - previous > 2 * typical:
            runs.append((start, previous))
            start = current
    runs.append((start, numbers[-1]))
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs)


def _frames_that_fit(dataset: Dataset, settings: FinetuneSettings) -> int:
    """How many training frames fit ``cache_bytes`` (512 float16 channels per map cell, per view)."""
    sample = dataset.samples[0]
    if sample.frame_index is None:
        height, width = read_image(sample.path).shape[:2]
    else:
        import cv2

        capture = cv2.VideoCapture(str(sample.path))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) or 1920
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) or 1080
        capture.release()
    w, h = model_input_size(width, height, settings.max_side)
    per_frame = 512 * (h // 8) * (w // 8) * 2 * (2 if settings.flips else 1)
    return max(1, min(settings.max_train_frames, int(settings.cache_bytes // per_frame)))


def finetune(weights: dict[str, np.ndarray], dataset: Dataset, settings: FinetuneSettings = FinetuneSettings(),
             log: Log = print) -> tuple[dict[str, np.ndarray], FinetuneReport]:
    """Fine-tuned CSRNet weights (original key layout) for the venue of ``dataset``, and a report."""
    import copy

    import torch

    from .model import model_arrays
    from .tuning import train_epochs

    deadline = time.monotonic() + settings.time_budget_s
    report = FinetuneReport()
    train, held = split_holdout(list(dataset.samples), settings.holdout)
    train = evenly_spaced(train, _frames_that_fit(dataset, settings))
    held = evenly_spaced(held, settings.max_holdout_frames)
    report.train_frames = [s.number for s in train]
    report.holdout_frames = [s.number for s in held]
    if not train:
        raise DatasetError("fine-tuning needs at least one annotated frame")
    log(f"fine-tuning on {len(train)} frames ({train[0].number}-{train[-1].number}), holding back "
        f"{len(held)} in contiguous blocks ({_ranges([s.number for s in held])})" if held else
        f"fine-tuning on {len(train)} frames, none held back (too few): fixed {settings.max_epochs} epochs")
    frozen, trainable, model = _frozen_and_trainable(weights, settings.train_from)
    original = copy.deepcopy(trainable).eval()
    start = time.monotonic()
    train_items = cache_features(frozen, dataset, train, settings, flips=settings.flips, log=log,
                                 label="training", original=original)
    held_items = cache_features(frozen, dataset, held, settings, flips=False, log=log, label="held back",
                                original=original)
    report.features_s = time.monotonic() - start
    best = train_epochs(trainable, train_items, held_items, settings, report, log, deadline)
    trainable.load_state_dict(best)
    if held_items and not report.best_mae < report.baseline_mae:
        log("no epoch beat the unchanged model on the held-back frames: keeping the original weights")
        return dict(weights), report
    with torch.no_grad():
        tuned = model_arrays(model)
    return tuned, report
