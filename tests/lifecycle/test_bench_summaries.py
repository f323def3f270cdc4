"""The accuracy benches' arithmetic: summaries and the street gate's per-picture choice (logic only)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
accuracy = pytest.importorskip("accuracy")
street_gate = pytest.importorskip("street_gate")


def test_summary_of_splits_sparse_pictures_and_correlates_with_the_truth():
    truth = np.array([10.0, 50.0, 200.0, 400.0])
    predicted = np.array([20.0, 54.0, 190.0, 420.0])
    out = accuracy.summary_of(truth, predicted)
    assert out["n"] == 4 and out["mae"] == pytest.approx(11.0) and out["bias"] == pytest.approx(6.0)
    assert out["sparse_n"] == 2 and out["sparse_mae"] == pytest.approx(7.0) and out["sparse_bias"] == pytest.approx(7.0)
    assert out["correlation"] == pytest.approx(np.corrcoef(truth, predicted)[0, 1], abs=1e-3)


def test_gate_uses_the_adapter_only_where_it_removes_most_of_the_plain_count():
    # (truth, plain counts per probe side, adapted counts per side); both keep the full size here
    phantom = (5.0, {1024: 40.0, 768: 38.0, 512: 30.0}, {1024: 6.0, 768: 5.8, 512: 5.0})
    crowd = (300.0, {1024: 310.0, 768: 290.0, 512: 260.0}, {1024: 340.0, 768: 320.0, 512: 300.0})
    report = street_gate.combine([phantom, crowd], [0.7], one_camera=False)
    assert report["plain"]["mae"] == pytest.approx((35 + 10) / 2)
    assert report["adapter"]["mae"] == pytest.approx((1 + 40) / 2)
    gated = report["gated_0.7"]
    assert gated["adapter_used"] == 1 and gated["mae"] == pytest.approx((1 + 10) / 2)


def test_the_accuracy_report_names_the_adapter_file_auto_laid(tmp_path):
    from engines.adapter import save_low_rank_adapter

    assert accuracy.made_by("none") is None
    assert accuracy.made_by("auto").startswith("street.npz: crowd-monitor train ")  # the shipped default
    other = save_low_rank_adapter({}, "0" * 16, tmp_path / "venue.npz", whole={"output_layer.bias": np.zeros(1)},
                                  made_by="by hand", epochs_done=2)
    assert accuracy.made_by(str(other)) == "venue.npz: by hand, 2 epochs"
