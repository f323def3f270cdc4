"""The street adapter's training data: front-end features and density targets at auto's probe sizes.

The front end (VGG-16 to conv4_3) stays frozen, so its features are computed once per training
picture at each of the three long sides ``max_side: auto`` probes (``engines.scale.probe_sides``)
and kept on disk as float16 ``.npy`` files (about 14 GB for the sets below); training then reads
random crops of them.  OpenVINO computes them (bf16 where the CPU has it): about 11 minutes for
all 780 pictures on a 2-core AVX-512 CPU, against about 35 with torch.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets import iter_images, open_dataset
from .density import model_target
from .errors import BackendUnavailable, DatasetError
from .preprocess import STRIDE, prepare
from .scale import probe_sides

Log = Callable[[str], None]
FullSizeOnly = Callable[[str, int, float], bool]  # (set label, picture number, true count) -> cache one side

# label: (folder under the data directory, format, frames); the layout of ../shared/data
TRAINING_SETS = {
    "A": ("shanghaitech/part_A/train_data", "shanghaitech", None),
    "B": ("shanghaitech/part_B/train_data", "shanghaitech", None),
    "M": ("mall", "mall", "1-800:10"),  # the training split, every 10th frame (neighbours are near duplicates)
}


@dataclass(frozen=True)
class CachedPicture:
    """One training picture: its set, number, true count and the cached arrays per probed long side."""

    label: str
    number: int
    truth: float
    sides: dict[int, tuple[Path, Path]]  # side -> (features C x h x w float16, target h x w float32)

    def arrays(self, side: int) -> tuple[np.ndarray, np.ndarray]:
        """(features, target) at ``side``, memory-mapped: a crop reads only its part."""
        features, target = self.sides[side]
        return np.load(features, mmap_mode="r"), np.load(target, mmap_mode="r")


def held_back(label: str, number: int, every: int) -> bool:
    """Whether a picture is held back to measure training: every ``every``-th ShanghaiTech picture,
    and Mall's last tenth (a contiguous block: neighbouring frames are near duplicates)."""
    return number > 720 if label == "M" else number % every == 0


def _openvino():
    """The openvino module, or the error that says to install it."""
    try:
        import openvino as ov
    except ImportError:
        raise BackendUnavailable("openvino", "the street adapter's features are computed with OpenVINO",
                                 "openvino") from None
    return ov


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16, AMX): where it does not, bf16 is
    emulated and training in it runs several times slower than float32.  Asked once per process:
    the caching, the training and each held-back count would otherwise each start an OpenVINO core."""
    return "BF16" in _openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def frontend_runner(weights: dict[str, np.ndarray]):
    """``run(chw float32) -> 512 x h/8 x w/8`` features of the frozen front end, compiled by OpenVINO."""
    from .graph import build_graph

    core = _openvino().Core()
    hint = "bf16" if native_bf16() else "f32"
    compiled = core.compile_model(core.read_model(build_graph(weights, backend_layers=0).SerializeToString(), b""),
                                  "CPU", {"INFERENCE_PRECISION_HINT": hint})
    request = compiled.create_infer_request()

    def run(chw: np.ndarray) -> np.ndarray:
        request.infer({0: chw[None]})
        return np.array(request.get_output_tensor(0).data[0])

    return run


def cache_training_set(weights: dict[str, np.ndarray], data_dir: str | Path, folder: str | Path,
                       log: Log, labels: tuple[str, ...] = tuple(TRAINING_SETS),
                       full_size_only: FullSizeOnly = lambda label, number, truth: False) -> list[CachedPicture]:
    """Features and targets of every picture of ``TRAINING_SETS`` under ``data_dir``, cached in ``folder``
    (pictures already there are read back, so an interrupted run resumes).  Pictures for which
    ``full_size_only(label, number, truth)`` holds are cached at their full size alone."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    run = frontend_runner(weights)
    pictures: list[CachedPicture] = []
    start = time.monotonic()
    for label in labels:
        where, fmt, frames = TRAINING_SETS[label]
        root = Path(data_dir) / where
        if not root.is_dir():
            raise DatasetError(f"{root} not found: the street adapter trains on {where} under the data folder "
                               "(the layout of ../shared/data)")
        dataset = open_dataset(root, fmt, frames)
        for done, (sample, image) in enumerate(iter_images(list(dataset.samples)), start=1):
            pictures.append(_cache_picture(run, label, sample, image, folder, full_size_only))
            if done % 50 == 0 or done == len(dataset.samples):
                log(f"features of {label} {done}/{len(dataset.samples)} ({time.monotonic() - start:.0f} s)")
    return pictures


def _cache_picture(run, label: str, sample, image: np.ndarray, folder: Path,
                   full_size_only: FullSizeOnly) -> CachedPicture:
    """Cache one picture at each probed side, or at the full one alone (or find it cached)."""
    height, width = image.shape[:2]
    truth = sample.count_in(height, width)
    probed = probe_sides(width, height)
    sides = {}
    for side in [max(probed)] if full_size_only(label, sample.number, truth) else probed:
        stem = folder / f"{label}_{sample.number}_{side}"
        features, target = Path(f"{stem}_f.npy"), Path(f"{stem}_t.npy")
        if not (features.is_file() and target.is_file()):
            chw = prepare(image, side)
            rows, cols = chw.shape[1] // STRIDE, chw.shape[2] // STRIDE
            density = model_target(sample.points, (width, height), (chw.shape[2], chw.shape[1]))
            np.save(target, np.ascontiguousarray(density[:rows, :cols], dtype=np.float32))
            np.save(features, run(chw)[:, :rows, :cols].astype(np.float16))  # written last: marks it complete
        sides[side] = (features, target)
    return CachedPicture(label, sample.number, truth, sides)
