"""Dataset readers (mall, shanghaitech, counts) on tiny synthetic folders, and --frames parsing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from engines.datasets import DatasetError, FrameRange, iter_images, open_dataset, parse_frames


@pytest.mark.parametrize("text, expected", [
    ("801-1600:4", FrameRange(801, 1600, 4)), ("1-800", FrameRange(1, 800, 1)), ("7", FrameRange(7, 7, 1)),
    (" 3 - 9 : 2 ", FrameRange(3, 9, 2)),
])
def test_parse_frames(text, expected):
    assert parse_frames(text) == expected


@pytest.mark.parametrize("text", ["", "a-b", "9-3", "1-5:0", "1-", "-5", "1-5:2:3", "1,2"])
def test_parse_frames_rejects_with_the_syntax(text):
    with pytest.raises(DatasetError, match="--frames"):
        parse_frames(text)


def test_frame_range_membership():
    frames = FrameRange(801, 1600, 4)
    assert 801 in frames and 805 in frames and 1597 in frames
    assert 802 not in frames and 800 not in frames and 1601 not in frames


def _mall_folder(tmp_path, n_frames=6):
    (tmp_path / "frames").mkdir()
    rng = np.random.default_rng(0)
    frame = np.zeros((1, n_frames + 2), dtype=[("loc", object)])
    for n in range(1, n_frames + 3):
        k = n % 4  # 0..3 heads, including frames with none
        frame[0, n - 1]["loc"] = np.array([[rng.uniform(0, 64), rng.uniform(0, 48)] for _ in range(k)]).reshape(k, 2)
        if n <= n_frames:
            cv2.imwrite(str(tmp_path / "frames" / f"seq_{n:06d}.jpg"), np.full((48, 64, 3), n * 10, np.uint8))
    savemat(tmp_path / "mall_gt.mat", {"frame": frame, "count": np.array([[n % 4] for n in range(1, n_frames + 3)])})
    return tmp_path


def test_mall_reader_filters_frames_and_keeps_points(tmp_path):
    dataset = open_dataset(_mall_folder(tmp_path), "mall", "2-6:2")
    assert [s.number for s in dataset.samples] == [2, 4, 6]
    assert [len(s.points) for s in dataset.samples] == [2, 0, 2]
    assert dataset.perspective is None and dataset.has_points
    images = list(iter_images(dataset.samples))
    assert [im[0, 0, 0] for _, im in images] == pytest.approx([20, 40, 60], abs=3)


def test_mall_reader_errors(tmp_path):
    with pytest.raises(DatasetError, match="no frames selected"):
        open_dataset(_mall_folder(tmp_path), "mall", "100-200")
    with pytest.raises(DatasetError, match="not found"):
        open_dataset(tmp_path / "nowhere", "mall")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        open_dataset(tmp_path, "coco")


def _shanghaitech_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "ground-truth").mkdir()
    # Image 1 is grey-scale; image 2 has a point outside the image; image 10 sorts after 2.
    cv2.imwrite(str(tmp_path / "images" / "IMG_1.jpg"), np.full((40, 50), 90, np.uint8))
    cv2.imwrite(str(tmp_path / "images" / "IMG_2.jpg"), np.full((40, 50, 3), 90, np.uint8))
    cv2.imwrite(str(tmp_path / "images" / "IMG_10.jpg"), np.full((40, 50, 3), 90, np.uint8))
    for n, pts in [(1, [[5, 5], [10, 10]]), (2, [[5, 5], [60, 10], [10, -2]]), (10, np.zeros((0, 2)))]:
        info = np.zeros((1, 1), dtype=object)
        inner = np.zeros((1, 1), dtype=[("location", object), ("number", object)])
        inner[0, 0]["location"] = np.array(pts, float).reshape(-1, 2)
        inner[0, 0]["number"] = np.array([[len(pts)]])
        info[0, 0] = inner
        savemat(tmp_path / "ground-truth" / f"GT_IMG_{n}.mat", {"image_info": info})
    return tmp_path


def test_shanghaitech_reader_grey_images_and_points_outside(tmp_path):
    dataset = open_dataset(_shanghaitech_folder(tmp_path), "shanghaitech")
    assert [s.key for s in dataset.samples] == ["IMG_1", "IMG_2", "IMG_10"]
    loaded = dict((s.key, im) for s, im in iter_images(dataset.samples))
    assert loaded["IMG_1"].shape == (40, 50, 3)  # grey read as 3-channel BGR
    counts = [s.count_in(40, 50) for s in dataset.samples]
    assert counts == [2, 1, 0]  # the two points outside IMG_2 do not count
    assert len(open_dataset(tmp_path, "shanghaitech", "2-10").samples) == 2


def test_shanghaitech_points_from_real_layout():
    from tests.support.data import SHANGHAITECH, need

    root = need(SHANGHAITECH / "part_A" / "test_data", "ShanghaiTech part A")
    dataset = open_dataset(root, "shanghaitech", "1-3")
    assert [len(s.points) for s in dataset.samples][0] == 172  # IMG_1 of part A's test set
    with pytest.raises(DatasetError, match="test_data"):
        open_dataset(root.parent, "shanghaitech")


def test_counts_with_images(tmp_path):
    (tmp_path / "shots").mkdir()
    for name in ("a", "b", "c"):
        cv2.imwrite(str(tmp_path / "shots" / f"{name}.png"), np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "counts.csv").write_text("image,count\nshots/a.png,3\nshots/b.png,0\nshots/c.png,12.5\n")
    dataset = open_dataset(tmp_path, "counts")
    assert [s.count_in(16, 16) for s in dataset.samples] == [3, 0, 12.5]
    assert not dataset.has_points
    assert [s.key for s in open_dataset(tmp_path, "counts", "2-3").samples] == ["shots/b.png", "shots/c.png"]
    (tmp_path / "counts.csv").write_text("image,count\nshots/a.png,many\n")
    with pytest.raises(DatasetError, match=r"counts.csv:2"):
        open_dataset(tmp_path, "counts")
    (tmp_path / "counts.csv").write_text("image,count\nshots/zzz.png,1\n")
    with pytest.raises(DatasetError, match="image not found"):
        open_dataset(tmp_path, "counts")


def test_counts_with_one_video_reads_the_listed_frames(tmp_path):
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (32, 24))
    for i in range(12):
        writer.write(np.full((24, 32, 3), i * 20, np.uint8))
    writer.release()
    (tmp_path / "counts.csv").write_text("frame,count\n0,1\n5,2\n11,4\n3,0\n")
    dataset = open_dataset(tmp_path, "counts")
    assert [s.frame_index for s in dataset.samples] == [0, 3, 5, 11]
    frames = list(iter_images(dataset.samples))
    assert [round(im.mean() / 20) for _, im in frames] == [0, 3, 5, 11]
    assert [s.count_in(24, 32) for s, _ in frames] == [1, 0, 2, 4]
    (tmp_path / "counts.csv").write_text("frame,count\n40,1\n")
    with pytest.raises(DatasetError, match="ends before frame 40"):
        list(iter_images(open_dataset(tmp_path, "counts").samples))
    (tmp_path / "other.mp4").write_bytes(b"")
    with pytest.raises(DatasetError, match="exactly one video"):
        open_dataset(tmp_path, "counts")
