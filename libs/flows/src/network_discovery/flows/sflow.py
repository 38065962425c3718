"""sFlow version 5 (sflow.org, "sFlow Version 5", 2004): flow samples as flow records, scaled
by their sampling rate, and counter samples' generic interface counters.

A datagram holds samples; a flow sample describes one sampled packet (its header as captured,
or its decoded IPv4/IPv6 fields) seen by a data source sampling 1 in N packets, so it becomes
one record of :data:`~network_discovery.flows.SCHEMA` with the packet's frame length as bytes,
1 packet, and N as its ``sampling_rate`` (the rollups scale by it). Both the compact and the
expanded sample formats are read. A counter sample's generic interface counters (ifIndex,
octets, packets, errors, discards, speed, status) are handed out as they are. Unknown sample
and record formats are skipped by their length; every length is checked against what remains.

Records carry ``version`` :data:`SFLOW_VERSION` (105: sFlow, version 5) and ``domain`` the
agent's sub-agent id. The datagram sequence number counts datagrams per sub-agent.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from network_discovery.flows.decode import SCHEMA

__all__ = [
    "COUNTER_SCHEMA",
    "SFLOW_VERSION",
    "SflowDatagram",
    "counters_table",
    "decode_sflow",
    "is_sflow",
]

#: The ``version`` of sFlow records (NetFlow's are 5 and 9, IPFIX's 10).
SFLOW_VERSION = 105
_MAGIC = b"\x00\x00\x00\x05"
_U32 = struct.Struct("!I")
_COUNTERS_IF = struct.Struct("!IIQIIQIIIIIIQIIIIII")  # 88 bytes
#: Samples and records one datagram may hold (a datagram is at most 64 KiB anyway).
MAX_SAMPLES = 4096
MAX_RECORDS = 256

_VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
_GENERIC_COUNTERS = (
    "if_index",
    "if_type",
    "if_speed",
    "if_direction",
    "if_status",
    "in_octets",
    "in_ucast_pkts",
    "in_multicast_pkts",
    "in_broadcast_pkts",
    "in_discards",
    "in_errors",
    "in_unknown_protos",
    "out_octets",
    "out_ucast_pkts",
    "out_multicast_pkts",
    "out_broadcast_pkts",
    "out_discards",
    "out_errors",
    "promiscuous_mode",
)
#: The generic counters' fields that are 32 bits wide (the others are 64).
_COUNTER_U32 = frozenset(_GENERIC_COUNTERS) - {"if_speed", "in_octets", "out_octets"}


#: Counter samples' generic interface counters as columns: the exporter and sub-agent that sent
#: them, then the fields of the format (sflow.org, "sFlow Version 5", counters_sample format 1).
COUNTER_SCHEMA = pa.schema(
    [
        ("exporter", pa.string()),
        ("domain", pa.uint32()),
        *(
            (name, pa.uint32() if name in _COUNTER_U32 else pa.uint64())
            for name in _GENERIC_COUNTERS
        ),
    ]
)


def counters_table(exporter: str, domain: int, counters: Sequence[Mapping[str, int]]) -> pa.Table:
    """One datagram's generic interface counters (:attr:`SflowDatagram.counters`) as
    :data:`COUNTER_SCHEMA` columns."""
    n = len(counters)
    columns: dict[str, pa.Array] = {
        "exporter": pa.array([exporter] * n, pa.string()),
        "domain": pa.array([domain] * n, pa.uint32()),
    }
    for name in _GENERIC_COUNTERS:
        columns[name] = pa.array([c[name] for c in counters], COUNTER_SCHEMA.field(name).type)
    return pa.table(columns, schema=COUNTER_SCHEMA)


class SflowError(ValueError):
    """A datagram (or a part of it) that is not sFlow v5 as the specification lays it out."""


@dataclass
class SflowDatagram:
    agent: str
    sub_agent: int
    sequence: int
    uptime_ms: int
    records: pa.Table
    #: Generic interface counters, one dict per counter sample record (format 1).
    counters: list[dict[str, int]] = field(default_factory=list)
    #: Samples that could not be read (the others of the datagram stand).
    malformed: int = 0
    #: Samples of formats not decoded here, and flow samples of no IP packet.
    ignored: int = 0


def is_sflow(data: bytes) -> bool:
    return data[:4] == _MAGIC


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else end

    def u32(self) -> int:
        if self.pos + 4 > self.end:
            raise SflowError("truncated")
        (value,) = _U32.unpack_from(self.data, self.pos)
        self.pos += 4
        return int(value)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise SflowError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def opaque(self) -> _Reader:
        """The next length-prefixed part (padded to 4 bytes), as a reader of its own."""
        length = self.u32()
        if self.pos + length > self.end:
            raise SflowError("a length longer than what remains")
        part = _Reader(self.data, self.pos, self.pos + length)
        self.pos += (length + 3) & ~3
        self.pos = min(self.pos, self.end)
        return part

    def address(self) -> bytes:
        """An sFlow address (type 1: IPv4, 2: IPv6) as 16 bytes, IPv4 mapped."""
        kind = self.u32()
        if kind == 1:
            return _mapped(self.take(4))
        if kind == 2:
            return self.take(16)
        raise SflowError(f"address type {kind}")


def _mapped(v4: bytes) -> bytes:
    return bytes(10) + b"\xff\xff" + v4


@dataclass
class _Flow:
    src: bytes = bytes(16)
    dst: bytes = bytes(16)
    proto: int = 0
    sport: int = 0
    dport: int = 0
    flags: int = 0
    length: int = 0
    found: bool = False


def _ports(flow: _Flow, packet: bytes, at: int) -> None:
    if flow.proto in (6, 17, 132) and at + 4 <= len(packet):
        flow.sport, flow.dport = struct.unpack_from("!HH", packet, at)
        if flow.proto == 6 and at + 14 <= len(packet):
            flow.flags = packet[at + 13]


def _ip(flow: _Flow, packet: bytes, at: int, ethertype: int) -> None:
    if ethertype == 0x0800 and at + 20 <= len(packet) and packet[at] >> 4 == 4:
        ihl = (packet[at] & 0x0F) * 4
        flow.proto = packet[at + 9]
        flow.src, flow.dst = _mapped(packet[at + 12 : at + 16]), _mapped(packet[at + 16 : at + 20])
        flow.found = True
        fragment_offset = struct.unpack_from("!H", packet, at + 6)[0] & 0x1FFF
        if fragment_offset == 0:
            _ports(flow, packet, at + ihl)
    elif ethertype == 0x86DD and at + 40 <= len(packet) and packet[at] >> 4 == 6:
        flow.proto = packet[at + 6]
        flow.src, flow.dst = packet[at + 8 : at + 24], packet[at + 24 : at + 40]
        flow.found = True
        _ports(flow, packet, at + 40)


def _raw_header(flow: _Flow, part: _Reader) -> None:
    """Sampled header (format 1): the packet's first bytes as captured."""
    protocol = part.u32()
    flow.length = part.u32()
    part.u32()  # stripped
    header = part.opaque()
    packet = header.data[header.pos : header.end]
    if protocol == 1:  # Ethernet
        at = 12
        if len(packet) < at + 2:
            return
        ethertype = struct.unpack_from("!H", packet, at)[0]
        at += 2
        tags = 0
        while ethertype in _VLAN_TAGS and len(packet) >= at + 4 and tags < 4:
            ethertype = struct.unpack_from("!H", packet, at + 2)[0]
            at += 4
            tags += 1
        _ip(flow, packet, at, ethertype)
    elif protocol == 11:  # IPv4
        _ip(flow, packet, 0, 0x0800)
    elif protocol == 12:  # IPv6
        _ip(flow, packet, 0, 0x86DD)


def _sampled_ip(flow: _Flow, part: _Reader, v6: bool) -> None:
    """Sampled IPv4 (format 3) or IPv6 (format 4) fields, where no header was sampled."""
    length = part.u32()
    proto = part.u32()
    size = 16 if v6 else 4
    src, dst = part.take(size), part.take(size)
    sport, dport, flags = part.u32(), part.u32(), part.u32()
    if flow.found:  # the sampled header says the same, and more
        return
    flow.length = length
    flow.proto = proto & 0xFF
    flow.src, flow.dst = (src, dst) if v6 else (_mapped(src), _mapped(dst))
    flow.sport, flow.dport, flow.flags = sport & 0xFFFF, dport & 0xFFFF, flags & 0xFF
    flow.found = True


def _interface(value: int) -> int:
    """A compact sample's 32-bit interface: format in the top 2 bits, 0 meaning an ifIndex."""
    return value & 0x3FFFFFFF if value >> 30 == 0 else 0


class _Columns:
    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {
            n: [] for n in SCHEMA.names if n not in ("exporter", "version", "domain")
        }

    def add(self, flow: _Flow, rate: int, input_if: int, output_if: int) -> None:
        r = self.rows
        r["src_addr"].append(flow.src)
        r["dst_addr"].append(flow.dst)
        r["proto"].append(flow.proto)
        r["src_port"].append(flow.sport)
        r["dst_port"].append(flow.dport)
        r["bytes"].append(flow.length)
        r["packets"].append(1)
        r["input_if"].append(input_if)
        r["output_if"].append(output_if)
        r["tcp_flags"].append(flow.flags)
        r["sampling_rate"].append(rate)

    def table(self, exporter: str, domain: int) -> pa.Table:
        n = len(self.rows["bytes"])
        arrays = [
            pa.repeat(exporter, n),
            pa.array(np.full(n, SFLOW_VERSION, np.uint8)),
            pa.array(np.full(n, domain, np.uint32)),
        ]
        for f in list(SCHEMA)[3:]:
            arrays.append(pa.array(self.rows[f.name], f.type))
        return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _flow_sample(sample: _Reader, expanded: bool, out: _Columns) -> bool:
    """One flow sample as a record; False when it sampled no IP packet."""
    sample.u32()  # its sequence number
    if expanded:
        sample.u32()  # source id type
        sample.u32()  # source id index
    else:
        sample.u32()  # source id (type and index)
    rate, _pool, _drops = sample.u32(), sample.u32(), sample.u32()
    if expanded:
        in_format, in_value = sample.u32(), sample.u32()
        out_format, out_value = sample.u32(), sample.u32()
        input_if = in_value if in_format == 0 else 0
        output_if = out_value if out_format == 0 else 0
    else:
        input_if, output_if = _interface(sample.u32()), _interface(sample.u32())
    count = sample.u32()
    if count > MAX_RECORDS:
        raise SflowError(f"{count} records in one sample")
    flow = _Flow()
    for _ in range(count):
        kind = sample.u32()
        part = sample.opaque()
        enterprise, fmt = kind >> 12, kind & 0xFFF
        if enterprise == 0 and fmt == 1:
            _raw_header(flow, part)
        elif enterprise == 0 and fmt in (3, 4):
            _sampled_ip(flow, part, fmt == 4)
        # other records (switch, router, gateway, user data ...) name no flow key
    if flow.found:
        out.add(flow, rate, input_if, output_if)
    return flow.found


def _counter_sample(sample: _Reader, expanded: bool, counters: list[dict[str, int]]) -> None:
    sample.u32()  # sequence number
    sample.u32()  # source id (type and index)
    if expanded:
        sample.u32()
    count = sample.u32()
    if count > MAX_RECORDS:
        raise SflowError(f"{count} records in one sample")
    for _ in range(count):
        kind = sample.u32()
        part = sample.opaque()
        if kind == 1:  # generic interface counters (others: ethernet, processor ...)
            if part.end - part.pos < _COUNTERS_IF.size:
                raise SflowError("truncated interface counters")
            values = _COUNTERS_IF.unpack_from(part.data, part.pos)
            counters.append(dict(zip(_GENERIC_COUNTERS, (int(v) for v in values), strict=True)))


def decode_sflow(data: bytes, exporter: str) -> SflowDatagram:
    """One sFlow v5 datagram; :class:`SflowError` when its header is not one."""
    reader = _Reader(data)
    if reader.u32() != 5:
        raise SflowError("not sFlow version 5")
    agent_raw = reader.address()
    sub_agent, sequence, uptime, samples = reader.u32(), reader.u32(), reader.u32(), reader.u32()
    if samples > MAX_SAMPLES:
        raise SflowError(f"{samples} samples in one datagram")
    columns = _Columns()
    counters: list[dict[str, int]] = []
    malformed = ignored = 0
    for _ in range(samples):
        kind = reader.u32()
        sample = reader.opaque()
        enterprise, fmt = kind >> 12, kind & 0xFFF
        try:
            if enterprise == 0 and fmt in (1, 3):
                ignored += 0 if _flow_sample(sample, fmt == 3, columns) else 1
            elif enterprise == 0 and fmt in (2, 4):
                _counter_sample(sample, fmt == 4, counters)
            else:
                ignored += 1
        except SflowError:
            malformed += 1  # one bad sample: the others stand
    agent = ipaddress.IPv6Address(agent_raw)
    return SflowDatagram(
        agent=str(agent.ipv4_mapped or agent),
        sub_agent=sub_agent,
        sequence=sequence,
        uptime_ms=uptime,
        records=columns.table(exporter, sub_agent),
        counters=counters,
        malformed=malformed,
        ignored=ignored,
    )
