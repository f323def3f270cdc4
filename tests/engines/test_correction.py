"""csrnet-0.2's map correction (engines.correction): which cells it drops, raises or keeps, and its engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engines.correction import CSRNET_0_2, CorrectedEngine, MapCorrection, corrected, is_corrected
from tests.support.data import SHANGHAITECH, need

CORRECTION = MapCorrection(floor=0.002, peak=0.01, gain=1.3, gain_until=0.01, full_from=0.03)


def person(shape=(40, 60), at=(20, 30), mass=1.0, sigma=1.5) -> np.ndarray:
    """A Gaussian blob holding ``mass`` people, as CSRNet draws a head."""
    ys, xs = np.mgrid[:shape[0], :shape[1]]
    blob = np.exp(-((ys - at[0]) ** 2 + (xs - at[1]) ** 2) / (2 * sigma ** 2))
    return (mass * blob / blob.sum()).astype(np.float32)


def test_thin_density_far_from_any_peak_is_dropped():
    phantom = np.full((40, 60), 0.004, np.float32)  # above the floor, but nothing person-like near it
    assert CORRECTION.apply(phantom).sum() == 0.0


def test_a_person_keeps_their_density_and_the_tail_near_them():
    density = person()
    out = CORRECTION.apply(density)
    core = density >= 0.03
    assert np.array_equal(out[core], density[core])  # dense cells: kept as they are
    tail = (density >= 0.002) & (density < 0.01)
    assert np.allclose(out[tail], 1.3 * density[tail])  # a street person's thin edge: raised
    assert out.sum() == pytest.approx(density.sum(), rel=0.15)


def test_the_phantom_next_to_a_person_goes_but_the_person_stays():
    density = person() + np.float32(0.004) * (np.arange(60) > 40)[None, :].astype(np.float32)
    out = CORRECTION.apply(density)
    assert out[:, 45:].sum() == 0.0  # 15+ cells from the head: phantom
    assert out[:, :35].sum() == pytest.approx(CORRECTION.apply(person())[:, :35].sum(), rel=1e-5)


def test_gain_is_log_linear_between_its_levels():
    levels = np.array([[0.005, 0.01, np.sqrt(0.01 * 0.03), 0.03, 0.5]], np.float32)
    out = CORRECTION.apply(levels)  # the 0.5 cell is everyone's peak
    assert out[0] / levels[0] == pytest.approx([1.3, 1.3, 1.15, 1.0, 1.0], rel=1e-5)


def test_negative_cells_and_dtype():
    density = person() - np.float32(0.001)
    out = CORRECTION.apply(density.astype(np.float64))
    assert out.dtype == np.float32 and out.shape == density.shape and out.min() >= 0.0


class RawEngine:
    """A stand-in engine returning fixed maps (logic only)."""

    name, reason, max_batch, fixed_size, precision = "fake-fp32", "testing", 2, None, "fp32"

    def __init__(self, maps):
        self.maps, self.closed = maps, False

    def infer(self, batch):
        return self.maps[: len(batch)]

    def close(self):
        self.closed = True


def test_corrected_engine_corrects_each_map_and_forwards_the_rest():
    maps = np.stack([person(), np.full((40, 60), 0.004, np.float32)])
    raw = RawEngine(maps)
    with corrected(raw, True) as engine:
        out = engine.infer(np.zeros((2, 3, 320, 480), np.float32))
        assert isinstance(engine, CorrectedEngine)
        assert (engine.name, engine.max_batch, engine.fixed_size, engine.precision) == ("fake-fp32", 2, None, "fp32")
        assert engine.reason == "testing" and is_corrected(engine) and not is_corrected(raw)
    assert np.allclose(out[0], CSRNET_0_2.apply(maps[0])) and out[1].sum() == 0.0
    assert raw.closed
    assert corrected(raw, False) is raw


def test_sparse_street_pictures_read_closer_to_their_people():
    """Real ShanghaiTech B training pictures with at most 60 people, at full size: the published weights
    read them about 20 too high; the correction must remove most of that excess, not add people."""
    from engines.counting import density_maps
    from engines.datasets import iter_images, open_dataset
    from engines.runtimes.opener import open_engine

    folder = need(SHANGHAITECH / "part_B" / "train_data", "ShanghaiTech B")
    samples = [s for s in open_dataset(folder, "shanghaitech", "1-40").samples if len(s.points) <= 60][:4]
    with open_engine(adapter="none") as engine:  # csrnet-0.2's own maps, the ones the correction was fitted on
        pictures = [(s.count_in(*image.shape[:2]), image) for s, image in iter_images(samples)]
        maps = density_maps(engine, [image for _, image in pictures], 1024)
    truth = np.array([t for t, _ in pictures])
    raw = np.array([m.sum() for m in maps])
    fixed = np.array([CSRNET_0_2.apply(m).sum() for m in maps])
    assert (raw - truth).mean() > 8  # the excess is there to remove
    assert abs((fixed - truth).mean()) < 0.5 * (raw - truth).mean()


def test_the_fit_scripts_array_form_of_auto_chooses_as_engines_scale_does():
    """bench/fit_correction.py evaluates every setting at once with its own copy of scale.choose."""
    import importlib.util

    from engines.scale import HOLD, HOLD_LOW, choose

    path = Path(__file__).resolve().parents[2] / "bench" / "fit_correction.py"
    spec = importlib.util.spec_from_file_location("fit_correction", path)
    fit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fit)
    rng = np.random.default_rng(5)
    counts = rng.uniform(0, 150, (40, 3, 1)) * rng.uniform(0, 1, (40, 1, 1)) ** 2  # sparse to dense, any ratios
    counts[:5, 1:] = counts[:5, :1] * rng.uniform(0.5, 1.0, (5, 2, 1))  # some pictures that hold
    for one_camera in (False, True):
        index = fit.chosen(counts, HOLD, HOLD_LOW, one_camera)[:, 0]
        groups = [counts] if one_camera else [counts[i:i + 1] for i in range(len(counts))]
        expected = []
        for group in groups:
            sums = {side: float(group[:, k, 0].sum()) for k, side in enumerate((1024, 768, 512))}
            side = choose(sums, frames=len(group)).side
            expected += [(1024, 768, 512).index(side)] * len(group)
        assert index.tolist() == expected
        assert one_camera or len(set(expected)) == 3  # every branch taken
