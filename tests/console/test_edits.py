"""The zone editor's changes applied to a config's YAML: comments and untouched values keep their
layout, zones are added, changed and deleted, and the result is what the loader reads."""

from __future__ import annotations

import json

import pytest

from monitor.calibration.yamledit import dump_document, load_document
from monitor.config import parse_config
from monitor.console.edits import EditError, apply_edit, parse_edit

CONFIG = """\
# the site's cameras
mqtt: {host: 127.0.0.1}
cameras:
  hall:
    url: rtsp://cam/1   # the hall camera
    zones:
      door:             # by the main door
        polygon: [[0.10, 0.20], [0.55, 0.20], [0.55, 0.95], [0.10, 0.95]]
        area_m2: 40
        warning: {density: 3.5}   # Green Guide
        raise_after_s: 5
      bar:
        polygon: [[0.6, 0.1], [0.9, 0.1], [0.9, 0.5]]
site_zones:
  all: [hall.door]
"""


def edited(edit: dict) -> str:
    document = load_document(CONFIG)
    apply_edit(document, {"version": "v", "camera": "hall", **edit})
    return dump_document(document)


def test_unchanged_zones_keep_their_text_and_comments():
    text = edited({"zones": {"door": {"polygon": [[0.1, 0.2], [0.55, 0.2], [0.55, 0.95], [0.1, 0.95]],
                                      "area_m2": 40, "warning": {"density": 3.5}, "critical": None},
                             "bar": {"polygon": [[0.6, 0.1], [0.9, 0.1], [0.9, 0.5]]}}})
    assert text == CONFIG


def test_new_zone_is_written_in_flow_style_and_loads():
    text = edited({"zones": {"queue": {"polygon": [[0.123456, 0.5], [0.3, 0.5], [0.3, 0.9]], "area_m2": 12,
                                       "warning": {"count": 10}, "critical": {"count": 20}}}})
    assert "      queue:\n        polygon: [[0.1235, 0.5], [0.3, 0.5], [0.3, 0.9]]\n" in text
    assert "        warning: {count: 10}\n        critical: {count: 20}\n" in text
    assert "# by the main door" in text and "# Green Guide" in text and "raise_after_s: 5" in text
    zone = parse_config(text).cameras["hall"].zones["queue"]
    assert zone.warning.count == 10 and zone.critical.count == 20 and zone.area_m2 == 12


def test_null_deletes_a_zone_or_a_key_and_zones_left_out_stay():
    text = edited({"zones": {"door": {"area_m2": None, "warning": {"count": 30}}, "bar": None, "gone": None}})
    config = parse_config(text)
    door = config.cameras["hall"].zones["door"]
    assert list(config.cameras["hall"].zones) == ["door"]
    assert door.area_m2 is None and door.warning.count == 30 and door.raise_after_s == 5
    assert "# by the main door" in text and "# the hall camera" in text
    assert list(parse_config(edited({"zones": {"door": {"area_m2": 50}}})).cameras["hall"].zones) == ["door", "bar"]


def test_roi_ignore_and_calibration_are_set_and_cleared():
    calibration = {"image_points": [[0.1, 0.9], [0.9, 0.9], [0.7, 0.4], [0.3, 0.4]],
                   "world_points": [[0, 0], [10, 0], [10, 20], [0, 20]]}
    ignore = [[[0.0, 0.0], [0.2, 0.0], [0.2, 0.1]]]
    text = edited({"roi": [[0, 0.1], [1, 0.1], [1, 1], [0, 1]], "ignore": ignore, "calibration": calibration})
    camera = parse_config(text).cameras["hall"]
    assert camera.roi[0] == [0, 0.1] and camera.ignore == ignore
    assert camera.calibration.world_points[2] == [10, 20]
    assert "    ignore:\n    - [[0.0, 0.0], [0.2, 0.0], [0.2, 0.1]]\n" in text
    cleared = load_document(text)
    apply_edit(cleared, {"version": "v", "camera": "hall", "roi": None, "ignore": [], "calibration": None})
    assert dump_document(cleared) == CONFIG


def test_a_camera_without_zones_gets_its_first():
    document = load_document("cameras:\n  gate:\n    url: x.mp4\n")
    apply_edit(document, {"version": "v", "camera": "gate", "zones": {"z": {"polygon": [[0, 0], [1, 0], [1, 1]]}}})
    assert parse_config(dump_document(document)).cameras["gate"].zones["z"].polygon[1] == [1, 0]


@pytest.mark.parametrize("body, message", [
    (b"{", "not JSON"), (b"[]", "JSON object"), (b'{"camera": "hall"}', "'version'"),
    (b'{"version": "v", "camera": "hall", "zones": []}', "'zones'"),
    (b'{"version": "v", "camera": "hall", "url": "x"}', "unknown key 'url'"),
    (json.dumps({"version": "v", "camera": "hall", "zones": {" ": {}}}).encode(), "non-empty"),
])
def test_bodies_that_are_not_edits(body, message):
    with pytest.raises(EditError, match=message):
        parse_edit(body)


def test_an_unknown_camera_is_refused():
    with pytest.raises(EditError, match="'lobby' is not in the config file"):
        apply_edit(load_document(CONFIG), {"version": "v", "camera": "lobby", "zones": {}})
