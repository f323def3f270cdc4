"""The console token: where it comes from, how a request carries it, and the router's check before
any write reaches an endpoint (401 missing or wrong, 403 none configured; reads need none)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from monitor.config import HealthConfig
from monitor.daemon.webapi import ApiRouter
from monitor.health.auth import MISSING, NOT_CONFIGURED, WRONG, WriteToken, presented_token, write_token
from monitor.health.messages import Request, json_response

TOKEN = "s3cret-console-token"


def test_the_token_is_checked():
    token = WriteToken(TOKEN)
    assert token.check({"Authorization": f"Bearer {TOKEN}"}) is None
    assert token.check({"X-Console-Token": TOKEN}) is None
    assert token.check({}) == (401, MISSING)
    assert token.check({"Authorization": "Bearer wrong-token-wrong-token"}) == (401, WRONG)
    assert token.check({"Authorization": f"Basic {TOKEN}"})[0] == 401
    assert WriteToken(None).check({"Authorization": f"Bearer {TOKEN}"}) == (403, NOT_CONFIGURED)


def test_how_a_request_carries_the_token():
    assert presented_token({"Authorization": "Bearer abc"}) == "abc"
    assert presented_token({"Authorization": "bearer  abc "}) == "abc"
    assert presented_token({"X-Console-Token": " abc\n"}) == "abc"
    assert presented_token({"Authorization": "Basic x"}) is None and presented_token({}) is None
    assert presented_token({"Authorization": "Bearer ", "X-Console-Token": "abc"}) == "abc"


def test_the_token_comes_from_the_config_or_a_systemd_credential(tmp_path: Path):
    assert write_token(HealthConfig(console_token=SecretStr(TOKEN)), {}) == WriteToken(TOKEN, "config")
    assert write_token(HealthConfig(), {}) == WriteToken(None)
    (tmp_path / "console_token").write_text(TOKEN + "\n")
    credential = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert write_token(HealthConfig(), credential) == WriteToken(TOKEN, "credential")
    assert write_token(HealthConfig(console_token=SecretStr("configured-one-wins")), credential).value == \
        "configured-one-wins"
    (tmp_path / "console_token").write_text("short")
    assert write_token(HealthConfig(), credential) == WriteToken(None)


def test_the_router_checks_every_write_before_its_route():
    reached = []

    def history(path: str, query: str):
        reached.append(path)
        return json_response({"path": path})

    router = ApiRouter(WriteToken(TOKEN), history=history)
    for method in ("PUT", "POST"):
        for headers, code in (({}, 401), ({"Authorization": "Bearer wrong-token-wrong"}, 401),
                              ({"X-Console-Token": TOKEN}, 405)):  # with the token: history is read-only
            assert router(Request(method, "/api/series", "", headers, b"{}")).code == code
    assert reached == []
    assert router(Request("GET", "/api/series", "", {})).code == 200 and reached == ["/api/series"]
    closed = ApiRouter(WriteToken(None), history=history)
    assert closed(Request("POST", "/api/calibration/apply", "", {"X-Console-Token": TOKEN})).code == 403
