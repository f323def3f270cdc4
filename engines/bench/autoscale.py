"""What ``max_side: auto`` costs: a probe (the frame at three sizes) against a frame at the chosen size.

Both are timed on the same frames with the same engine.  A camera is probed at once, after 30 s,
60 s, 120 s ... and then every ``recheck_s``, so the share of engine time spent on probes is
(probes in the hour x probe time) / (frames in the hour x frame time) at the camera's
``sample_fps``; the report gives it for the first hour and for every hour after.  ``correction_row``
does the same for csrnet-0.2's map correction, which runs on every map.
"""

from __future__ import annotations

import time

import numpy as np

from ..correction import CSRNET_0_2, is_corrected
from ..preprocess import prepare
from ..scale import choose_for, probe_maps, probes_within

SAMPLE_FPS = 2.0  # the config's default sample_fps
RECHECK_S = 600.0  # the config's default model.max_side_recheck_s


def _median_ms(work, items) -> float:
    """Median wall time of ``work(item)`` over ``items``, in ms (after one untimed call)."""
    work(items[0])
    times = []
    for item in items:
        start = time.perf_counter()
        work(item)
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))


def auto_side_row(engine, name: str, images: list[np.ndarray], sample_fps: float = SAMPLE_FPS,
                  recheck_s: float = RECHECK_S) -> dict:
    """Probe and frame time side by side, and the share of engine time probes take per hour."""
    choice, _ = choose_for(engine, images)
    probe_ms = _median_ms(lambda image: probe_maps(engine, image), images)
    frame_ms = _median_ms(lambda image: engine.infer(prepare(image, choice.side)[None]), images)
    frames_per_hour = 3600.0 * sample_fps
    first_hour = probes_within(3600.0, recheck_s)
    later_hours = probes_within(7200.0, recheck_s) - first_hour

    def share(probes: int) -> float:
        return round(100.0 * probes * probe_ms / (frames_per_hour * frame_ms), 3)

    return {"engine": name, "size": f"{images[0].shape[1]}x{images[0].shape[0]}", "chosen_side": choice.side,
            "reason": choice.reason, "probe_ms": round(probe_ms, 1), "frame_ms_at_chosen_side": round(frame_ms, 1),
            "probe_vs_frame": round(probe_ms / frame_ms, 2), "sample_fps": sample_fps, "recheck_s": recheck_s,
            "probes_first_hour": first_hour, "probes_per_hour_after": later_hours,
            "engine_time_added_pct_first_hour": share(first_hour),
            "engine_time_added_pct_per_hour_after": share(later_hours)}


def correction_row(engine, images: list[np.ndarray], side: int) -> dict:
    """The map correction's time per frame against the engine's own, on the same frames at ``side``."""
    raw = engine.engine if is_corrected(engine) else engine  # timed without the correction
    maps = [np.asarray(raw.infer(prepare(image, side)[None]))[0] for image in images]
    frame_ms = _median_ms(lambda image: raw.infer(prepare(image, side)[None]), images)
    correction_ms = _median_ms(CSRNET_0_2.apply, maps)
    return {"on": is_corrected(engine), "side": side, "map": f"{maps[0].shape[1]}x{maps[0].shape[0]}",
            "correction_ms": round(correction_ms, 3), "frame_ms": round(frame_ms, 1),
            "engine_time_added_pct": round(100.0 * correction_ms / frame_ms, 3)}
