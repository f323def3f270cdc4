"""A small MQTT 3.1.1 / 5 broker for ``crowd-monitor demo`` on machines without Mosquitto.

Loopback only, anonymous (any credentials are accepted), one thread with a ``selectors`` loop.
Supported: CONNECT/CONNACK, PUBLISH at QoS 0/1 (QoS 2 accepted from clients, delivered at QoS 1),
SUBSCRIBE/UNSUBSCRIBE with ``+``/``#`` wildcards, retained messages (an empty payload deletes),
MQTT 5 message expiry (counted down on delivery), last wills (MQTT 5 will delay, bounded by the
session expiry), keepalive (1.5 x), PINGREQ, DISCONNECT.  Not supported: persistent sessions
(every session is clean; CONNACK never says "session present"), shared subscriptions,
subscription identifiers, topic aliases, enhanced authentication, TLS, WebSockets.
A malformed packet closes only the connection that sent it.

``python -m monitor.devtools.minibroker --port N`` prints ``ready PORT`` and serves until SIGTERM;
``broker_process.BrokerProcess`` starts it that way; ``MiniBroker`` runs it in a thread of this process.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import selectors
import signal
import socket
import sys
import threading
import time
from dataclasses import replace

from .mqtt_codec import Malformed
from .mqtt_session import Session
from .mqtt_topics import Message, SubOptions, matches

log = logging.getLogger("monitor.devtools.minibroker")

TICK_S = 0.1  # timers (keepalive, will delays, expiry) are checked this often
CONNECT_TIMEOUT_S = 10.0  # a TCP connection must send CONNECT within this time
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses: this unauthenticated broker binds nothing else."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MiniBroker:
    """An MQTT broker on ``host:port`` (0: a free port, see ``.port`` after ``start()``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        if not is_loopback(host):
            raise ValueError(f"the mini broker only listens on loopback addresses, not {host!r}")
        self.host = "127.0.0.1" if host == "localhost" else host
        self._requested_port, self._port = port, 0
        self._listener: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.sessions: dict[str, Session] = {}  # connected clients by client id
        self.retained: dict[str, Message] = {}
        self.delayed_wills: dict[str, tuple[float, Message, int | None]] = {}
        self._open: set[Session] = set()
        self._dirty: set[Session] = set()
        self._next_purge = 0.0

    # -- life cycle -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port it listens on (after ``listen()`` or ``start()``)."""
        if not self._port:
            raise RuntimeError("the mini broker is not listening yet: call start()")
        return self._port

    def listen(self) -> int:
        """Bind and listen (idempotent); returns the port."""
        if self._listener is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            listener = socket.socket(family, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self._requested_port))
            listener.listen(64)
            listener.setblocking(False)
            self._listener, self._port = listener, listener.getsockname()[1]
            self._selector.register(listener, READ, "listener")
            self._wake_r.setblocking(False)
            self._selector.register(self._wake_r, READ, "wake")
        return self.port

    def start(self) -> "MiniBroker":
        """Listen and serve in a background thread; returns self."""
        if self._thread is not None:
            return self
        self.listen()
        self._thread = threading.Thread(target=self.serve_forever, name="minibroker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection and the listener (no wills are sent); safe to call twice."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        elif not self._closed:  # never served: release the sockets here
            self._shutdown()

    def request_stop(self) -> None:
        """Ask the loop to end soon (safe from signal handlers and other threads)."""
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def __enter__(self) -> "MiniBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run the loop in this thread until ``stop()``/``request_stop()``."""
        self.listen()
        try:
            while not self._stopping:
                for key, events in self._selector.select(TICK_S):
                    self._on_event(key.data, events)
                self._flush()
                self._timers(time.monotonic())
        finally:
            self._shutdown()

    # -- called by sessions -----------------------------------------------------------------------
    def connected(self, session: Session) -> None:
        """A CONNECT was accepted: take over an older connection with the same client id."""
        old = self.sessions.get(session.client_id)
        if old is not None and old is not session:
            if old.v5:
                old.send(0xE0, b"\x8e\x00")  # session taken over
            self.drop(old, send_will=True, why="taken over by a new connection")
        # MQTT 5 (3.1.2.5): a new connection before the will delay has passed deletes the will, so
        # a daemon that comes back quickly never flashes "offline" (Mosquitto 2.0 does the same).
        self.delayed_wills.pop(session.client_id, None)
        self.sessions[session.client_id] = session
        log.debug("client %s connected (protocol level %d)", session.client_id, session.version)

    def publish(self, message: Message) -> None:
        """Route a message to every matching subscription; keep or delete it when retained."""
        if message.retain:
            if message.payload:
                self.retained[message.topic] = message
            else:
                self.retained.pop(message.topic, None)
        for session in list(self.sessions.values()):
            best: SubOptions | None = None
            for topic_filter, sub in session.subscriptions.items():
                if matches(topic_filter, message.topic) and not (sub.no_local and message.sender == session.client_id):
                    best = sub if best is None or sub.qos > best.qos else best
            if best is not None:  # overlapping subscriptions: one copy, at the highest QoS granted
                session.deliver(message, min(message.qos, best.qos), message.retain and best.retain_as_published)

    def retained_matching(self, topic_filter: str) -> list[Message]:
        """Retained messages (not expired) under ``topic_filter``."""
        now = time.monotonic()
        return [m for t, m in self.retained.items() if matches(topic_filter, t) and m.expiry_left(now) != 0]

    def want_write(self, session: Session) -> None:
        """``session`` has output waiting."""
        self._dirty.add(session)

    def drop(self, session: Session, send_will: bool, why: str) -> None:
        """Close a connection; publish (or schedule) its will when it ended abnormally."""
        if session.closed:
            return
        session.closed = True
        log.debug("closing connection of %s: %s", session.client_id or "(not connected)", why)
        self._write(session)  # best effort: a refusal or DISCONNECT should reach the client
        self._open.discard(session)
        self._dirty.discard(session)
        self._selector.unregister(session.sock)
        session.sock.close()
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]
        if send_will and session.connected and session.will is not None:
            if session.will_delay > 0:
                due = time.monotonic() + session.will_delay
                self.delayed_wills[session.client_id] = (due, session.will, session.will_expiry)
            else:
                self._publish_will(session.will, session.will_expiry)

    # -- the loop ---------------------------------------------------------------------------------
    def _on_event(self, data: object, events: int) -> None:
        if data == "listener":
            self._accept()
        elif data == "wake":
            try:
                self._wake_r.recv(4096)
            except OSError:
                pass
        elif isinstance(data, Session) and not data.closed:
            if events & READ:
                self._read(data)
            if events & WRITE and not data.closed:
                self._write(data)

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()  # type: ignore[union-attr]
        except OSError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = Session(sock, self)
        self._open.add(session)
        self._selector.register(sock, READ, session)

    def _read(self, session: Session) -> None:
        try:
            data = session.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            return self.drop(session, send_will=True, why=f"connection error: {err}")
        if not data:
            return self.drop(session, send_will=True, why="connection closed without DISCONNECT")
        try:
            session.feed(data)
        except Malformed as err:
            log.info("malformed packet from %s: %s", session.client_id or "a new connection", err)
            if session.v5 and session.connected:
                session.send(0xE0, b"\x81\x00")  # DISCONNECT: malformed packet
            self.drop(session, send_will=True, why=f"malformed packet: {err}")
        except Exception:  # a broker bug must cost one connection, not the broker
            log.exception("error handling a packet from %s", session.client_id)
            self.drop(session, send_will=True, why="internal error")

    def _write(self, session: Session) -> None:
        while session.outbox:
            try:
                sent = session.sock.send(session.outbox)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                if not session.closed:
                    self.drop(session, send_will=True, why=f"write failed: {err}")
                return
            del session.outbox[:sent]

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for session in dirty:
            if session.closed:
                continue
            self._write(session)
            if not session.closed:
                self._selector.modify(session.sock, READ | (WRITE if session.outbox else 0), session)

    def _timers(self, now: float) -> None:
        for session in list(self._open):
            silent = now - session.last_heard
            if not session.connected and silent > CONNECT_TIMEOUT_S:
                self.drop(session, send_will=False, why="no CONNECT in time")
            elif session.connected and session.keepalive and silent > 1.5 * session.keepalive:
                self.drop(session, send_will=True, why="keepalive timeout")
        for client_id, (due, will, expiry) in list(self.delayed_wills.items()):
            if now >= due:
                del self.delayed_wills[client_id]
                self._publish_will(will, expiry)
        if now >= self._next_purge:
            self._next_purge = now + 1.0
            for topic in [t for t, m in self.retained.items() if m.expiry_left(now) == 0]:
                del self.retained[topic]
        self._flush()

    def _publish_will(self, will: Message, expiry: int | None) -> None:
        log.debug("publishing the will of %s on %s", will.sender, will.topic)
        self.publish(replace(will, expires_at=None if expiry is None else time.monotonic() + expiry))

    def _shutdown(self) -> None:
        self._closed = True
        for session in list(self._open):
            if session.v5 and session.connected:
                session.send(0xE0, b"\x8b\x00")  # DISCONNECT: server shutting down
            self.drop(session, send_will=False, why="broker stopping")
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; prints ``ready PORT`` once listening."""
    parser = argparse.ArgumentParser(prog="python -m monitor.devtools.minibroker", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: a free one; default)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="minibroker: %(message)s")
    try:
        broker = MiniBroker(args.host, args.port)
        port = broker.listen()
    except (ValueError, OSError) as err:
        print(f"minibroker: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: broker.request_stop())
    print(f"ready {port}", flush=True)
    broker.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
