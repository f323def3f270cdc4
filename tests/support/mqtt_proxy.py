"""TCP proxies in front of a real broker: 3.1.1-only, closing before CONNACK, and a door to shut and open."""

from __future__ import annotations

import socket
import threading

from .broker import HOST, MosquittoBroker


class MqttProxy:
    """A TCP proxy in front of a broker that misbehaves the way old brokers and networks do.

    - ``refuse_v5``: an MQTT 5 CONNECT gets the 3.1.1 CONNACK "unacceptable protocol version"
      (return code 1) and the connection is closed, as a 3.1.1-only broker answers.
    - ``drop_before_connack``: that many connections are closed right after their CONNECT, before
      any CONNACK (a proxy, or a broker restarting).
    Other connections are piped to the real broker unchanged; ``cut()`` ends the piped ones.
    ``protocols`` lists the protocol level (4: 3.1.1, 5: MQTT 5) of every CONNECT received.
    """

    def __init__(self, broker: MosquittoBroker, *, refuse_v5: bool = False, drop_before_connack: int = 0):
        self.broker = broker
        self.host = HOST
        self.refuse_v5 = refuse_v5
        self.drop_before_connack = drop_before_connack
        self.refused_v5 = 0
        self.dropped = 0
        self.protocols: list[int] = []
        self._lock = threading.Lock()
        self._piped: list[socket.socket] = []
        self._server = socket.create_server((HOST, 0))
        self.port = self._server.getsockname()[1]
        self._stopped = False
        threading.Thread(target=self._accept, name="mqtt-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    @staticmethod
    def _read_connect(client: socket.socket) -> bytes:
        data = b""
        while len(data) < 2 or not _complete(data):
            chunk = client.recv(4096)
            if not chunk:
                raise OSError("closed before CONNECT")
            data += chunk
        return data

    def _refusal(self, level: int) -> bytes | None:
        """What to answer before closing (b"": nothing), or None to pipe the connection."""
        with self._lock:
            self.protocols.append(level)
            if self.drop_before_connack > 0:
                self.drop_before_connack -= 1
                self.dropped += 1
                return b""
            if level == 5 and self.refuse_v5:
                self.refused_v5 += 1
                return b"\x20\x02\x00\x01"
        return None

    def _handle(self, client: socket.socket) -> None:
        try:
            first = self._read_connect(client)
            answer = self._refusal(_protocol_level(first))
            if answer is not None:
                client.sendall(answer)
                client.close()
                return
            upstream = socket.create_connection((self.broker.host, self.broker.port))
            upstream.sendall(first)
        except OSError:
            client.close()
            return
        with self._lock:
            self._piped += [client, upstream]
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def cut(self) -> None:
        """End every piped connection (clients see the broker go away)."""
        with self._lock:
            sockets, self._piped = self._piped, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """Stop accepting connections."""
        self._stopped = True
        self._server.close()
        self.cut()


class Mqtt311OnlyProxy(MqttProxy):
    """A proxy that makes a real broker look like an MQTT 3.1.1-only one (protocol fallback tests)."""

    def __init__(self, broker: MosquittoBroker):
        super().__init__(broker, refuse_v5=True)


def _remaining_length(data: bytes) -> tuple[int, int] | None:
    """(remaining length, header size) of the packet at the start of ``data``, None if incomplete."""
    value, shift = 0, 0
    for index in range(1, min(len(data), 5)):
        value |= (data[index] & 0x7F) << shift
        if not data[index] & 0x80:
            return value, index + 1
        shift += 7
    return None


def _complete(data: bytes) -> bool:
    found = _remaining_length(data)
    return found is not None and len(data) >= found[0] + found[1]


def _protocol_level(connect: bytes) -> int:
    """The protocol level byte of a CONNECT packet (4: 3.1.1, 5: MQTT 5)."""
    _, header = _remaining_length(connect)  # type: ignore[misc]
    name_length = int.from_bytes(connect[header:header + 2], "big")
    return connect[header + 2 + name_length]


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class TcpGate:
    """A plain TCP forwarder to a broker that the test can shut and open again on the same port.

    Shut, nothing listens (clients get "connection refused", as from a stopped broker) and piped
    connections are cut.  It lets a test decide who reaches a restarted broker first.
    """

    def __init__(self, broker: MosquittoBroker):
        self.broker = broker
        self.host = HOST
        self._server = socket.create_server((HOST, 0))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._open_sockets: list[socket.socket] = []
        self._start_accepting(self._server)

    def _start_accepting(self, server: socket.socket) -> None:
        threading.Thread(target=self._accept, args=(server,), name="tcp-gate", daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # shut
            try:
                upstream = socket.create_connection((self.broker.host, self.broker.port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open_sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def shut(self) -> None:
        """Stop listening and cut every piped connection."""
        with self._lock:
            server, self._server = self._server, None
            sockets, self._open_sockets = self._open_sockets, []
        if server is not None:
            server.close()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def open(self) -> None:
        """Listen again on the same port."""
        with self._lock:
            if self._server is None:
                self._server = socket.create_server((HOST, self.port))
                self._start_accepting(self._server)

    def close(self) -> None:
        """Shut for good."""
        self.shut()
