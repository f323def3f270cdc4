"""`crowd-monitor calibrate`: snapshots of a real RTSP camera, then the counted snapshots' best
setting written back into the YAML with its comments kept."""

from __future__ import annotations

import csv

import cv2
import pytest
import scipy.io
import yaml

from monitor.calibration.scan import Trial, candidates, pick
from monitor.calibration.yamledit import set_values, write_checked
from monitor.cli import main
from monitor.errors import UserError
from tests.support.data import MALL, need

CONFIG = """\
# the venue's config: this comment must survive
mqtt: {{host: 127.0.0.1}}
state_dir: {state}
cameras:
  door:
    url: {url}   # the entrance camera
    frozen_after_s: 0
    zones:
      hall:
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
        warning: {{count: 40}}
"""


def test_auto_is_kept_unless_a_fixed_size_is_clearly_better():
    assert pick([Trial("auto", 2.0, 0.1), Trial(640, 1.95, 0.0), Trial(480, 3.0, -2)]).max_side == "auto"
    assert pick([Trial("auto", 2.0, 0.1), Trial(640, 1.5, 0.0), Trial(480, 3.0, -2)]).max_side == 640
    assert candidates(640, 480) == ["auto", 640, 480, 384, 320, 256, 208]


def test_settings_are_written_with_comments_kept_and_checked_first(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG.format(state=tmp_path, url="rtsp://cam/1"))
    text = set_values(path, {("cameras", "door", "max_side"): 448})
    assert "# the venue's config: this comment must survive" in text and "# the entrance camera" in text
    assert yaml.safe_load(text)["cameras"]["door"]["max_side"] == 448
    with pytest.raises(UserError, match="max_side: must be a multiple of 8"):
        write_checked(path, set_values(path, {("cameras", "door", "max_side"): 450}))
    assert "max_side" not in path.read_text() and not (tmp_path / "monitor.yaml.bak").exists()


@pytest.mark.slow
def test_snapshots_of_a_live_camera_then_counts_then_the_setting_written(tmp_path, rtsp_server, capsys):
    config = tmp_path / "monitor.yaml"
    config.write_text(CONFIG.format(state=tmp_path / "state", url=rtsp_server.url))
    assert main(["calibrate", "door", "-c", str(config), "--snapshots", "3", "--every-s", "0.2"]) == 0
    folder = tmp_path / "state" / "calibration" / "door"
    shots = sorted(folder.glob("snap-*.jpg"))
    assert len(shots) == 3 and all(cv2.imread(str(s)).shape == (480, 640, 3) for s in shots)
    assert "counts.csv" in capsys.readouterr().out
    assert main(["calibrate", "door", "-c", str(config)]) == 1  # counts not filled in yet
    assert "no count yet for 3 snapshot(s)" in capsys.readouterr().err

    # Count them: here, replace the snapshots by Mall frames (shrunk for speed) with their true counts.
    counts = scipy.io.loadmat(str(need(MALL / "mall_gt.mat", "Mall dataset")))["count"].ravel()
    for shot in shots:
        shot.unlink()
    rows = []
    for n in (1, 400, 800, 1200):
        image = cv2.resize(cv2.imread(str(MALL / "frames" / f"seq_{n:06d}.jpg")), (320, 240), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"mall-{n}.jpg"), image)
        rows.append([f"mall-{n}.jpg", int(counts[n - 1])])
    with open(folder / "counts.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["image", "count"], *rows])
    assert main(["calibrate", "door", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    maes = {line.split()[1].rstrip(":"): float(line.split("MAE ")[1].split(",")[0])
            for line in out.splitlines() if line.strip().startswith("max_side")}
    assert set(maes) == {"auto", "320", "240", "192", "160", "128", "104"}
    written = yaml.safe_load(config.read_text())["cameras"]["door"]["max_side"]
    best = min(maes.values())
    assert maes[str(written)] <= best * 1.05 + 1e-9
    assert "# the entrance camera" in config.read_text() and (tmp_path / "monitor.yaml.bak").exists()
    assert main(["check-config", str(config)]) == 0
