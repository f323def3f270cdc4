"""Mistakes in count / evaluate input come back as one clear line, before any model work, never a traceback."""

from __future__ import annotations

import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import engines.images
from engines.datasets import DatasetError, open_dataset
from engines.images import read_image
from monitor.cli import main

ROOT = Path(__file__).resolve().parents[2]


def one_error_line(capsys) -> str:
    """The single ``crowd-monitor: error: ...`` line the command printed (nothing on stdout)."""
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert out.out == "" and len(lines) == 1 and lines[0].startswith("crowd-monitor: error: "), out
    return lines[0][len("crowd-monitor: error: "):]


def image_rows(root: Path, rows: str) -> Path:
    """A counts folder with two images and ``counts.csv`` = ``rows``."""
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(root / name), np.zeros((16, 16, 3), np.uint8))
    (root / "counts.csv").write_text(rows)
    return root


def test_a_latin_1_counts_file_is_one_line(tmp_path, capsys):
    image_rows(tmp_path, "")
    (tmp_path / "counts.csv").write_bytes("image,count\na.png,3\nb.png,2 # café\n".encode("latin-1"))
    assert main(["evaluate", str(tmp_path), "--format", "counts"]) == 1
    assert one_error_line(capsys) == f"{tmp_path / 'counts.csv'}:3: not UTF-8 text (byte 0xe9); save the file as UTF-8"


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-1", "1e400"])
def test_counts_must_be_finite_and_not_negative(tmp_path, value):
    image_rows(tmp_path, f"image,count\na.png,3\nb.png,{value}\n")
    with pytest.raises(DatasetError) as caught:
        open_dataset(tmp_path, "counts")
    assert str(caught.value) == (f"{tmp_path / 'counts.csv'}:3: a count must be a finite number, 0 or more, "
                                 f"got '{value}'")


def test_a_negative_frame_number_is_named_as_such(tmp_path):
    (tmp_path / "clip.avi").write_bytes(b"")
    (tmp_path / "counts.csv").write_text("frame,count\n0,1\n-1,2\n")
    with pytest.raises(DatasetError) as caught:
        open_dataset(tmp_path, "counts")
    assert str(caught.value) == (f"{tmp_path / 'counts.csv'}:3: frame must be a 0-based frame number (0 or more), "
                                 "got '-1'")


def test_heatmap_names_are_checked_before_any_work(tmp_path, capsys):
    missing = str(tmp_path / "missing.jpg")  # would be reported first if the inputs were read first
    assert main(["count", missing, "--heatmap", str(tmp_path / "out.txt")]) == 1
    assert one_error_line(capsys) == (f"--heatmap {tmp_path / 'out.txt'}: not an image file name OpenCV can write; "
                                      "use a .png or .jpg name")
    assert main(["count", missing, "--heatmap", str(tmp_path)]) == 1
    assert one_error_line(capsys).startswith(f"--heatmap {tmp_path}: is a directory; give an image file name")


@pytest.mark.parametrize("args, message", [
    (["--every-s", "-1"], "argument --every-s: '-1': must be 0 (every frame) or a positive number of seconds"),
    (["--every-s", "nan"], "argument --every-s: 'nan': must be 0 (every frame) or a positive number of seconds"),
    (["--max-frames", "0"], "argument --max-frames: '0': must be a whole number, 1 or more"),
])
def test_count_options_out_of_range_are_refused(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as caught:
        main(["count", str(tmp_path / "clip.avi"), *args])
    assert caught.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(message)


def test_a_directory_where_a_file_is_expected_says_so(tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main(["count", str(folder)]) == 1
    assert one_error_line(capsys) == f"image or video {folder} is a directory, not a file"
    assert main(["count", str(tmp_path / "nope.jpg")]) == 1
    assert one_error_line(capsys) == f"image or video not found: {tmp_path / 'nope.jpg'}"
    image_rows(tmp_path, "image,count\na.png,1\n")
    model = tmp_path / "model.onnx"
    model.mkdir()
    assert main(["evaluate", str(tmp_path), "--format", "counts", "--model", str(model)]) == 1
    assert one_error_line(capsys) == f"model file {model} is a directory, not a file"
    assert main(["evaluate", str(tmp_path), "--format", "counts", "--csv", str(folder)]) == 1
    assert one_error_line(capsys).startswith(f"--csv {folder}: is a directory")
    assert main(["evaluate", str(tmp_path / "a.png"), "--format", "counts"]) == 1
    assert one_error_line(capsys) == f"dataset folder {tmp_path / 'a.png'} is a file, not a folder"
    (tmp_path / "counts.csv").unlink()
    (tmp_path / "counts.csv").mkdir()
    assert main(["evaluate", str(tmp_path), "--format", "counts"]) == 1
    assert one_error_line(capsys).startswith(f"counts file {tmp_path / 'counts.csv'} is a directory, not a file")


def grey_png(path: Path, width: int, height: int) -> Path:
    """A valid one-colour PNG written row by row: a huge picture in a small file, without the memory."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    squeeze, row = zlib.compressobj(1), b"\0" * (width + 1)  # filter byte, then grey pixels
    body = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def test_a_huge_image_is_refused_from_its_header_in_little_memory(tmp_path):
    huge = grey_png(tmp_path / "huge.png", 20_000, 20_000)  # 1.7 MB on disk, 1.2 GB as BGR
    assert huge.stat().st_size < 4_000_000

    def limit() -> None:  # decoding it would need more than this on its own
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = subprocess.run([sys.executable, "-m", "monitor", "count", str(huge), "--heatmap", str(tmp_path / "h.png")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip() == (f"crowd-monitor: error: image {huge} has more than 64 megapixels; images are "
                                   "limited to 64 megapixels (64000000 pixels, e.g. 8000x8000): scale it down first")


def test_an_image_over_the_limit_is_refused_after_decoding_too(tmp_path, monkeypatch):
    """Where cv2 was loaded before ``engines`` could set OpenCV's limit, the decoded size is checked."""
    monkeypatch.setattr(engines.images, "MAX_IMAGE_PIXELS", 1000)
    image = tmp_path / "small.png"
    cv2.imwrite(str(image), np.zeros((40, 50), np.uint8))
    with pytest.raises(DatasetError) as caught:
        read_image(image)
    assert str(caught.value).startswith(f"image {image} is 50x40 (0.002 megapixels); images are limited to 0.001 "
                                        "megapixels (1000 pixels, e.g. 31x31)")
