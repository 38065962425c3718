"""Rates from counter samples: wraps, resets, gaps, utilisation and status changes, exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from network_discovery.metrics import (
    COUNTERS,
    FLAG_AMBIGUOUS,
    FLAG_COUNTER32,
    FLAG_GAP,
    FLAG_INVALID,
    FLAG_RESET,
    FLAG_WRAPPED,
    SAMPLE_SCHEMA,
    compute_rates,
)

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _row(interface: str, seconds: float, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SAMPLE_SCHEMA.names)
    row.update(
        device="sw1",
        interface=interface,
        if_index=1,
        ts=T0 + timedelta(seconds=seconds),
        uptime_ticks=100_000 + int(seconds * 100),
        octets_bits=64,
        packets_bits=64,
        errors_bits=32,
        speed_bps=10_000_000_000,
        oper_status=1,
        last_change_ticks=500,
        source="snmp",
    )
    row.update(values)
    return row


def _rates(*rows: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return compute_rates(
        pa.Table.from_pylist(list(rows), schema=SAMPLE_SCHEMA), **kwargs
    ).to_pylist()


def test_plain_rates_utilisation_and_packets() -> None:
    a = _row("Et1", 0, in_octets=1_000, out_octets=0, in_ucast=10, in_mcast=5, in_bcast=None)
    b = _row("Et1", 60, in_octets=1_000 + 75_000_000_000, out_octets=750_000_000)
    b.update(in_ucast=10 + 6_000, in_mcast=5 + 600, in_errors=None)
    [rate] = _rates(a, b)
    assert rate["interval_s"] == 60.0
    assert rate["in_bps"] == 75_000_000_000 * 8 / 60  # 10 Gbit/s
    assert rate["in_util_pct"] == 100.0
    assert rate["out_util_pct"] == 1.0
    # broadcast missing on one side: the packets that are known
    assert rate["in_pps"] == (6_000 + 600) / 60
    assert rate["out_pps"] is None
    assert rate["in_errors_ps"] is None
    assert rate["flags"] == 0


def test_32_bit_wrap_is_exact() -> None:
    a = _row("Gi1", 0, octets_bits=32, speed_bps=1_000_000_000, in_octets=2**32 - 1_000)
    b = _row("Gi1", 10, octets_bits=32, speed_bps=1_000_000_000, in_octets=4_000)
    [rate] = _rates(a, b)
    assert rate["in_bps"] == 5_000 * 8 / 10
    assert rate["flags"] == FLAG_WRAPPED | FLAG_COUNTER32


def test_64_bit_wrap_is_exact() -> None:
    a = _row("Et1", 0, in_octets=2**64 - 1_000_000)
    b = _row("Et1", 1, in_octets=24_000_000)
    [rate] = _rates(a, b)
    assert rate["in_bps"] == 25_000_000 * 8
    assert rate["flags"] == FLAG_WRAPPED


def test_53_bit_wrap_of_snmp_exporter_is_exact() -> None:
    a = _row("Et1", 0, octets_bits=53, in_octets=2**53 - 100)
    b = _row("Et1", 2, octets_bits=53, in_octets=300)
    [rate] = _rates(a, b)
    assert rate["in_bps"] == 400 * 8 / 2
    assert rate["flags"] == FLAG_WRAPPED


@pytest.mark.parametrize(
    "change",
    [
        {"uptime_ticks": 3_000},  # rebooted: sysUpTime went back
        {"discontinuity_ticks": 99_999},  # ifCounterDiscontinuityTime moved
        {"in_octets": 10},  # `clear counters` on a 64-bit counter: 2**64 "wrap" > line rate
        {"in_octets": 10, "speed_bps": None},  # ... speed unknown: still no such traffic
    ],
    ids=["uptime-back", "discontinuity", "cleared", "cleared-no-speed"],
)
def test_resets_give_no_rate(change: dict[str, Any]) -> None:
    a = _row("Et1", 0, in_octets=9_000_000, discontinuity_ticks=0)
    b = _row("Et1", 30, in_octets=9_500_000, discontinuity_ticks=0)
    b.update(change)
    [rate] = _rates(a, b)
    assert rate["flags"] & FLAG_RESET
    assert rate["in_bps"] is None and rate["in_util_pct"] is None


def test_cleared_32_bit_counter_is_a_reset_when_the_wrap_is_impossible() -> None:
    # 1e9 -> 10 on a 100 Mbit/s port in 60 s: a wrap would mean 439 Mbit/s
    kw = {"octets_bits": 32, "speed_bps": 100_000_000}
    [rate] = _rates(
        _row("Fa0", 0, in_octets=1_000_000_000, **kw), _row("Fa0", 60, in_octets=10, **kw)
    )
    assert rate["flags"] & FLAG_RESET and rate["in_bps"] is None


def test_32_bit_counter_on_a_fast_port_is_ambiguous() -> None:
    # 10 Gbit/s can wrap a 32-bit octet counter every 3.4 s: a 300 s poll cannot tell
    kw = {"octets_bits": 32}
    [rate] = _rates(_row("Et9", 0, in_octets=5, **kw), _row("Et9", 300, in_octets=50, **kw))
    assert rate["flags"] & FLAG_AMBIGUOUS and rate["in_bps"] is None


def test_gap_and_invalid_intervals() -> None:
    rows = [_row("Et1", s, in_octets=s * 1_000) for s in (0, 60, 300, 300)]
    rates = _rates(*rows, expected_interval_s=60)
    assert [r["flags"] for r in rates] == [0, FLAG_GAP, FLAG_INVALID]
    assert rates[1]["in_bps"] == 240_000 * 8 / 240  # an average over the gap
    assert rates[2]["in_bps"] is None


def test_status_changes_and_flaps() -> None:
    rows = [
        _row("Et1", 0, oper_status=1, last_change_ticks=500),
        _row("Et1", 60, oper_status=2, last_change_ticks=4_000),  # went down
        _row("Et1", 120, oper_status=2, last_change_ticks=4_000),
        _row("Et1", 180, oper_status=2, last_change_ticks=9_000),  # up and down again
    ]
    rates = _rates(*rows)
    assert [(r["oper_status"], r["status_changes"]) for r in rates] == [(2, 1), (2, 0), (2, 2)]


def test_interfaces_and_devices_are_kept_apart_and_order_does_not_matter() -> None:
    rows = [
        _row("Et2", 60, in_octets=600),
        _row("Et1", 0, in_octets=0),
        {**_row("Et1", 0, in_octets=0), "device": "sw2"},
        _row("Et2", 0, in_octets=0),
        _row("Et1", 60, in_octets=60),
        {**_row("Et1", 60, in_octets=6), "device": "sw2"},
    ]
    rates = _rates(*rows)
    assert [(r["device"], r["interface"], r["in_bps"]) for r in rates] == [
        ("sw1", "Et1", 8.0),
        ("sw1", "Et2", 80.0),
        ("sw2", "Et1", 0.8),
    ]


def test_fewer_than_two_samples_give_nothing() -> None:
    assert _rates(_row("Et1", 0, **dict.fromkeys(COUNTERS, 1))) == []
    assert _rates(_row("Et1", 0), _row("Et2", 0)) == []
