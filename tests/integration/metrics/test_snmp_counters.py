"""Counters polled from snmpsim over SNMP: rates equal the rates in the recording, through a
32-bit wrap, a 64-bit wrap and a reboot of the agent (a counter reset)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pyarrow as pa
import pytest
from network_discovery.discovery import Credentials, SecretRef, Target
from network_discovery.metrics import (
    FLAG_COUNTER32,
    FLAG_RESET,
    FLAG_WRAPPED,
    compute_rates,
)
from network_discovery.metrics.snmp import SnmpCounterPoller
from support.metrics_lab import ADDRESS, COMMUNITY, PORTS, Agent

CREDS = Credentials(name="lab", snmp_community=SecretRef(env="METRICS_COMMUNITY"))
ENV = {"METRICS_COMMUNITY": COMMUNITY}
#: the poller stamps a sample with the middle of the moments it read the counters; the agent
#: computes each value by its clock when it answers: a rate is exact to within the time the
#: two readings took over the interval (the arithmetic itself is exact:
#: tests/unit/metrics/test_metric_rates.py)
TOLERANCE = 0.02
POLL_S = 2.0
_RATE_COLUMNS = {
    "in_octets": ("in_bps", 8),
    "out_octets": ("out_bps", 8),
    "in_errors": ("in_errors_ps", 1),
    "out_errors": ("out_errors_ps", 1),
    "in_discards": ("in_discards_ps", 1),
    "out_discards": ("out_discards_ps", 1),
}


def _target(agent: Agent) -> Target:
    return Target(address=ADDRESS, port=agent.port, transport="snmp", credentials=CREDS)


#: sample time -> how long reading its counters took (PollResult.read_spread_s)
SPREADS: dict[datetime, float] = {}


def _poll(poller: SnmpCounterPoller, agent: Agent) -> pa.Table:
    result = asyncio.run(poller.poll([_target(agent)]))
    assert result.failures == []
    assert result.counter32 == {"edge1": 2}  # Ethernet2 and Ethernet3 have no ifHC* counters
    SPREADS[result.samples.column("ts")[0].as_py()] = result.read_spread_s[ADDRESS]
    return result.samples


def _tolerance(row: dict) -> float:
    """The reading times' uncertainty over the interval, and 2 % besides."""
    end = row["ts"]
    start = min(SPREADS, key=lambda t: abs((end - t).total_seconds() - row["interval_s"]))
    return TOLERANCE + (SPREADS[start] + SPREADS[end]) / 2 / row["interval_s"]


def _check_rates(row: dict) -> None:
    tolerance = _tolerance(row)
    port = next(p for p in PORTS if p.name == row["interface"])
    for counter, (column, scale) in _RATE_COLUMNS.items():
        expected = port.rates.get(counter, (0.0, None))[0] * scale
        # a counter counts whole units: one unit per interval either way
        one = scale / row["interval_s"]
        assert row[column] == pytest.approx(expected, rel=tolerance, abs=one), (
            row["interface"],
            column,
        )
    packets = sum(port.rates.get(f"in_{k}", (0.0, None))[0] for k in ("ucast", "mcast", "bcast"))
    assert row["in_pps"] == pytest.approx(packets, rel=tolerance, abs=3 / row["interval_s"])
    speed = port.speed_mbps * 1e6
    assert row["speed_bps"] == speed
    assert row["in_util_pct"] == pytest.approx(
        port.rates.get("in_octets", (0.0, None))[0] * 8 / speed * 100, rel=tolerance, abs=1e-9
    )
    assert row["oper_status"] == (1 if port.up else 2)
    assert row["status_changes"] == 0


def test_rates_through_wraps_and_a_reset(counters_agent: Agent) -> None:
    with SnmpCounterPoller(timeout=2.0, retries=1, environ=ENV) as poller:
        samples = [_poll(poller, counters_agent)]
        bits = {
            r["interface"]: (r["octets_bits"], r["packets_bits"], r["errors_bits"])
            for r in samples[0].to_pylist()
        }
        assert bits == {"Ethernet1": (64, 64, 32), "Ethernet2": (32, 32, 32)} | {
            "Ethernet3": (32, 32, 32)
        }
        # poll until both wraps (12 s and 16 s after the agent started) lie behind us
        deadline = time.monotonic() + 60
        wrapped: set[str] = set()
        while wrapped != {"Ethernet1", "Ethernet2"}:
            assert time.monotonic() < deadline, f"no wrap seen on both ports: {wrapped}"
            time.sleep(POLL_S)
            samples.append(_poll(poller, counters_agent))
            rates = compute_rates(pa.concat_tables(samples[-2:]), expected_interval_s=POLL_S)
            for row in rates.to_pylist():
                assert not row["flags"] & FLAG_RESET, row
                _check_rates(row)
                if row["flags"] & FLAG_WRAPPED:
                    wrapped.add(row["interface"])
                assert bool(row["flags"] & FLAG_COUNTER32) == (row["interface"] != "Ethernet1")

        counters_agent.restart()  # a reboot: sysUpTime and the counters start again
        samples.append(_poll(poller, counters_agent))
        time.sleep(POLL_S)
        samples.append(_poll(poller, counters_agent))

    rates = compute_rates(pa.concat_tables(samples), expected_interval_s=POLL_S).to_pylist()
    assert len(rates) == 3 * (len(samples) - 1)
    across = [r for r in rates if r["flags"] & FLAG_RESET]
    # the interval over the reboot, on every port, and nowhere else
    assert len(across) == 3
    assert {r["ts"] for r in across} == {samples[-2].column("ts")[0].as_py()}
    assert all(r["in_bps"] is None and r["in_pps"] is None for r in across)
    after = [r for r in rates if r["ts"] == samples[-1].column("ts")[0].as_py()]
    for row in after:
        _check_rates(row)
