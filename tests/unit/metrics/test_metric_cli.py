"""Counters from real device output already in the repository (see each folder's
PROVENANCE.md): EOS and NX-OS JSON, IOS text."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from network_discovery.metrics import compute_rates
from network_discovery.metrics.cli import (
    samples_from_eos_json,
    samples_from_ios_text,
    samples_from_nxos_json,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
PUBLIC = Path(__file__).resolve().parents[2] / "fixtures" / "discovery" / "public-json"
TS = datetime(2026, 1, 1, tzinfo=UTC)


def test_eos_json_counters_and_their_own_timestamps() -> None:
    doc = json.loads((REAL / "suzieq" / "eos" / "leaf01" / "show_interfaces.json").read_text())
    rows = {r["interface"]: r for r in samples_from_eos_json("leaf01", doc, TS).to_pylist()}
    assert set(rows) == set(doc["interfaces"])
    mgmt = rows["Management1"]
    counters = doc["interfaces"]["Management1"]["interfaceCounters"]
    assert (mgmt["in_octets"], mgmt["out_octets"]) == (64031072, 10962221)
    assert (mgmt["in_ucast"], mgmt["out_ucast"]) == (1205563, 101760)
    assert mgmt["ts"] == datetime.fromtimestamp(counters["counterRefreshTime"], tz=UTC)
    assert (mgmt["speed_bps"], mgmt["oper_status"], mgmt["source"]) == (10**9, 1, "cli")
    with_counters = [n for n, b in doc["interfaces"].items() if "interfaceCounters" in b]
    assert all(rows[n]["in_octets"] is not None for n in with_counters)
    without = set(rows) - set(with_counters)
    assert all(rows[n]["in_octets"] is None and rows[n]["ts"] == TS for n in without)


def test_nxos_json_counters() -> None:
    doc = json.loads((PUBLIC / "nxos-spine1" / "show_interface.json").read_text())
    rows = {r["interface"]: r for r in samples_from_nxos_json("spine1", doc, TS).to_pylist()}
    assert set(rows) == {"mgmt0", "Ethernet2/1", "Ethernet2/2", "Ethernet2/7", "Vlan1"}
    eth = rows["Ethernet2/1"]
    assert [eth[c] for c in ("in_octets", "out_octets", "in_ucast", "in_errors")] == [0] * 4
    assert (eth["speed_bps"], eth["oper_status"], eth["ts"]) == (10**9, 1, TS)
    assert rows["Ethernet2/7"]["oper_status"] == 2
    # this NX-OS release prints no counters for mgmt0: unknown, not zero
    assert rows["mgmt0"]["in_octets"] is None and rows["Vlan1"]["in_octets"] is None


def test_ios_text_counters() -> None:
    text = (REAL / "suzieq" / "mixed" / "leaf1-ios" / "show interfaces.txt").read_text()
    rows = {r["interface"]: r for r in samples_from_ios_text("leaf1", text, TS).to_pylist()}
    assert len(rows) == len(re.findall(r"^\S+ is .*, line protocol is", text, re.M))
    gi7 = rows["GigabitEthernet0/7"]
    assert (gi7["in_octets"], gi7["out_octets"], gi7["in_errors"]) == (147241815, 236572253, 4794)
    assert (gi7["speed_bps"], gi7["oper_status"]) == (10**9, 1)
    assert rows["GigabitEthernet0/2"]["oper_status"] == 2
    assert gi7["in_ucast"] is None  # IOS text has no packet split: unknown


def test_ios_rates_between_two_readings() -> None:
    text = (REAL / "suzieq" / "mixed" / "leaf1-ios" / "show interfaces.txt").read_text()
    first = samples_from_ios_text("leaf1", text, TS)
    # the same device a minute on, 60 MB more in on Gi0/0: the rate is 8 Mbit/s
    later = text.replace("521268 packets input, 71641207 bytes", "0 packets input, 131641207 bytes")
    second = samples_from_ios_text("leaf1", later, TS.replace(minute=1))
    rates = {
        r["interface"]: r for r in compute_rates(pa.concat_tables([first, second])).to_pylist()
    }
    assert rates["GigabitEthernet0/0"]["in_bps"] == 60_000_000 * 8 / 60
    assert rates["GigabitEthernet0/0"]["in_util_pct"] == 0.8
    assert rates["GigabitEthernet0/0"]["in_pps"] is None
