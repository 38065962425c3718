"""Which inventory hosts the metrics schedule polls, and the names samples are stored under."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from network_discovery.discovery.inventory import load_inventory
from network_discovery.metrics import SAMPLE_SCHEMA
from network_discovery.metrics.pipeline import graph_keys
from network_discovery.metrics.schedule import MetricsSchedule, snmp_targets

INVENTORY = """
credentials:
  v2: {snmp_community_env: COMMUNITY}
  v3: {snmp_user: monitor, snmp_auth_key_env: AUTH, snmp_priv_key_env: PRIV, snmp_version: "3"}
  ssh: {username: netops, password_env: SSH_PASSWORD}
hosts:
  edge1: {address: 10.0.0.1, port: 1161, transport: snmp, credentials: v2}
  core1: {address: 10.0.0.2, port: 2222, platform: arista_eos, credentials: v3}
  acc1: {address: 10.0.0.3, platform: cisco_ios, credentials: ssh}
  edge1-again: {address: 10.0.0.1, port: 1161, transport: snmp, credentials: v2}
"""


def test_snmp_hosts_and_ssh_hosts_with_snmp_secrets_are_polled(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    polled = snmp_targets(load_inventory(path).targets)
    assert [(t.label, t.address, t.port, t.transport) for t in polled] == [
        # an SSH host with SNMP secrets: polled on UDP 161, not on its SSH port
        ("core1", "10.0.0.2", None, "snmp"),
        ("edge1", "10.0.0.1", 1161, "snmp"),
    ]


async def test_the_schedule_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    schedule = MetricsSchedule(inventory=path, store=None, max_devices=1)  # type: ignore[arg-type]
    assert [t.label for t in await schedule.targets()] == ["core1"]
    with pytest.raises(ValueError, match="interval_s"):
        MetricsSchedule(inventory=path, store=None, interval_s=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_devices"):
        MetricsSchedule(inventory=path, store=None, max_devices=0)  # type: ignore[arg-type]


async def test_an_unreadable_inventory_keeps_the_last_targets(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    schedule = MetricsSchedule(inventory=path, store=None, reload_s=1e-9)  # type: ignore[arg-type]
    assert len(await schedule.targets()) == 2
    path.write_text("hosts: [not, a, mapping]\n")
    assert len(await schedule.targets()) == 2


def test_samples_are_keyed_as_the_graph_keys_them() -> None:
    rows = [
        {"device": "Core1.Example.NET.", "interface": "Gi0/1"},
        {"device": "core1.example.net", "interface": "Et1"},
        {"device": "bad name", "interface": "xe-0/0/1.0"},
    ]
    keyed = graph_keys(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA))
    assert keyed.schema == SAMPLE_SCHEMA
    assert keyed.select(["device", "interface"]).to_pylist() == [
        {"device": "core1.example.net", "interface": "GigabitEthernet0/1"},
        {"device": "core1.example.net", "interface": "Ethernet1"},
        # not a host name the graph could hold: kept as the device gave it
        {"device": "bad name", "interface": "xe-0/0/1"},
    ]
