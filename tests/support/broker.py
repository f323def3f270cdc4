"""A real Mosquitto broker for tests, on a free loopback port, and a subscriber that records messages.

Never the system broker on 1883: every broker here is a private ``mosquitto`` process with its own
config, log and persistence folder.  Options: a password file, an ACL file, a TLS listener with a
test CA made by the ``openssl`` CLI, persistence (sessions and retained messages survive
``restart()``), and ``queue_qos0`` so a persistent subscriber misses nothing while it reconnects.
The recording subscriber is in ``recorder.py``, the proxies (3.1.1-only, closing before CONNACK)
in ``mqtt_proxy.py``.

Fixtures (registered through ``tests/conftest.py``): ``mosquitto`` (a plain broker),
``mosquitto_factory`` (brokers with options: ``users=``, ``acl=``, ``tls=`` ...), ``tls_files`` (a
test CA, server and client certificates, and a second, unrelated CA), ``mqtt_recorder``
(subscribers, closed at teardown).  ``bridge_lines`` turns ``config/mosquitto-bridge.conf`` into a
bridge to a test broker (``mosquitto_factory(extra=bridge_lines(...))``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from monitor.devtools.broker import INSTALL_HINT, LocalBroker, mosquitto_path
from monitor.devtools.net import HOST, free_port

if TYPE_CHECKING:
    from .recorder import Recorder

__all__ = ["HOST", "MosquittoBroker", "TLSFiles", "bridge_lines", "free_port", "make_tls_files"]

BRIDGE_EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "mosquitto-bridge.conf"
_BRIDGE_SECRETS = ("remote_username", "remote_password", "bridge_cafile")  # the example's TLS and login


@dataclass(frozen=True)
class TLSFiles:
    """Certificates made for one test session: a CA, a server and client pair, an unrelated CA."""

    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_file: Path  # a CA that did not sign the server's certificate


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}", cwd=folder)
    return key, cert


def _make_leaf(folder: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.crt"
    ext = folder / f"{name}.ext"
    ext.write_text(extensions)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}", cwd=folder)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[1]), "-CAkey", str(ca[0]), "-CAcreateserial",
             "-out", str(cert), "-days", "2", "-extfile", str(ext), cwd=folder)
    return key, cert


def make_tls_files(folder: Path) -> TLSFiles:
    """Generate a test CA, a server certificate for 127.0.0.1/localhost, a client one, another CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = _make_ca(folder, "test-ca")
    server = _make_leaf(folder, "server", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                        "extendedKeyUsage=serverAuth\n")
    client = _make_leaf(folder, "client", ca, "extendedKeyUsage=clientAuth\n")
    other = _make_ca(folder, "other-ca")
    return TLSFiles(ca[1], server[1], server[0], client[1], client[0], other[1])


class MosquittoBroker(LocalBroker):
    """The package's private mosquitto with test options; ``restart()`` keeps its port, sessions and retained messages."""

    def __init__(self, workdir: Path, *, users: dict[str, str] | None = None, tls: TLSFiles | None = None,
                 require_certificate: bool = False, persistence: bool = True, queue_qos0: bool = False,
                 acl: str | None = None, extra: list[str] | None = None):
        super().__init__(workdir)
        self.users = users
        self.tls = tls
        self.acl = acl  # the text of an acl_file (e.g. "topic read #": clients may not publish at all)
        self._lines = self._options(require_certificate, persistence, queue_qos0) + list(extra or [])

    def _options(self, require_certificate: bool, persistence: bool, queue_qos0: bool) -> list[str]:
        lines = [f"listener {self.port} {HOST}", "user root", f"log_dest file {self.log_file}",
                 "log_type all", "connection_messages true", "log_timestamp_format %H:%M:%S",
                 f"persistence {'true' if persistence else 'false'}", f"persistence_location {self.workdir}/",
                 f"queue_qos0_messages {'true' if queue_qos0 else 'false'}", "max_queued_messages 10000"]
        if self.users is not None:
            password_file = self.workdir / "passwords"
            password_file.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(password_file), user, password],
                               check=True, capture_output=True, timeout=30)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            acl_file = self.workdir / "acl"
            acl_file.write_text(self.acl + "\n")
            lines.append(f"acl_file {acl_file}")
        if self.tls is not None:
            lines += [f"cafile {self.tls.ca_file}", f"certfile {self.tls.server_cert}",
                      f"keyfile {self.tls.server_key}",
                      f"require_certificate {'true' if require_certificate else 'false'}"]
        return lines

    def config_lines(self) -> list[str]:
        """The test options' mosquitto.conf: full logging, persistence, users, ACL, TLS as asked."""
        return self._lines

    def restart(self) -> None:
        """Stop, then start again on the same port."""
        self.stop()
        self.start()

    def connection_attempts(self) -> int:
        """MQTT connection requests the broker answered (CONNACKs: accepted or refused).

        TCP probes without a CONNECT (the readiness check) are not counted.  The broker writes its
        log with a little delay: read it a moment after the attempts.
        """
        return self.log().count("Sending CONNACK")

    def __exit__(self, *exc: object) -> None:
        self.kill()


def bridge_lines(central: MosquittoBroker, prefix: str, client_id: str) -> list[str]:
    """``config/mosquitto-bridge.conf`` bridging ``prefix`` to ``central`` on loopback, without TLS or login."""
    lines = []
    for line in BRIDGE_EXAMPLE.read_text().splitlines():
        key = line.split(" ", 1)[0]
        if not line.strip() or line.startswith("#") or key in _BRIDGE_SECRETS:
            continue
        if key == "address":
            line = f"address {central.host}:{central.port}"
        elif key == "remote_clientid":
            line = f"remote_clientid {client_id}"
        elif key == "topic" and line.endswith(" out 1"):
            line = f"topic {prefix}/# out 1"
        lines.append(line)
    return lines


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A test CA with server/client certificates and an unrelated CA (openssl CLI, once per session)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., MosquittoBroker]]:
    """Start brokers with options (``users=``, ``tls=``, ``queue_qos0=`` ...); all killed at teardown."""
    if mosquitto_path() is None:
        pytest.skip(f"mosquitto is not installed ({INSTALL_HINT})")
    brokers: list[MosquittoBroker] = []

    def start(**options: object) -> MosquittoBroker:
        broker = MosquittoBroker(tmp_path / f"broker{len(brokers)}", **options)  # type: ignore[arg-type]
        brokers.append(broker)
        return broker.start()

    yield start
    for broker in brokers:
        broker.kill()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., MosquittoBroker]) -> MosquittoBroker:
    """A plain anonymous broker on a free loopback port."""
    return mosquitto_factory()


@pytest.fixture
def mqtt_recorder() -> Iterator[Callable[..., Recorder]]:
    """Make recorders (``mqtt_recorder(broker, topics, persistent=...)``); closed at teardown."""
    from .recorder import Recorder  # noqa: F811 (imported here: the recorder module imports this one)

    recorders: list[Recorder] = []

    def make(broker: MosquittoBroker, topics: list[str] | None = None, **options: object) -> Recorder:
        recorder = Recorder(broker, topics, **options)  # type: ignore[arg-type]
        recorders.append(recorder)
        return recorder

    yield make
    for recorder in recorders:
        recorder.close()
