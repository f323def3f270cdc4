"""Saving from the editor, without a daemon: validation as check-config does it (problems with key
paths, nothing written), the backup, the version check and the reload request.  The token is
checked by the API router before a save gets here (``test_auth.py``)."""

from __future__ import annotations

import json

import pytest

from monitor.console.saving import ConfigFile, version
from tests.console.test_edits import CONFIG


class FakeReloader:
    """Stands in for the daemon's reloader: each request counts as one applied reload."""

    def __init__(self):
        self.requests = 0

    def request(self) -> None:
        self.requests += 1

    def status(self) -> dict:
        return {"ok": self.requests, "failed": 0, "last_error": None, "in_progress": False}


@pytest.fixture
def setup(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG)
    reloader = FakeReloader()
    return path, ConfigFile(str(path), reloader.request, reloader.status), reloader


def read(config_file: ConfigFile, saving: bool = True) -> dict:
    answer = config_file.read(saving)
    assert answer.code == 200, answer.body
    return json.loads(answer.body)


def save(config_file: ConfigFile, **edit) -> tuple[int, dict]:
    answer = config_file.save(json.dumps(edit).encode())
    return answer.code, json.loads(answer.body)


def test_read_gives_the_editable_parts_and_the_version(setup):
    path, config_file, _ = setup
    body = read(config_file)
    assert body["version"] == version(CONFIG) and body["saving"] is True
    door = body["cameras"]["hall"]["zones"]["door"]
    assert door == {"polygon": [[0.1, 0.2], [0.55, 0.2], [0.55, 0.95], [0.1, 0.95]], "area_m2": 40.0,
                    "warning": {"density": 3.5}, "critical": None}
    assert read(config_file, saving=False)["saving"] is False


@pytest.mark.parametrize("zone, thresholds, field, message", [
    ("door", {"warning": {"count": 10}, "critical": {"count": 5}}, "cameras.hall.zones.door.critical.count",
     "critical (5) must be above warning (10)"),
    ("bar", {"warning": {"count": -1}}, "cameras.hall.zones.bar.warning.count", "greater than 0"),
    ("bar", {"warning": {"density": 2}}, "cameras.hall.zones.bar.warning.density", "needs 'area_m2'"),
    ("bar", {"area_m2": "big"}, "cameras.hall.zones.bar.area_m2", "valid number"),
])
def test_a_bad_threshold_comes_back_at_its_field_and_nothing_is_written(setup, zone, thresholds, field, message):
    path, config_file, reloader = setup
    zones = read(config_file)["cameras"]["hall"]["zones"]
    zones[zone].update(thresholds)
    code, body = save(config_file, version=version(CONFIG), camera="hall", zones=zones)
    assert code == 422 and "nothing was written" in body["error"]
    [problem] = body["problems"]
    assert problem["field"] == field and message in problem["message"]
    assert problem["path"] == field.split(".")
    assert path.read_text() == CONFIG and not path.with_name("monitor.yaml.bak").exists()
    assert reloader.requests == 0


def test_a_good_save_writes_keeps_a_backup_and_reloads(setup):
    path, config_file, reloader = setup
    zones = read(config_file)["cameras"]["hall"]["zones"]
    zones["door"]["critical"] = {"density": 5}
    zones["new"] = {"polygon": [[0.1, 0.1], [0.3, 0.1], [0.3, 0.3]], "warning": {"count": 3}}
    code, body = save(config_file, version=version(CONFIG), camera="hall", zones=zones)
    assert code == 200 and body["reload"] == {"applied": True, "error": None}
    assert path.with_name("monitor.yaml.bak").read_text() == CONFIG
    text = path.read_text()
    assert "critical: {density: 5}" in text and "# Green Guide" in text and body["version"] == version(text)
    assert reloader.requests == 1
    code, body = save(config_file, version=version(CONFIG), camera="hall", zones=zones)  # the old version
    assert code == 409 and "changed since the editor read it" in body["error"]
    assert path.read_text() == text


def test_an_unknown_camera_or_a_bad_body_is_a_400(setup):
    path, config_file, _ = setup
    assert save(config_file, version=version(CONFIG), camera="lobby", zones={})[0] == 400
    assert config_file.save(b"not json").code == 400
    assert path.read_text() == CONFIG
