"""One connection to the broker: a fresh paho client per attempt, its CONNACK, and clear failures.

A new client per attempt lets the protocol change (MQTT 5, else 3.1.1) and keeps paho's own queues
from growing across outages: the publisher keeps what must survive (state, outbox) itself.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..config import MqttConfig
from .payloads import OFFLINE

CONNECT_TIMEOUT_S = 10.0
MAX_INFLIGHT = 20  # QoS 1 messages paho sends before waiting for PUBACKs
MAX_QUEUED = 2000  # paho refuses more QoS 1 messages than this (never unbounded)
AUTH_CODES = {134, 135, 140}  # bad user name or password, not authorized, bad authentication method
PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}


class ConnectFailure(Exception):
    """A failed attempt; ``kind``: network, tls, auth, protocol, refused, closed or timeout."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def default_client_id() -> str:
    """``crowd-monitor-<hostname>``: unique per machine; set ``mqtt.client_id`` for several daemons."""
    return f"crowd-monitor-{socket.gethostname()}"


@dataclass
class Callbacks:
    """What the publisher wants to hear from the network thread (each must return quickly)."""

    on_lost: Callable[[str], None]
    on_publish: Callable[[int, str | None], None]  # message id, and the broker's refusal reason if any
    on_message: Callable[[str, bytes], None]


@dataclass
class Session:
    """A client, what its CONNACK said, and whether its connection was lost."""

    client: mqtt.Client
    protocol: str  # "5" or "3.1.1"
    answered: threading.Event = field(default_factory=threading.Event)  # CONNACK, or closed before it
    reason: object = None  # the CONNACK reason code; None when closed before a CONNACK
    lost: bool = False
    lost_reason: str = ""

    def end(self, clean: bool) -> None:
        """Close: DISCONNECT (no will) when ``clean``, else drop TCP so the broker sends the will."""
        if clean:
            self.client.disconnect()
        else:
            sock = self.client.socket()
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.client.loop_stop()


def _tls(client: mqtt.Client, cfg: MqttConfig) -> None:
    tls = cfg.tls
    if tls is None:
        return
    context = ssl.create_default_context(cafile=tls.ca_file)  # verification on: CERT_REQUIRED + hostname
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    client.tls_set_context(context)


def build_client(cfg: MqttConfig, client_id: str, protocol: str, available_topic: str,
                 session: Callable[[], Session | None], calls: Callbacks) -> mqtt.Client:
    """A paho client with credentials, TLS, the ``offline`` last will and bounded queues."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=PROTOCOLS[protocol],
                         reconnect_on_failure=False)
    client.connect_timeout = CONNECT_TIMEOUT_S
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password.get_secret_value() if cfg.password else None)
    _tls(client, cfg)
    will_props = None
    if protocol == "5" and cfg.will_delay_s > 0:
        will_props = Properties(PacketTypes.WILLMESSAGE)
        will_props.WillDelayInterval = int(round(cfg.will_delay_s))
    client.will_set(available_topic, OFFLINE, qos=1, retain=True, properties=will_props)
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(MAX_QUEUED)

    def on_connect(c, userdata, flags, reason_code, properties) -> None:
        current = session()
        if current is not None:
            current.reason = reason_code
            current.answered.set()

    def on_disconnect(c, userdata, flags, reason_code, properties) -> None:
        current = session()
        if current is None:
            return
        connected = current.answered.is_set() and current.reason is not None
        current.lost, current.lost_reason = True, str(reason_code)
        current.answered.set()
        if connected:
            calls.on_lost(str(reason_code))

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_publish = lambda c, u, mid, reason_code, p: calls.on_publish(
        mid, str(reason_code) if reason_code.is_failure else None)
    client.on_message = lambda c, u, message: calls.on_message(message.topic, bytes(message.payload))
    return client


def _tls_message(err: ssl.SSLError, where: str) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        detail = f"certificate verify failed: {err.verify_message}"
    else:
        detail = err.reason or str(err)
    return f"TLS with the MQTT broker {where} failed: {detail}; check mqtt.tls (ca_file, cert_file, key_file)"


def _refusal(reason: object, cfg: MqttConfig, where: str, protocol: str) -> ConnectFailure:
    code = getattr(reason, "value", None)
    if code in AUTH_CODES:
        who = f"user '{cfg.username}'" if cfg.username else "anonymous clients (no mqtt.username set)"
        return ConnectFailure("auth", f"the MQTT broker {where} rejected {who}: {reason}; fix mqtt.username/"
                                      f"mqtt.password (retrying only every {cfg.reconnect_max_s:g} s)")
    if protocol == "5" and str(reason) == "Unsupported protocol version":
        return ConnectFailure("protocol", f"the MQTT broker {where} does not speak MQTT 5")
    return ConnectFailure("refused", f"the MQTT broker {where} refused the connection: {reason}")


def open_session(cfg: MqttConfig, client_id: str, protocol: str, available_topic: str,
                 calls: Callbacks) -> Session:
    """Connect and wait for a successful CONNACK; raise ConnectFailure with a clear message."""
    holder: list[Session] = []
    where = f"{cfg.host}:{cfg.port}"
    try:
        client = build_client(cfg, client_id, protocol, available_topic, lambda: holder[0] if holder else None,
                              calls)
    except (OSError, ssl.SSLError, ValueError) as err:  # unreadable CA, certificate or key file
        raise ConnectFailure("tls", f"cannot load the TLS files of mqtt.tls: {err}") from None
    session = Session(client, protocol)
    holder.append(session)
    options: dict = {}
    if protocol == "5":
        # The session must outlive the will delay, or the broker sends the will at once.
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = int(round(cfg.will_delay_s))
        options = {"clean_start": True, "properties": props}
    try:
        client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive_s, **options)
    except ssl.SSLError as err:
        raise ConnectFailure("tls", _tls_message(err, where)) from None
    except (OSError, ValueError) as err:
        raise ConnectFailure("network", f"cannot reach the MQTT broker {where}: {err}") from None
    client.loop_start()
    if not session.answered.wait(CONNECT_TIMEOUT_S + cfg.keepalive_s):
        session.end(clean=False)
        raise ConnectFailure("timeout", f"the MQTT broker {where} did not answer the connection request")
    if session.reason is None:
        session.end(clean=False)
        raise ConnectFailure("closed", f"the MQTT broker {where} closed the connection before accepting it")
    if getattr(session.reason, "is_failure", True):
        session.end(clean=False)
        raise _refusal(session.reason, cfg, where, protocol)
    if session.lost:
        session.end(clean=False)
        raise ConnectFailure("network", f"the MQTT broker {where} dropped the connection: {session.lost_reason}")
    return session
