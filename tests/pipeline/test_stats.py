"""Latency windows: the summary the status page, /metrics and P/stats show."""

from __future__ import annotations

import numpy as np

from monitor.pipeline.stats import LatencyWindow


def test_summary_matches_numpy_over_the_window_and_counts_every_sample():
    window = LatencyWindow(size=100)
    samples = np.random.default_rng(5).gamma(2.0, 20.0, 250)
    for ms in samples:
        window.add(float(ms))
    kept = samples[-100:]
    p50, p95 = np.percentile(kept, [50, 95])
    summary = window.summary()
    assert summary == {"mean": round(float(kept.mean()), 3), "p50": round(float(p50), 3), "p95": round(float(p95), 3),
                       "max": round(float(kept.max()), 3), "count": 250, "sum": round(float(samples.sum()), 3)}


def test_summary_of_one_sample_and_of_none():
    window = LatencyWindow()
    assert window.summary() == {"mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0, "count": 0, "sum": 0}
    window.add(7.5)
    assert window.summary() == {"mean": 7.5, "p50": 7.5, "p95": 7.5, "max": 7.5, "count": 1, "sum": 7.5}
