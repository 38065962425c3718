"""SNMP collection (v2c and v3 authPriv) through pysnmp against snmpsim agents on loopback,
and the same graph from SNMP, from SSH and from saved files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from network_discovery.discovery import (
    Credentials,
    DeviceStatus,
    DiscoveryOptions,
    SecretRef,
    Target,
    build_snapshot,
    collect_ssh,
    discover,
)
from network_discovery.discovery.snmp import SnmpCollector
from network_discovery.parsers import parse_directory
from support import discovery_lab as ssh
from support.discovery_lab import graph_view
from support.snmp_lab import ADDRESSES, COMMUNITY, V3_AUTH_KEY, V3_PRIV_KEY, V3_USER

V2C = Credentials(name="v2c", snmp_community=SecretRef(env="LAB_COMMUNITY"))
V3 = Credentials(
    name="v3",
    snmp_version="3",
    snmp_user=V3_USER,
    snmp_auth_key=SecretRef(env="LAB_AUTH"),
    snmp_priv_key=SecretRef(env="LAB_PRIV"),
)


@pytest.fixture
def snmp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_COMMUNITY", COMMUNITY)
    monkeypatch.setenv("LAB_AUTH", V3_AUTH_KEY)
    monkeypatch.setenv("LAB_PRIV", V3_PRIV_KEY)


def _snmp(port: int, creds: Credentials, timeout: float = 3.0):
    targets = [
        Target(address=a, port=port, transport="snmp", credentials=creds)
        for a in ADDRESSES.values()
    ]
    with SnmpCollector(timeout=timeout, retries=0) as collector:
        return asyncio.run(
            discover(targets, DiscoveryOptions(timeout=timeout, retries=0), collector)
        )


@pytest.mark.parametrize("creds", [V2C, V3], ids=["v2c", "v3-authpriv"])
def test_snmp_builds_devices_interfaces_neighbours_and_tables(
    snmp_lab: int, snmp_env, creds: Credentials
) -> None:
    summary = _snmp(snmp_lab, creds)
    assert {r.hostname: r.status for r in summary.results} == {
        "core1": DeviceStatus.OK,
        "acc1": DeviceStatus.OK,
        "acc2": DeviceStatus.OK,
    }
    snapshot = build_snapshot(summary)
    assert snapshot is not None
    core = next(d for d in snapshot.devices if d.hostname == "core1")
    assert core.platform == "arista_eos" and core.management_ip == "127.0.0.21"
    managed = {
        (n.device, n.remote_system_name): n.remote_management_address for n in snapshot.neighbors
    }
    assert managed[("core1", "acc1")] == ADDRESSES["acc1"]
    assert managed[("core1", "ext-rtr1")] == "10.99.0.1"
    assert managed[("acc1", "acc3")] == "127.0.0.24"
    arp = {(a.device, a.ip): (a.mac, a.interface) for a in snapshot.arp}
    assert arp[("core1", "10.10.0.21")] == ("00:50:56:00:00:21", "Vlan10")  # ipNetToMedia
    assert arp[("core1", "10.99.0.1")] == ("3c:61:04:e0:99:01", "Ethernet3")  # ipNetToPhysical
    macs = {(m.device, m.mac): (m.interface, m.vlan) for m in snapshot.mac_table}
    assert macs[("core1", "00:50:56:00:00:21")] == ("Ethernet1", 10)  # Q-BRIDGE-MIB
    assert macs[("acc1", "00:50:56:00:00:21")] == ("GigabitEthernet1/0/1", None)  # BRIDGE-MIB
    assert ("acc1", "70:81:05:b1:00:31") not in macs  # the switch's own address
    assert {(v.device, v.vlan, v.name) for v in snapshot.vlans} == {
        ("core1", 1, "default"),
        ("core1", 10, "USERS"),
    }
    addresses = {(a.device, a.interface, a.address) for a in snapshot.ip_addresses}
    assert ("acc1", "Vlan10", "10.10.0.2/24") in addresses


def test_v3_with_wrong_keys_and_v2c_with_a_wrong_community_fail_clearly(
    snmp_lab: int, snmp_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_AUTH", "not-the-auth-key")
    summary = _snmp(snmp_lab, V3)
    assert {r.status for r in summary.results} == {DeviceStatus.AUTH_FAILED}
    assert all(r.detail.startswith("SNMPv3 refused: ") for r in summary.results)
    assert "not-the-auth-key" not in "\n".join(summary.lines())
    assert build_snapshot(summary) is None

    monkeypatch.setenv("LAB_COMMUNITY", "not-the-community")
    summary = _snmp(snmp_lab, V2C, timeout=1.0)
    assert {r.status for r in summary.results} == {DeviceStatus.TIMED_OUT}
    assert all("wrong community" in r.detail for r in summary.results)


def test_ssh_snmp_and_saved_files_build_the_same_graph(
    ssh_lab: ssh.Lab, lab_env, snmp_lab: int, snmp_env, tmp_path: Path
) -> None:
    creds = Credentials(username=ssh.USERNAME, password=SecretRef(env=ssh.PASSWORD_ENV))
    platforms = {"core1": "arista_eos", "acc1": "cisco_ios", "acc2": "cisco_ios"}
    ssh_targets = [
        Target(address=a, platform=platforms[n], port=ssh_lab.port, credentials=creds)
        for n, a in ssh.ADDRESSES.items()
    ]
    over_ssh = asyncio.run(
        discover(ssh_targets, DiscoveryOptions(timeout=5), lambda t: collect_ssh(t, timeout=5))
    )
    from_ssh = build_snapshot(over_ssh)
    from_snmp = build_snapshot(_snmp(snmp_lab, V3))
    from_files, report = parse_directory(ssh.FIXTURES)
    assert report.ok and from_ssh is not None and from_snmp is not None

    files_view = graph_view(from_files)
    hosts, links, endpoints = files_view
    assert hosts == {"core1", "acc1", "acc2"}
    assert ("acc1:GigabitEthernet1/0/49", "core1:Ethernet1") in links and len(links) == 4
    assert endpoints == {
        ("00:50:56:00:00:21", "acc1:GigabitEthernet1/0/1"),
        ("00:50:56:00:00:22", "acc2:GigabitEthernet1/0/1"),
    }
    assert graph_view(from_ssh) == files_view
    assert graph_view(from_snmp) == files_view


def test_cli_discovers_snmp_hosts_of_an_inventory(
    snmp_lab: int, snmp_env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner
    from network_discovery.cli import cli

    monkeypatch.delenv("MESHOPTIXIQ_LICENSE_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    inventory = tmp_path / "snmp.yaml"
    inventory.write_text(
        "credentials:\n"
        "  v3: {snmp_version: '3', snmp_user: meshq, snmp_auth_protocol: sha,\n"
        "       snmp_auth_key_env: LAB_AUTH, snmp_priv_protocol: aes,\n"
        "       snmp_priv_key_env: LAB_PRIV}\n"
        f"defaults: {{transport: snmp, credentials: v3, port: {snmp_lab}}}\n"
        "hosts:\n" + "".join(f"  {name}: {{address: {addr}}}\n" for name, addr in ADDRESSES.items())
    )
    result = CliRunner().invoke(
        cli, ["discover", "--inventory", str(inventory), "--timeout", "3", "--no-publish"]
    )
    assert result.exit_code == 0, result.output
    assert "3 ok" in result.output and V3_AUTH_KEY not in result.output
