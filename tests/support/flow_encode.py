"""NetFlow v9 and IPFIX datagrams built byte by byte from RFC 3954 and RFC 7011, for the
decoder's unit tests (the real exporter, softflowd, is exercised in tests/integration/flows)."""

from __future__ import annotations

import ipaddress
import struct


def field_spec(ie: int, length: int, pen: int = 0) -> bytes:
    if pen:
        return struct.pack("!HHI", ie | 0x8000, length, pen)
    return struct.pack("!HH", ie, length)


def template_set(
    set_id: int, template_id: int, fields: list[bytes], scope_count: int = -1
) -> bytes:
    """A template (set 2 / v9 flowset 0) or an IPFIX options template (set 3, scope_count)."""
    if scope_count >= 0:
        body = struct.pack("!HHH", template_id, len(fields), scope_count) + b"".join(fields)
    else:
        body = struct.pack("!HH", template_id, len(fields)) + b"".join(fields)
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def data_set(template_id: int, records: list[bytes], pad: int = 0) -> bytes:
    body = b"".join(records) + bytes(pad)
    return struct.pack("!HH", template_id, 4 + len(body)) + body


def ipfix(sets: list[bytes], sequence: int = 0, domain: int = 1) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), 1_700_000_000, sequence, domain) + body


def v9(flowsets: list[bytes], sequence: int = 0, source_id: int = 1) -> bytes:
    body = b"".join(flowsets)
    return struct.pack("!HHIIII", 9, len(flowsets), 1000, 1_700_000_000, sequence, source_id) + body


def varlen(value: bytes) -> bytes:
    if len(value) < 255:
        return bytes([len(value)]) + value
    return b"\xff" + struct.pack("!H", len(value)) + value


def v4(addr: str) -> bytes:
    return ipaddress.IPv4Address(addr).packed
