"""Config files made to exhaust time or memory: check-config refuses each in one line, quickly, in little memory.

Each file is checked by ``crowd-monitor check-config`` in a subprocess limited to 1 GiB of
address space (``RLIMIT_AS``): before the limits, a 342-byte alias bomb took over 120 s and 5 GB.
"""

from __future__ import annotations

import math
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 1 << 30
CAMERA = "cameras:\n  a:\n    url: rtsp://cam/stream\n    zones:\n      z:\n        polygon: {polygon}\n"
LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+): (?P<path>\S+): (?P<message>.+)$")


def bomb(levels: int = 9) -> str:
    """The "billion laughs": each level is nine aliases of the one before (9**9 strings in 342 bytes)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def circle(points: int) -> str:
    """A simple polygon of ``points`` vertices as YAML flow text."""
    return "[" + ", ".join(f"[{0.5 + 0.4 * math.cos(2 * math.pi * k / points):.6f}, "
                           f"{0.5 + 0.4 * math.sin(2 * math.pi * k / points):.6f}]" for k in range(points)) + "]"


def check_config(path: Path | str) -> tuple[int, list[str], float]:
    """Exit code, stderr lines and seconds of ``check-config PATH`` under the memory limit."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "monitor", "check-config", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, preexec_fn=limit)
    return proc.returncode, proc.stderr.strip().splitlines(), time.monotonic() - started


def assert_one_line_refusal(path: Path | str, line: int, key_path: str, message: str) -> None:
    """check-config exits 2 with exactly ``PATH:LINE: KEY.PATH: MESSAGE...`` within 30 s."""
    code, lines, seconds = check_config(path)
    assert code == 2 and len(lines) == 1, lines
    found = LINE.match(lines[0])
    assert found, lines
    assert (found["file"], int(found["line"]), found["path"]) == (str(path), line, key_path), lines
    assert found["message"].startswith(message), lines
    assert seconds < 30, f"took {seconds:.0f} s"  # bounded: the bomb took more than 120 s before


def test_alias_bomb_is_refused_before_expansion(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb())
    assert path.stat().st_size < 400
    assert_one_line_refusal(path, 6, "f[4]", "the document expands to more than 200000 YAML nodes")


def test_recursive_alias_and_deep_nesting(tmp_path):
    recursive, deep = tmp_path / "recursive.yaml", tmp_path / "deep.yaml"
    recursive.write_text("cameras: &c\n  a: {url: x, more: *c}\n")
    deep.write_text("cameras: " + "[" * 100 + "]" * 100 + "\n")  # libyaml itself stops at 1000
    assert_one_line_refusal(recursive, 2, "cameras.a.more", "alias *c refers to a node that contains it")
    assert_one_line_refusal(deep, 1, "cameras" + "[0]" * 31, "nested more than 32 levels deep")


def test_too_many_aliases(tmp_path):
    path = tmp_path / "aliases.yaml"
    path.write_text("x: &x 1\ny: [" + ", ".join(["*x"] * 1001) + "]\n")
    assert_one_line_refusal(path, 2, "y[1000]", "more than 1000 YAML aliases")


def test_a_big_file_is_refused_by_its_size(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "w") as handle:  # a valid-looking YAML file of 64 MB
        handle.write("cameras:\n  a:\n    url: x\n")
        handle.write(("# " + "x" * 98 + "\n") * 640_000)
    assert_one_line_refusal(path, 1, "(root)", f"file is {path.stat().st_size} bytes; config files are limited "
                                               "to 1048576 bytes (1 MiB)")


def test_dev_zero_fifo_and_directory_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)  # nobody ever writes to it: reading it would wait forever
    assert_one_line_refusal("/dev/zero", 1, "(root)", "not a regular file (a character device)")
    assert_one_line_refusal(fifo, 1, "(root)", "not a regular file (a FIFO)")
    assert_one_line_refusal(tmp_path, 1, "(root)", "is a directory, not a config file")


def test_a_10000_point_polygon_is_refused_by_its_size(tmp_path):
    path = tmp_path / "polygon.yaml"
    path.write_text(CAMERA.format(polygon=circle(10_000)))
    assert_one_line_refusal(path, 6, "cameras.a.zones.z.polygon", "has 10000 items; at most 500 are allowed")


@pytest.mark.parametrize("points", [500])
def test_the_largest_accepted_file_is_checked_in_bounded_time(tmp_path, points):
    """Close to 1 MiB of zones at the vertex limit: every check runs, within seconds and the memory limit."""
    path = tmp_path / "large.yaml"
    zone = circle(points)
    cameras = "".join(f"  cam{i}:\n    url: rtsp://cam/{i}\n    zones:\n      z:\n        polygon: {zone}\n"
                      for i in range(90))
    path.write_text(f"cameras:\n{cameras}")
    assert 900_000 < path.stat().st_size < 1 << 20
    code, lines, seconds = check_config(path)
    assert code == 0, lines
    assert seconds < 60, f"took {seconds:.0f} s"
