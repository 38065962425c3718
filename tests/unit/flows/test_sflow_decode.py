"""sFlow v5: real datagrams published with goflow2's decoder tests (netsampler/goflow2,
decoders/sflow/sflow_test.go: a compact flow sample of an ICMP packet, and the first sample of
an expanded-sample capture with its datagram's sample count set to 1), whose fields are
worked out by hand from the sFlow v5 specification below; datagrams built from the
specification for the other formats (sampled IPv6 fields, counter samples, compact interface
formats); and hostile input, counted and dropped."""

from __future__ import annotations

import struct

import pytest
from network_discovery.flows import FlowCollector, FlowDecoder, conversation_dict, conversations
from network_discovery.flows.aggregate import address_text
from network_discovery.flows.sflow import SFLOW_VERSION, SflowError, decode_sflow

COMPACT_ICMP = bytes.fromhex(
    "0000000500000001ac1000110000000100000 1aa67eeaa010000000100000001"
    "000000880000000600000413000008000000300000000000000004aa00000413"
    "00000001000000010000006000000001000000520000000400000 04e00ff1234"
    "351bffabcdefab648100002008004500003c5c0700007c0148a0ac1020feac10"
    "20f108009761a9480cb2616263646566676869 6a6b6c6d6e6f7071727374757677"
    "616263646566676869 0000".replace(" ", "")
)
EXPANDED_TCP = bytes.fromhex(
    "000000050000000101020304000000000fa772c20f76734800000001 00000003".replace(" ", "")
    + "000000dc209093260000000000 0f42a4".replace(" ", "")
    + "00003fff0438ecda0000000000000000"
    "000f42a400000000000f425200000002"
    "000003e9000000100000001e00000000"
    "0000001e000000000000000100000090"
    "00000001000005ea0000000400000080"
    "08ecf52a8fbe7483ef3065b78100001e"
    "0800450005d43bba40003f06bd99b93b"
    "dc9358ee4e1301bbcfd645b71bc0d5b8"
    "ff24801000040155000001010 80ac8c8".replace(" ", "")
    + "56950034f60fe81dbd4145924cc271e0"
    "eb2e35177c2fb9a805920e031b50530c"
    "e57d8675328acce226a8902178bfce7a"
    "f8b58d48e4aafe2634e0adb9ec7974d8"
)


def _plain(table: object) -> list[dict[str, object]]:
    rows = table.to_pylist()  # type: ignore[attr-defined]
    for row in rows:
        row["src_addr"], row["dst_addr"] = (
            address_text(row["src_addr"]),
            address_text(row["dst_addr"]),
        )
    return rows


def test_compact_flow_sample_of_an_icmp_packet() -> None:
    datagram = decode_sflow(COMPACT_ICMP, "198.51.100.1")
    assert (datagram.agent, datagram.sub_agent, datagram.sequence) == ("172.16.0.17", 1, 426)
    assert (datagram.malformed, datagram.ignored, datagram.counters) == (0, 0, [])
    assert _plain(datagram.records) == [
        {
            "exporter": "198.51.100.1",
            "version": SFLOW_VERSION,
            "domain": 1,
            "src_addr": "172.16.32.254",
            "dst_addr": "172.16.32.241",
            "proto": 1,
            "src_port": 0,
            "dst_port": 0,
            "bytes": 82,  # the frame's length
            "packets": 1,
            "input_if": 1194,
            "output_if": 1043,
            "tcp_flags": 0,
            "sampling_rate": 2048,
        }
    ]


def test_expanded_flow_sample_of_a_tcp_packet_behind_a_vlan_tag() -> None:
    datagram = decode_sflow(EXPANDED_TCP, "198.51.100.1")
    assert (datagram.agent, datagram.sub_agent, datagram.sequence) == ("1.2.3.4", 0, 0x0FA772C2)
    [row] = _plain(datagram.records)
    assert (row["src_addr"], row["dst_addr"], row["proto"]) == ("185.59.220.147", "88.238.78.19", 6)
    assert (row["src_port"], row["dst_port"], row["tcp_flags"]) == (443, 53206, 0x10)
    assert (row["bytes"], row["packets"], row["sampling_rate"]) == (1514, 1, 16383)
    assert (row["input_if"], row["output_if"]) == (1000100, 1000018)


# --- datagrams built from the specification ------------------------------------------------------


def _opaque(kind: int, body: bytes) -> bytes:
    pad = (-len(body)) % 4
    return struct.pack("!II", kind, len(body)) + body + bytes(pad)


def _datagram(samples: list[bytes], sequence: int = 7, v6_agent: bool = False) -> bytes:
    agent = (
        struct.pack("!I", 2) + bytes(15) + b"\x01"
        if v6_agent
        else struct.pack("!I4B", 1, 192, 0, 2, 9)
    )
    return (
        struct.pack("!I", 5)
        + agent
        + struct.pack("!IIII", 3, sequence, 1000, len(samples))
        + (b"".join(samples))
    )


def _sampled_ipv6(src: bytes, dst: bytes, length: int, proto: int, sp: int, dp: int) -> bytes:
    body = struct.pack("!II", length, proto) + src + dst + struct.pack("!III", sp, dp, 0x12)
    return _opaque(4, body + struct.pack("!I", 0))  # then the priority


def _compact_flow(rate: int, input_if: int, output_if: int, records: list[bytes]) -> bytes:
    body = struct.pack("!IIIIIIII", 1, 0x00000007, rate, 1000, 0, input_if, output_if, len(records))
    return _opaque(1, body + b"".join(records))


def _counters(if_index: int, in_octets: int, out_octets: int) -> bytes:
    generic = struct.pack(
        "!IIQIIQIIIIIIQIIIIII",
        if_index, 6, 10_000_000_000, 1, 3, in_octets, 10, 1, 2, 0, 0, 0, out_octets,
        20, 3, 4, 5, 6, 0,
    )  # fmt: skip
    ethernet = _opaque(2, bytes(52))  # Ethernet counters: not decoded, skipped by length
    body = struct.pack("!III", 1, if_index, 2) + _opaque(1, generic) + ethernet
    return _opaque(2, body)


def test_sampled_ipv6_fields_counters_and_interface_formats() -> None:
    a = bytes.fromhex("20010db8000000000000000000000001")
    b = bytes.fromhex("20010db8000000000000000000000002")
    flows = [
        _compact_flow(
            100, 5, 6, [_opaque(1001, bytes(16)), _sampled_ipv6(a, b, 1200, 17, 53, 5353)]
        ),
        # output interface format 1 (discarded) and 2 (several): no ifIndex
        _compact_flow(100, 5, (1 << 30) | 4, [_sampled_ipv6(b, a, 80, 17, 5353, 53)]),
        _compact_flow(100, 5, (2 << 30) | 3, [_sampled_ipv6(b, a, 80, 17, 5353, 53)]),
    ]
    data = _datagram(
        [*flows, _counters(5, 123_456, 654_321), _opaque((9 << 12) | 1, b"x")], 9, True
    )
    datagram = decode_sflow(data, "192.0.2.9")
    assert datagram.agent == "::1"
    assert datagram.ignored == 1  # the enterprise sample
    rows = _plain(datagram.records)
    assert [(r["src_addr"], r["dst_addr"], r["src_port"], r["bytes"]) for r in rows] == [
        ("2001:db8::1", "2001:db8::2", 53, 1200),
        ("2001:db8::2", "2001:db8::1", 5353, 80),
        ("2001:db8::2", "2001:db8::1", 5353, 80),
    ]
    assert [(r["input_if"], r["output_if"]) for r in rows] == [(5, 6), (5, 0), (5, 0)]
    assert [r["tcp_flags"] for r in rows] == [0x12, 0x12, 0x12]
    [counters] = datagram.counters
    assert (counters["if_index"], counters["in_octets"], counters["out_octets"]) == (
        5,
        123_456,
        654_321,
    )
    assert (counters["if_speed"], counters["if_status"], counters["out_errors"]) == (
        10_000_000_000,
        3,
        6,
    )


def test_the_collector_scales_sflow_by_the_sampling_rate_and_tracks_sequences() -> None:
    collector = FlowCollector()
    decoded = collector.datagram(COMPACT_ICMP, "198.51.100.1")
    assert decoded is not None and decoded.version == SFLOW_VERSION
    conv = conversation_dict(conversations(decoded.records))
    assert conv == {("172.16.32.254", "172.16.32.241", 1, 0, 0): (82 * 2048, 2048)}
    a = bytes.fromhex("20010db8000000000000000000000001")
    flow = _compact_flow(10, 1, 2, [_sampled_ipv6(a, a, 60, 6, 1, 2)])
    for seq in (1, 2, 5):  # datagrams 3 and 4 lost
        collector.datagram(_datagram([flow], seq), "192.0.2.9")
    stats = collector.exporters["192.0.2.9"]
    assert stats.lost == 2 and stats.records == 3
    assert collector.decoder.errors == {}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(COMPACT_ICMP[:20], id="truncated-header"),
        pytest.param(COMPACT_ICMP[:60], id="truncated-sample"),
        pytest.param(struct.pack("!II", 5, 3) + bytes(40), id="unknown-address-type"),
        pytest.param(
            _datagram([]).replace(struct.pack("!I", 0), struct.pack("!I", 10**6)),
            id="a-million-samples",
        ),
        pytest.param(
            _datagram([struct.pack("!II", 1, 0xFFFFFF00)]), id="sample-longer-than-datagram"
        ),
    ],
)
def test_hostile_datagrams_are_counted_and_dropped(data: bytes) -> None:
    decoder = FlowDecoder()
    assert decoder.decode(data, "192.0.2.66") is None
    assert decoder.errors["malformed"] == 1
    with pytest.raises(SflowError):
        decode_sflow(data, "192.0.2.66")


def test_a_bad_sample_leaves_the_others() -> None:
    a = bytes.fromhex("20010db8000000000000000000000001")
    good = _compact_flow(10, 1, 2, [_sampled_ipv6(a, a, 60, 6, 1, 2)])
    bad = _opaque(1, struct.pack("!IIIIIIII", 1, 7, 10, 0, 0, 1, 2, 10_000))  # 10,000 records
    decoder = FlowDecoder()
    decoded = decoder.decode(_datagram([bad, good]), "192.0.2.9")
    assert decoded is not None and decoded.records.num_rows == 1
    assert decoder.errors["sflow_sample_malformed"] == 1
