"""MQTT 3.1.1 / 5 wire format for the mini broker: fields, properties, packet framing.

Decoding raises ``Malformed`` on anything the specifications call malformed (bad lengths, invalid
UTF-8, unknown property ids, duplicated single-value properties); the broker then drops that client.
"""

from __future__ import annotations

import struct

MAX_REMAINING = 268_435_455  # the largest remaining length a 4-byte variable byte integer can say

# MQTT 5 property id -> wire type (section 2.2.2.2 of the MQTT 5 specification).
BYTE, U16, U32, VARINT, TEXT, BINARY, PAIR = "byte", "u16", "u32", "varint", "text", "binary", "pair"
PROPERTY_TYPES = {
    0x01: BYTE, 0x02: U32, 0x03: TEXT, 0x08: TEXT, 0x09: BINARY, 0x0B: VARINT, 0x11: U32, 0x12: TEXT,
    0x13: U16, 0x15: TEXT, 0x16: BINARY, 0x17: BYTE, 0x18: U32, 0x19: BYTE, 0x1A: TEXT, 0x1C: TEXT,
    0x1F: TEXT, 0x21: U16, 0x22: U16, 0x23: U16, 0x24: BYTE, 0x25: BYTE, 0x26: PAIR, 0x27: U32,
    0x28: BYTE, 0x29: BYTE, 0x2A: BYTE,
}
MULTIPLE = {0x26, 0x0B}  # user properties repeat; a PUBLISH to a client may carry several subscription ids
MESSAGE_EXPIRY, SESSION_EXPIRY, WILL_DELAY = 0x02, 0x11, 0x18
TOPIC_ALIAS, SUBSCRIPTION_ID, AUTH_METHOD = 0x23, 0x0B, 0x15
RECEIVE_MAXIMUM, MAXIMUM_PACKET_SIZE, ASSIGNED_CLIENT_ID = 0x21, 0x27, 0x12

Properties = list[tuple[int, object]]  # in wire order; a list because user properties repeat


class Malformed(Exception):
    """The bytes break the MQTT rules: the connection that sent them is closed."""


class Reader:
    """Reads fields from one packet body; every read checks the bounds."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        """The next ``n`` raw bytes."""
        if n < 0 or self.pos + n > len(self.data):
            raise Malformed("packet shorter than its fields say")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        """One unsigned byte."""
        return self.take(1)[0]

    def u16(self) -> int:
        """A big-endian two-byte integer."""
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        """A big-endian four-byte integer."""
        return struct.unpack(">I", self.take(4))[0]

    def varint(self) -> int:
        """A variable byte integer (at most 4 bytes)."""
        value = 0
        for shift in range(0, 28, 7):
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
        raise Malformed("variable byte integer longer than 4 bytes")

    def binary(self) -> bytes:
        """Two-byte length, then that many bytes."""
        return self.take(self.u16())

    def text(self) -> str:
        """A UTF-8 string; invalid UTF-8 and U+0000 are malformed."""
        try:
            value = self.binary().decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("invalid UTF-8 string") from None
        if "\x00" in value:
            raise Malformed("U+0000 in a string")
        return value

    def properties(self) -> Properties:
        """An MQTT 5 property block: its length, then (id, value) pairs."""
        block = Reader(self.take(self.varint()))
        props: Properties = []
        seen: set[int] = set()
        while block.remaining():
            ident = block.varint()
            kind = PROPERTY_TYPES.get(ident)
            if kind is None:
                raise Malformed(f"unknown property 0x{ident:02x}")
            if ident in seen and ident not in MULTIPLE:
                raise Malformed(f"property 0x{ident:02x} given twice")
            seen.add(ident)
            props.append((ident, block.value(kind)))
        return props

    def value(self, kind: str) -> object:
        """One property value of the given wire type."""
        if kind == PAIR:
            return (self.text(), self.text())
        return {BYTE: self.byte, U16: self.u16, U32: self.u32, VARINT: self.varint, TEXT: self.text,
                BINARY: self.binary}[kind]()


def prop(props: Properties, ident: int, default: object = None) -> object:
    """The first value of property ``ident``, or ``default``."""
    return next((value for key, value in props if key == ident), default)


def varint(value: int) -> bytes:
    """Encode a variable byte integer."""
    out = bytearray()
    while True:
        value, digit = value >> 7, value & 0x7F
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


def binary(data: bytes) -> bytes:
    """Two-byte length prefix, then the bytes."""
    return struct.pack(">H", len(data)) + data


def text(value: str) -> bytes:
    """A UTF-8 string with its length."""
    return binary(value.encode("utf-8"))


def encode_properties(props: Properties) -> bytes:
    """An MQTT 5 property block (length included)."""
    body = bytearray()
    for ident, value in props:
        kind = PROPERTY_TYPES[ident]
        body += varint(ident)
        if kind == PAIR:
            body += text(value[0]) + text(value[1])  # type: ignore[index]
        elif kind == TEXT:
            body += text(value)  # type: ignore[arg-type]
        elif kind == BINARY:
            body += binary(value)  # type: ignore[arg-type]
        elif kind == VARINT:
            body += varint(value)  # type: ignore[arg-type]
        else:
            body += struct.pack({BYTE: ">B", U16: ">H", U32: ">I"}[kind], value)
    return varint(len(body)) + bytes(body)


def packet(first_byte: int, body: bytes) -> bytes:
    """Fixed header (type and flags, remaining length) followed by the body."""
    return bytes([first_byte]) + varint(len(body)) + body


def split_packet(buffer: bytearray, max_size: int) -> tuple[int, bytes] | None:
    """Remove one whole packet from the front of ``buffer``: (first byte, body); None if incomplete."""
    length, shift, index = 0, 0, 1
    while True:
        if index >= len(buffer):
            return None
        byte = buffer[index]
        length |= (byte & 0x7F) << shift
        index += 1
        if not byte & 0x80:
            break
        shift += 7
        if shift > 21:
            raise Malformed("remaining length longer than 4 bytes")
    if length + index > max_size:
        raise Malformed(f"packet of {length + index} bytes exceeds the broker's limit of {max_size}")
    if len(buffer) < index + length:
        return None
    first, body = buffer[0], bytes(buffer[index:index + length])
    del buffer[:index + length]
    return first, body
