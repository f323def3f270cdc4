"""What ``precision: auto`` gains on this CPU: the float engine a daemon starts on, then its checked INT8.

The daemon starts on OpenVINO bf16 (fp32 on CPUs without native bf16) and switches to INT8 once
its counts agree with the float engine's (``engines.export.int8_check.judge``).  This section puts
both side by side from the same run: per-frame latency, frames/s in batches as the daemon sends
them, the speed ratio, and the same counts check the daemon applies.
"""

from __future__ import annotations

import numpy as np

from ..export.int8_check import judge
from .measure import Run, time_engine


def float_engine_name() -> str:
    """The float engine ``precision: auto`` starts on here: ``openvino:bf16`` or ``openvino:fp32``."""
    from ..runtimes.openvino_backend import cpu_capabilities

    return "openvino:bf16" if "BF16" in cpu_capabilities() else "openvino:fp32"


def _side(engine, run: Run, inputs, batch: int) -> dict:
    """One engine's figures: per frame alone, and per frame in batches of ``batch``."""
    side = {"engine": run.name, "engine_name": engine.name, "ms_per_frame": round(run.median_ms, 1),
            "fps": round(run.fps, 3), "cpu_ms_per_frame": round(float(np.median(run.cpu_ms)), 1)}
    if 1 < batch <= engine.max_batch and len(inputs) >= batch:
        batched = time_engine(engine, inputs, run.name, run.size, batch=batch)
        side.update({f"ms_per_frame_batch_{batch}": round(batched.median_ms / batch, 1),
                     f"fps_batch_{batch}": round(batched.fps, 3),
                     f"cpu_ms_per_frame_batch_{batch}": round(float(np.median(batched.cpu_ms)) / batch, 1)})
    return side


def default_path_rows(engines: dict, runs: dict, inputs_by_size: dict, batch: int) -> list[dict] | dict:
    """Before (float) and after (INT8) per size with the ratio; or why it could not be measured."""
    before, after = float_engine_name(), "openvino:int8"
    missing = [name for name in (before, after) if name not in engines]
    if missing:
        return {"skipped": f"needs {' and '.join(missing)} in the measured engines"}
    rows = []
    for size, inputs in inputs_by_size.items():
        old, new = runs[(before, size)], runs[(after, size)]
        row = {"size": size, "before": _side(engines[before], old, inputs, batch),
               "after": _side(engines[after], new, inputs, batch)}
        row["speedup"] = round(old.median_ms / new.median_ms, 2)
        key = f"fps_batch_{batch}"
        if key in row["before"] and key in row["after"]:
            row[f"speedup_batch_{batch}"] = round(row["after"][key] / row["before"][key], 2)
        row["counts_check"] = judge(old.counts, new.counts).as_dict()
        rows.append(row)
    return rows
