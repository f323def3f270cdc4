"""Replay of the real Mall sequence: annotated heads -> 1/8 density maps -> zone alerts.

The expected episodes are computed here from the per-frame annotated counts with a separate,
array-based implementation of the alert rules, and must match the aggregator's events exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.types import CameraState, CameraStatus, EventType, Level
from monitor.zones import Aggregator
from tests.support.data import MALL, mall_frame, need

from .support import config, result

FRAME_STEP_S = 0.5  # replayed at 2 frames per second, the daemon's default sample_fps
WINDOW_S, RAISE_S, CLEAR_S, HYSTERESIS, COOLDOWN_S = 5.0, 10.0, 20.0, 0.15, 30.0
AREA_M2, WARNING_DENSITY, CRITICAL_COUNT = 12.0, 2.0, 28.0  # warning at 24 persons, critical at 28
LEVELS = {Level.WARNING: 1, Level.CRITICAL: 2}

CONFIG = f"""
alerts: {{raise_after_s: {RAISE_S}, clear_after_s: {CLEAR_S}, hysteresis: {HYSTERESIS}, cooldown_s: {COOLDOWN_S},
         update_interval_s: 100000, smoothing: {{method: median, window_s: {WINDOW_S}}}}}
cameras:
  mall:
    url: mall.mp4
    sample_fps: 2
    zones:
      left:   # the left half of the image: cell-aligned at 1/8, so the expected count is exact
        polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
        area_m2: {AREA_M2}
        warning: {{density: {WARNING_DENSITY}}}
        critical: {{count: {CRITICAL_COUNT}}}
"""


@pytest.fixture(scope="module")
def heads() -> list[np.ndarray]:
    """N x 2 head points (x, y in pixels) of every Mall frame, in frame order."""
    sio = pytest.importorskip("scipy.io", reason="scipy reads the Mall annotations (dev extra)")
    gt = sio.loadmat(str(need(MALL / "mall_gt.mat", "Mall annotations")))
    return [np.asarray(gt["frame"][0, i]["loc"][0, 0], dtype=np.float64) for i in range(gt["frame"].shape[1])]


@pytest.fixture(scope="module")
def frame_size() -> tuple[int, int]:
    import cv2

    image = cv2.imread(str(mall_frame(1)))
    return image.shape[0], image.shape[1]


def density_map(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Each head counted in its 1/8-resolution cell: the map sums to the annotated count."""
    height, width = size
    density = np.zeros((height // 8, width // 8), np.float32)
    rows = np.clip((points[:, 1] // 8).astype(int), 0, height // 8 - 1)
    cols = np.clip((points[:, 0] // 8).astype(int), 0, width // 8 - 1)
    np.add.at(density, (rows, cols), 1.0)
    return density


# -- the expected episodes, from annotated counts alone ------------------------------------------

def smoothed(t: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of the present counts within (t - window, t]; NaN where the frame is missing."""
    out = np.full(len(counts), np.nan)
    present = ~np.isnan(counts)
    for i in np.flatnonzero(present):
        out[i] = np.median(counts[present & (t > t[i] - WINDOW_S) & (t <= t[i])])
    return out


def run_starts(t: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For each frame, when the unbroken run of True it belongs to began (NaN outside runs)."""
    starts = np.full(len(mask), np.nan)
    for i in np.flatnonzero(mask):
        starts[i] = starts[i - 1] if i and mask[i - 1] else t[i]
    return starts


def expected_episodes(t: np.ndarray, counts: np.ndarray) -> list[tuple[str, int, float]]:
    """(type, level 1|2, time) of every alert event the rules call for."""
    s = smoothed(t, counts)
    present = ~np.isnan(s)
    value = np.nan_to_num(s, nan=0.0)
    entry = {1: value / AREA_M2 >= WARNING_DENSITY, 2: value >= CRITICAL_COUNT}
    exits = {1: value / AREA_M2 < WARNING_DENSITY * (1 - HYSTERESIS), 2: value < CRITICAL_COUNT * (1 - HYSTERESIS)}
    held = {lv: run_starts(t, present & entry[lv]) for lv in (1, 2)}
    low = {lv: run_starts(t, present & exits[lv]) for lv in (1, 2)}
    events, level, cool_until, cool_level = [], 0, -np.inf, 0
    for i in np.flatnonzero(present):
        up = max([lv for lv in (1, 2) if t[i] - held[lv][i] >= RAISE_S - 1e-9], default=0)
        if level == 0:
            if up and (t[i] >= cool_until or up > cool_level):
                level = up
                events.append(("start", level, t[i]))
        elif up > level:
            level = up
            events.append(("update", level, t[i]))
        else:
            standing = [lv for lv in (1, 2) if lv <= level and not t[i] - low[lv][i] >= CLEAR_S - 1e-9]
            if not standing:
                events.append(("end", level, t[i]))
                cool_until, cool_level, level = t[i] + COOLDOWN_S, level, 0
            elif max(standing) < level:
                level = max(standing)
                events.append(("update", level, t[i]))
    return events


def annotated_counts(heads: list[np.ndarray]) -> np.ndarray:
    """Heads in the left half of the 640-pixel-wide image, per frame."""
    return np.array([float(np.sum(p[:, 0] < 320)) for p in heads])


def replay(heads, size, outage: tuple[float, float] | None = None):
    """Feed every frame (skipping those inside ``outage``) and return all events."""
    agg = Aggregator(config(CONFIG))
    events, states = [], []
    for n, points in enumerate(heads):
        t = n * FRAME_STEP_S
        if outage and t == outage[0]:
            update = agg.on_status(CameraStatus("mall", CameraState.RECONNECTING, "read timeout", t))
            events += update.events
            states.append(update)
        if outage and outage[0] <= t < outage[1]:
            states.append(agg.tick(t))
            continue
        update = agg.on_result(result("mall", t, density_map(points, size), seq=n))
        events += update.events
        states.append(update)
    return events, states


def observed(events) -> list[tuple[str, int, float]]:
    return [(e.type.value, LEVELS[e.level], e.ts) for e in events]


def test_counts_on_the_maps_equal_the_annotations(heads, frame_size):
    agg = Aggregator(config(CONFIG.replace("window_s: 5.0", "window_s: 0.1")))
    counts = annotated_counts(heads)
    for n in range(0, len(heads), 97):
        update = agg.on_result(result("mall", n * 10.0, density_map(heads[n], frame_size)))
        assert update.readings[0].raw_count == pytest.approx(len(heads[n]))
        assert update.zones[0].raw_count == pytest.approx(counts[n])


def test_replay_gives_exactly_the_expected_episodes(heads, frame_size):
    counts = annotated_counts(heads)
    t = np.arange(len(heads)) * FRAME_STEP_S
    assert counts.min() < 24 * (1 - HYSTERESIS) and counts.max() > CRITICAL_COUNT  # thresholds inside the range
    expected = expected_episodes(t, counts)
    events, _ = replay(heads, frame_size)
    assert observed(events) == expected
    kinds = [e for e, _, _ in expected]
    assert kinds.count("start") >= 3 and ("update", 2) in [(e, lv) for e, lv, _ in expected]
    # One id per episode, with its start time on every event; end times on the ends.
    episodes: dict[str, list] = {}
    for event in events:
        episodes.setdefault(event.id, []).append(event)
    assert len(episodes) == kinds.count("start")
    for evs in episodes.values():
        assert evs[0].type == EventType.START and all(e.started_at == evs[0].ts for e in evs)
        assert [e.type for e in evs].count(EventType.END) <= 1
        assert all(e.ended_at == e.ts for e in evs if e.type == EventType.END)


def test_replay_with_a_camera_outage_keeps_the_alert_through_it(heads, frame_size):
    counts = annotated_counts(heads)
    t = np.arange(len(heads)) * FRAME_STEP_S
    baseline = expected_episodes(t, counts)
    first_start = next(ts for kind, _, ts in baseline if kind == "start")
    outage = (first_start + 10.0, first_start + 70.0)
    missing = counts.copy()
    missing[(t >= outage[0]) & (t < outage[1])] = np.nan
    events, states = replay(heads, frame_size, outage)
    assert observed(events) == expected_episodes(t, missing)
    assert not any(outage[0] <= e.ts < outage[1] for e in events)
    first = events[0]
    assert all(e.id == first.id for e in events if e.started_at == first.started_at)
    during = [s for u in states for s in u.zones if outage[0] <= s.ts < outage[1]]
    assert during and all(s.level == Level.UNKNOWN and s.alert != Level.NORMAL and s.alert_id == first.id
                          for s in during)
