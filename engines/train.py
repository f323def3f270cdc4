"""Full CSRNet training as in the paper (Li, Zhang, Chen, CVPR 2018): meant for a GPU.

SGD (lr 1e-7, momentum 0.95, weight decay 5e-4), pixel-wise MSE (summed) between the predicted
density map and the geometry-adaptive ground truth on the 1/8 grid, batch size 1, random
horizontal flips and quarter-size crops.  The front end starts from ImageNet VGG-16 weights when a
local torchvision file is given (nothing is downloaded), else from another CSRNet's weights or at
random (the paper's N(0, 0.01)).  The best epoch on held-back contiguous blocks (``split_holdout``) is kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets import Dataset, Sample, iter_images
from .density import model_target
from .finetune import evenly_spaced, split_holdout
from .preprocess import model_input_size, prepare

Log = Callable[[str], None]
VGG16_FEATURE_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21)  # torchvision vgg16.features convs up to conv4_3


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of the paper, plus the practical ones (epochs, device, hold-out)."""

    learning_rate: float = 1e-7
    momentum: float = 0.95
    weight_decay: float = 5e-4
    epochs: int = 400
    holdout: float = 0.1
    max_side: int = 1024
    device: str = "auto"  # "auto": CUDA when available
    seed: int = 0
    max_steps: int | None = None  # stop after this many optimiser steps (smoke tests)


@dataclass
class TrainReport:
    """Per-epoch held-back MAE and the epoch kept."""

    epoch_mae: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_mae: float = math.inf
    steps: int = 0
    device: str = ""


def vgg16_frontend(path: str | Path) -> dict[str, np.ndarray]:
    """CSRNet front-end parameters from a local torchvision VGG-16 weights file (``vgg16-*.pth``)."""
    import torch

    from .errors import WeightsError

    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read VGG-16 weights {path}: {exc}"[:300]) from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    out: dict[str, np.ndarray] = {}
    # torchvision's vgg16.features and CSRNet's frontend number their layers the same way.
    for index in VGG16_FEATURE_INDICES:
        for kind in ("weight", "bias"):
            key = f"features.{index}.{kind}"
            if key not in state:
                raise WeightsError(f"{path} is not a torchvision VGG-16 state dict (no {key})")
            out[f"frontend.{index}.{kind}"] = state[key].detach().cpu().numpy()
    return out


def initial_model(vgg16: str | None = None, init: str | None = None, log: Log = print):
    """A CSRNet to start from: ImageNet front end (``vgg16`` file), another CSRNet (``init``), or random."""
    import torch
    from torch import nn

    from .model import CSRNet, build_model
    from .weights import load_weights

    if init:
        log(f"starting from the weights {init}")
        return build_model(load_weights(init))
    model = CSRNet()
    torch.manual_seed(0)
    for module in model.modules():  # the paper's initialisation
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=0.01)
            nn.init.zeros_(module.bias)
    if vgg16:
        front = vgg16_frontend(vgg16)
        state = model.state_dict()
        state.update({k: torch.from_numpy(v) for k, v in front.items()})
        model.load_state_dict(state)
        log(f"front end initialised from ImageNet VGG-16 ({vgg16})")
    else:
        log("no VGG-16 weights given (--vgg16 FILE): the front end starts at random, training will be slow")
    return model


def _example(sample: Sample, image: np.ndarray, max_side: int, rng: np.random.Generator, augment: bool):
    """(input 3 x h x w, target h/8 x w/8) of one image, flipped and cropped at random when training."""
    height, width = image.shape[:2]
    size = model_input_size(width, height, max_side)
    x = prepare(image, max_side)
    target = model_target(sample.points, (width, height), size)
    if augment:
        if rng.random() < 0.5:
            x, target = x[:, :, ::-1], target[:, ::-1]
        if rng.random() < 0.5 and target.shape[0] >= 2 and target.shape[1] >= 2:
            th, tw = target.shape[0] // 2, target.shape[1] // 2
            top, left = int(rng.integers(0, target.shape[0] - th + 1)), int(rng.integers(0, target.shape[1] - tw + 1))
            x = x[:, top * 8:(top + th) * 8, left * 8:(left + tw) * 8]
            target = target[top:top + th, left:left + tw]
    return np.ascontiguousarray(x), np.ascontiguousarray(target)


def _device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train(model, dataset: Dataset, settings: TrainSettings = TrainSettings(), log: Log = print,
          on_best: Callable[[object, int, float], None] | None = None) -> TrainReport:
    """Train ``model`` in place; ``on_best(model, epoch, mae)`` is called whenever the held-back MAE improves."""
    import torch

    if not dataset.has_points:
        raise ValueError("training needs head points (mall or shanghaitech format), not counts only")
    device = _device(settings.device)
    report = TrainReport(device=str(device))
    train_set, held = split_holdout(list(dataset.samples), settings.holdout)
    held = evenly_spaced(held, 100)
    model.to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=settings.learning_rate, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    rng = np.random.default_rng(settings.seed)
    log(f"training on {len(train_set)} images, {len(held)} held back, device {device}")
    for epoch in range(1, settings.epochs + 1):
        model.train()
        start, losses = time.monotonic(), []
        order = [train_set[i] for i in rng.permutation(len(train_set))]
        for sample, image in iter_images(order):
            x, target = _example(sample, image, settings.max_side, rng, augment=True)
            out = model(torch.from_numpy(x)[None].to(device))
            loss = ((out[0, 0] - torch.from_numpy(target).to(device)) ** 2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            report.steps += 1
            if settings.max_steps and report.steps >= settings.max_steps:
                break
        mae = _held_mae(model, held, settings.max_side, device)
        report.epoch_mae.append(mae)
        log(f"epoch {epoch}: loss {np.mean(losses):.4f}, held-back MAE {mae:.3f} ({time.monotonic() - start:.0f} s)")
        if mae < report.best_mae or not held:
            report.best_mae, report.best_epoch = mae, epoch
            if on_best is not None:
                on_best(model, epoch, mae)
        if settings.max_steps and report.steps >= settings.max_steps:
            break
    return report


def _held_mae(model, held: list[Sample], max_side: int, device) -> float:
    import torch

    if not held:
        return math.nan
    model.eval()
    errors = []
    with torch.no_grad():
        for sample, image in iter_images(held):
            out = model(torch.from_numpy(prepare(image, max_side))[None].to(device))
            errors.append(abs(float(out.sum()) - sample.count_in(*image.shape[:2])))
    return float(np.mean(errors))
