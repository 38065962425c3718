"""sFlow counter samples from a real capture (tcpdump's test suite, see
``tests/fixtures/real/sflow/PROVENANCE.md``): every generic interface counter record decoded as
tcpdump decodes it, then stored and read back from the flow store as each interface's counter
increases between its samples; a counter that goes down is a discontinuity, not a negative
increase; and a batch of counters delivered twice is stored once."""

from __future__ import annotations

import re
import struct
import time
from pathlib import Path

import pytest
from network_discovery.flows.sflow import (
    COUNTER_SCHEMA,
    SflowError,
    counters_table,
    decode_sflow,
)
from network_discovery.flows.store import FlowStore
from support.flow_store import fresh_store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "sflow"
PCAP = FIXTURES / "sflow_multiple_counter_30_pdus.pcap"
REFERENCE = FIXTURES / "sflow_multiple_counter_30_pdus.out"
NOW = time.time() // 60 * 60 + 30

#: tcpdump's words for the generic interface counters -> the decoder's names.
_LINES = (
    (
        r"ifindex (\d+), iftype (\d+), ifspeed (\d+), ifdirection (\d+)",
        ("if_index", "if_type", "if_speed", "if_direction"),
    ),
    (r"ifstatus (\d+)", ("if_status",)),
    (
        r"In octets (\d+), unicast pkts (\d+), multicast pkts (\d+), broadcast pkts (\d+), "
        r"discards (\d+)",
        ("in_octets", "in_ucast_pkts", "in_multicast_pkts", "in_broadcast_pkts", "in_discards"),
    ),
    (r"In errors (\d+), unknown protos (\d+)", ("in_errors", "in_unknown_protos")),
    (
        r"Out octets (\d+), unicast pkts (\d+), multicast pkts (\d+), broadcast pkts (\d+), "
        r"discards (\d+)",
        (
            "out_octets",
            "out_ucast_pkts",
            "out_multicast_pkts",
            "out_broadcast_pkts",
            "out_discards",
        ),
    ),
    (r"Out errors (\d+), promisc mode (\d+)", ("out_errors", "promiscuous_mode")),
)


def _capture() -> list[tuple[float, str, bytes]]:
    """(time, UDP source address, UDP payload) of each packet of the pcap (Ethernet, IPv4)."""
    data = PCAP.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4
    assert struct.unpack_from("<I", data, 20)[0] == 1  # Ethernet
    out, pos = [], 24
    while pos < len(data):
        seconds, micros, length, _ = struct.unpack_from("<IIII", data, pos)
        frame = data[pos + 16 : pos + 16 + length]
        pos += 16 + length
        assert frame[12:14] == b"\x08\x00" and frame[23] == 17  # IPv4, UDP
        header = (frame[14] & 0x0F) * 4
        source = ".".join(str(b) for b in frame[26:30])
        out.append((seconds + micros / 1e6, source, frame[14 + header + 8 :]))
    return out


def _reference() -> list[list[dict[str, int]] | None]:
    """Per packet, tcpdump's generic interface counter records (None: not decoded by it)."""
    packets: list[list[dict[str, int]] | None] = []
    record: dict[str, int] = {}
    for line in REFERENCE.read_text().splitlines():
        if re.match(r"^\s+\d+\s+\d{4}-\d\d-\d\d ", line):
            packets.append([])
            continue
        if "packet not supported" in line:
            packets[-1] = None
            continue
        for pattern, names in _LINES:
            found = re.search(pattern, line)
            if found and (names[0] != "if_status" or line.strip().startswith("ifstatus")):
                record.update(zip(names, (int(v) for v in found.groups()), strict=True))
                if names[0] == "out_errors":
                    current = packets[-1]
                    assert current is not None
                    current.append(record)
                    record = {}
    return packets


def test_generic_interface_counters_equal_tcpdumps_decode() -> None:
    packets, reference = _capture(), _reference()
    assert len(packets) == len(reference) == 30
    records = 0
    for (_, source, payload), expected in zip(packets, reference, strict=True):
        if expected is None:  # tcpdump: "sFlow version 327681 packet not supported"
            with pytest.raises(SflowError):
                decode_sflow(payload, source)
            continue
        datagram = decode_sflow(payload, source)
        assert datagram.counters == expected
        assert datagram.malformed == 0 and datagram.records.num_rows == 0
        records += len(expected)
    assert records == sum(len(r or []) for r in reference) > 100


def _stored() -> tuple[FlowStore, dict[tuple[str, int, int], list[tuple[float, dict[str, int]]]]]:
    """The capture's counters in a fresh store (received as now, the capture's spacing kept),
    and what each interface sent, in time order."""
    store = fresh_store()
    packets = [p for p in _capture() if p[2][:4] == b"\x00\x00\x00\x05"]
    last = packets[-1][0]
    samples: dict[tuple[str, int, int], list[tuple[float, dict[str, int]]]] = {}
    for i, (when, source, payload) in enumerate(packets):
        datagram = decode_sflow(payload, source)
        received = NOW - 5 - (last - when)
        table = counters_table(source, datagram.sub_agent, datagram.counters)
        assert table.schema == COUNTER_SCHEMA
        store.insert_counters(table, received, f"counters-{i}")
        for c in datagram.counters:
            key = (source, datagram.sub_agent, c["if_index"])
            samples.setdefault(key, []).append((round(received, 3), c))
    return store, samples


def _packets(c: dict[str, int], way: str) -> int:
    return c[f"{way}_ucast_pkts"] + c[f"{way}_multicast_pkts"] + c[f"{way}_broadcast_pkts"]


def test_stored_counters_read_back_as_increases_per_interface() -> None:
    store, samples = _stored()
    rows = store.interface_counters(until=NOW, minutes=5)
    by_key = {(r["exporter"], r["domain"], r["if_index"]): r for r in rows}
    assert set(by_key) == set(samples)
    polled_twice = 0
    for key, seen in samples.items():
        row = by_key[key]
        assert row["samples"] == len(seen)
        if len(seen) < 2:
            assert row["seconds"] == 0 and row["in_bps"] is None
            continue
        (t0, first), (t1, second) = seen[0], seen[-1]
        assert len(seen) == 2
        polled_twice += 1
        assert row["seconds"] == pytest.approx(t1 - t0, abs=0.002)
        assert row["discontinuities"] == 0
        assert row["in_octets"] == second["in_octets"] - first["in_octets"]
        assert row["out_octets"] == second["out_octets"] - first["out_octets"]
        assert row["in_packets"] == _packets(second, "in") - _packets(first, "in")
        assert row["out_packets"] == _packets(second, "out") - _packets(first, "out")
        assert row["in_errors"] == second["in_errors"] - first["in_errors"]
        assert row["out_discards"] == second["out_discards"] - first["out_discards"]
        assert row["if_speed"] == second["if_speed"] and row["if_status"] == second["if_status"]
        assert row["in_bps"] == pytest.approx(row["in_octets"] * 8 / row["seconds"], rel=1e-3)
    assert polled_twice > 40
    busiest = rows[0]
    assert busiest["in_octets"] + busiest["out_octets"] == max(
        r["in_octets"] + r["out_octets"] for r in rows
    )
    # one interface, through the filters
    key = next(k for k, v in samples.items() if len(v) == 2)
    [one] = store.interface_counters(until=NOW, exporters=[key[0]], if_index=key[2])
    assert (one["exporter"], one["if_index"]) == (key[0], key[2])
    series = store.interface_counter_series(until=NOW, exporters=[key[0]], if_index=key[2])
    assert [(s["in_octets"], s["out_octets"]) for s in series] == [
        (one["in_octets"], one["out_octets"])
    ]
    assert store.interface_counters(until=NOW - 600, minutes=5) == []


def test_a_counter_going_down_is_a_discontinuity_and_batches_count_once() -> None:
    store = fresh_store()
    [base] = decode_sflow(_capture()[0][2], "192.0.2.7").counters[:1]

    def at(octets: int) -> dict[str, int]:
        return {**base, "in_octets": octets}

    # 1000 -> 1500 (+500 in 10 s), restart to 100, 100 -> 400 (+300 in 10 s)
    for i, (octets, when) in enumerate(((1000, NOW - 40), (1500, NOW - 30), (100, NOW - 20))):
        store.insert_counters(counters_table("192.0.2.7", 0, [at(octets)]), when, f"c{i}")
    last = counters_table("192.0.2.7", 0, [at(400)])
    store.insert_counters(last, NOW - 10, "c3")
    store.insert_counters(last, NOW - 10, "c3")  # delivered again
    [row] = store.interface_counters(until=NOW)
    assert (row["samples"], row["discontinuities"], row["in_octets"]) == (4, 1, 800)
    assert row["seconds"] == 20 and row["in_bps"] == 800 * 8 / 20
    series = store.interface_counter_series(until=NOW)
    assert [(s["seconds"], s["in_octets"]) for s in series] == [(10, 500), (10, None), (10, 300)]
    assert store.insert_counters(counters_table("192.0.2.7", 0, []), NOW, "empty") == 0
