"""Adapt CSRNet to one venue on a CPU: frozen, cached features; train the last layers only.

The front end (VGG-16 to conv4_3) and the first back-end layers stay frozen, so their output is
computed once per training frame (and its mirror image) and kept in memory as float16.  Only the
last back-end layers and the output layer are trained, on random crops of the cached features,
with MSE on ground-truth density maps (``engines.density``).  A contiguous block at the end of the
given frames is held back (never a random split: neighbouring video frames are near duplicates);
training stops when its MAE has not improved for ``patience`` epochs, and the best epoch is kept.
If no epoch beats the unchanged model on the held-back frames, the unchanged model is returned.

The result has the original CSRNet key layout, so it saves as .npz or a torch checkpoint and loads
everywhere a weights file is accepted.  Needs torch (the ``train`` extra).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .datasets import Dataset, Sample, iter_images
from .density import fit_perspective_reference, model_target
from .preprocess import model_input_size, prepare

Log = Callable[[str], None]


@dataclass(frozen=True)
class FinetuneSettings:
    """Knobs of ``finetune``; the defaults fit Mall frames 1-800 in well under an hour on 2 cores."""

    max_side: int = 960  # frames are fed as the daemon feeds them
    train_from: int = 3  # first trainable back-end conv (0..5); earlier layers are frozen and cached
    holdout: float = 0.2  # fraction of the frames (a contiguous block at the end) for early stopping
    max_train_frames: int = 160  # evenly spaced over the training part (near-duplicates add little)
    max_holdout_frames: int = 40
    flips: bool = True  # also cache mirrored frames
    crop: float = 0.5  # random crops of this fraction of each side, plus whole frames
    batch_size: int = 4
    optimizer: str = "adam"  # or "sgd" (momentum 0.95, as the paper)
    learning_rate: float = 2e-5
    max_epochs: int = 60
    patience: int = 6
    time_budget_s: float = 40 * 60  # training stops (keeping the best epoch) when this runs out
    pool: int = 4  # the loss also compares counts in pool x pool cell blocks (32 x 32 px regions)
    count_loss: float = 0.0  # weight of the squared count error of a crop added to the loss
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


def split_holdout(samples: list[Sample], fraction: float) -> tuple[list[Sample], list[Sample]]:
    """(train, held back): the held-back part is the last contiguous block, with a small gap before it."""
    ordered = sorted(samples, key=lambda s: s.number)
    n = len(ordered)
    if n < 4 or fraction <= 0:
        return ordered, []
    held = max(1, int(round(n * fraction)))
    gap = n // 50  # a few frames between the parts: the frames right before the block are near copies
    return ordered[: n - held - gap], ordered[n - held:]


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

    if not 0 <= train_from <= 6:
        raise ValueError("train_from must be 0..6 (6: the output layer only)")
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


def _targets_for(dataset: Dataset, samples: list[Sample], image: np.ndarray, sample: Sample, max_side: int,
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
        target, truth, _ = _targets_for(dataset, samples, image, sample, settings.max_side, reference)
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
    """For frames annotated with a count only: the unchanged model's map, rescaled to that count."""
    import torch

    with torch.no_grad():
        density = original(features[None])[0, 0].clamp(min=0).numpy()
    total = float(density.sum())
    if total <= 1e-6:
        return np.full(density.shape, truth / density.size, np.float32)
    return (density * (truth / total)).astype(np.float32)


def _holdout_mae(trainable, items: list[_Item]) -> float:
    """MAE of the trainable part on whole held-back frames."""
    import torch

    if not items:
        return math.nan
    errors = []
    with torch.no_grad():
        for item in items:
            out = trainable(torch.from_numpy(item.features.astype(np.float32))[None])
            errors.append(abs(float(out.sum()) - item.truth))
    return float(np.mean(errors))


def _batches(items: list[_Item], settings: FinetuneSettings, rng: np.random.Generator):
    """Shuffled minibatches of same-size crops (features, targets) as torch tensors."""
    import torch

    order = rng.permutation(len(items))
    for start in range(0, len(order), settings.batch_size):
        chosen = [items[i] for i in order[start:start + settings.batch_size]]
        height = min(it.target.shape[0] for it in chosen)
        width = min(it.target.shape[1] for it in chosen)
        whole = rng.random() < 0.25 or settings.crop >= 1.0
        ch = height if whole else min(height, max(8, int(round(height * settings.crop))))
        cw = width if whole else min(width, max(8, int(round(width * settings.crop))))
        feats, targets = [], []
        for it in chosen:
            top = int(rng.integers(0, it.target.shape[0] - ch + 1))
            left = int(rng.integers(0, it.target.shape[1] - cw + 1))
            feats.append(it.features[:, top:top + ch, left:left + cw].astype(np.float32))
            targets.append(it.target[top:top + ch, left:left + cw])
        yield torch.from_numpy(np.stack(feats)), torch.from_numpy(np.stack(targets))[:, None]


def density_loss(out, targets, settings: FinetuneSettings):
    """Pixel MSE plus MSE of block sums (local counts) and optionally of the crop's count, per crop.

    The pixel term alone is dominated by the exact shape of each blob; the block term weighs what
    counting needs, the number of people in each region.
    """
    import torch.nn.functional as F

    loss = ((out - targets) ** 2).sum()
    if settings.pool > 1:
        k = settings.pool
        pooled = F.avg_pool2d(out, k, ceil_mode=True) * (k * k)
        pooled_targets = F.avg_pool2d(targets, k, ceil_mode=True) * (k * k)
        loss = loss + ((pooled - pooled_targets) ** 2).sum()
    if settings.count_loss:
        loss = loss + settings.count_loss * ((out.sum((1, 2, 3)) - targets.sum((1, 2, 3))) ** 2).sum()
    return loss / len(out)


def train_epochs(trainable, train_items: list[_Item], holdout_items: list[_Item], settings: FinetuneSettings,
                 report: FinetuneReport, log: Log) -> dict:
    """Adam on MSE (plus optional count loss) with early stopping; returns the best state_dict."""
    import torch

    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    if settings.optimizer == "sgd":
        optimiser = torch.optim.SGD(trainable.parameters(), lr=settings.learning_rate, momentum=0.95)
    else:
        optimiser = torch.optim.Adam(trainable.parameters(), lr=settings.learning_rate)
    best_state = {k: v.detach().clone() for k, v in trainable.state_dict().items()}
    report.baseline_mae = report.best_mae = _holdout_mae(trainable, holdout_items)
    log(f"held-back MAE before fine-tuning: {report.baseline_mae:.3f} ({len(holdout_items)} frames)")
    start, stale = time.monotonic(), 0
    for epoch in range(1, settings.max_epochs + 1):
        trainable.train()
        losses = []
        for features, targets in _batches(train_items, settings, rng):
            loss = density_loss(trainable(features), targets, settings)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        trainable.eval()
        mae = _holdout_mae(trainable, holdout_items) if holdout_items else math.nan
        report.epoch_mae.append(mae)
        elapsed = time.monotonic() - start
        log(f"epoch {epoch}: loss {np.mean(losses):.4f}, held-back MAE {mae:.3f} ({elapsed:.0f} s)")
        if not holdout_items or mae < report.best_mae - 1e-4:
            report.best_mae, report.best_epoch, stale = mae, epoch, 0
            best_state = {k: v.detach().clone() for k, v in trainable.state_dict().items()}
        else:
            stale += 1
        if holdout_items and stale >= settings.patience:
            report.stopped = f"no improvement for {settings.patience} epochs"
            break
        if elapsed / epoch * (epoch + 1) > settings.time_budget_s:
            report.stopped = f"time budget of {settings.time_budget_s / 60:.0f} min reached"
            break
    else:
        report.stopped = f"{settings.max_epochs} epochs done"
    report.training_s = time.monotonic() - start
    return best_state


def finetune(weights: dict[str, np.ndarray], dataset: Dataset, settings: FinetuneSettings = FinetuneSettings(),
             log: Log = print) -> tuple[dict[str, np.ndarray], FinetuneReport]:
    """Fine-tuned CSRNet weights (original key layout) for the venue of ``dataset``, and a report."""
    import copy

    import torch

    from .model import model_arrays

    report = FinetuneReport()
    train, held = split_holdout(list(dataset.samples), settings.holdout)
    train = evenly_spaced(train, settings.max_train_frames)
    held = evenly_spaced(held, settings.max_holdout_frames)
    report.train_frames = [s.number for s in train]
    report.holdout_frames = [s.number for s in held]
    if not train:
        raise ValueError("fine-tuning needs at least one annotated frame")
    log(f"fine-tuning on {len(train)} frames ({train[0].number}-{train[-1].number}), "
        f"holding back {len(held)} ({held[0].number}-{held[-1].number})" if held else
        f"fine-tuning on {len(train)} frames, none held back (too few): fixed {settings.max_epochs} epochs")
    frozen, trainable, model = _frozen_and_trainable(weights, settings.train_from)
    original = copy.deepcopy(trainable).eval()
    start = time.monotonic()
    train_items = cache_features(frozen, dataset, train, settings, flips=settings.flips, log=log,
                                 label="training", original=original)
    held_items = cache_features(frozen, dataset, held, settings, flips=False, log=log, label="held back",
                                original=original)
    report.features_s = time.monotonic() - start
    best = train_epochs(trainable, train_items, held_items, settings, report, log)
    trainable.load_state_dict(best)
    if held_items and not report.best_mae < report.baseline_mae:
        log("no epoch beat the unchanged model on the held-back frames: keeping the original weights")
        return dict(weights), report
    with torch.no_grad():
        tuned = model_arrays(model)
    return tuned, report
