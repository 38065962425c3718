"""Crawling over SNMP: from a seed, follow the LLDP-MIB remote management addresses the agents
report, within the allowed networks and the hop limit (snmpsim agents on loopback)."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest
from click.testing import CliRunner
from network_discovery.cli import cli
from network_discovery.discovery import (
    Credentials,
    DeviceResult,
    DeviceStatus,
    DiscoveryOptions,
    SecretRef,
    Target,
    build_snapshot,
    discover,
    parse_networks,
)
from network_discovery.discovery.snmp import SnmpCollector
from network_discovery.parsers import parse_directory
from support import discovery_lab as ssh
from support.discovery_lab import graph_view
from support.snmp_lab import ADDRESSES, COMMUNITY, SILENT, V3_AUTH_KEY, V3_PRIV_KEY, V3_USER

V3 = Credentials(
    name="v3",
    snmp_version="3",
    snmp_user=V3_USER,
    snmp_auth_key=SecretRef(env="LAB_AUTH"),
    snmp_priv_key=SecretRef(env="LAB_PRIV"),
)
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


@pytest.fixture
def snmp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_COMMUNITY", COMMUNITY)
    monkeypatch.setenv("LAB_AUTH", V3_AUTH_KEY)
    monkeypatch.setenv("LAB_PRIV", V3_PRIV_KEY)


def _crawl(port: int, allow: list[str], max_hops: int, dialled: list[Target]):
    seed = Target(address=ADDRESSES["core1"], port=port, transport="snmp", credentials=V3)
    options = DiscoveryOptions(timeout=1, retries=0, max_hops=max_hops, allow=parse_networks(allow))
    with SnmpCollector(timeout=1, retries=0) as snmp:

        def collect(target: Target) -> DeviceResult:
            dialled.append(target)  # the one place a device is dialled
            return snmp(target)

        return asyncio.run(discover([seed], options, collect))


def test_snmp_crawl_follows_lldp_management_addresses(snmp_lab: int, snmp_env) -> None:
    dialled: list[Target] = []
    summary = _crawl(snmp_lab, ["127.0.0.0/8"], 2, dialled)
    assert all(ipaddress.ip_address(t.address) in LOOPBACK for t in dialled)
    assert {t.address: t.hop for t in dialled} == {
        ADDRESSES["core1"]: 0,
        ADDRESSES["acc1"]: 1,
        ADDRESSES["acc2"]: 1,
        SILENT: 2,  # acc3, seen from acc1: no agent there
    }
    assert {t.transport for t in dialled} == {"snmp"}
    assert {t.credentials for t in dialled} == {V3}
    statuses = {r.hostname or r.target.address: r.status for r in summary.results}
    assert statuses == {
        "core1": DeviceStatus.OK,
        "acc1": DeviceStatus.OK,
        "acc2": DeviceStatus.OK,
        SILENT: DeviceStatus.TIMED_OUT,
    }
    assert [(s.address, s.neighbour, s.reason) for s in summary.skipped] == [
        ("10.99.0.1", "ext-rtr1", "outside the allowed networks")
    ]
    # the crawled graph is the one the saved files of the same topology build
    from_files, report = parse_directory(ssh.FIXTURES)
    snapshot = build_snapshot(summary)
    assert report.ok and snapshot is not None
    assert graph_view(snapshot) == graph_view(from_files)


def test_snmp_crawl_never_dials_outside_the_allowed_networks(snmp_lab: int, snmp_env) -> None:
    dialled: list[Target] = []
    narrow = [f"{ADDRESSES['core1']}/32", f"{ADDRESSES['acc1']}/32"]
    summary = _crawl(snmp_lab, narrow, 3, dialled)
    assert [t.address for t in dialled] == [ADDRESSES["core1"], ADDRESSES["acc1"]]
    reasons = {s.address: s.reason for s in summary.skipped}
    assert reasons == {
        ADDRESSES["acc2"]: "outside the allowed networks",
        SILENT: "outside the allowed networks",
        "10.99.0.1": "outside the allowed networks",
    }

    dialled.clear()
    summary = _crawl(snmp_lab, ["127.0.0.0/8"], 1, dialled)
    assert {t.address for t in dialled} == {ADDRESSES[n] for n in ("core1", "acc1", "acc2")}
    assert {s.address: s.reason for s in summary.skipped}[SILENT] == "beyond 1 hop(s)"


def test_cli_seed_crawl_over_snmp(
    snmp_lab: int, snmp_env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MESHOPTIXIQ_LICENSE_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    profiles = tmp_path / "credentials.yaml"
    profiles.write_text("credentials:\n  v2: {snmp_community_env: LAB_COMMUNITY}\n")
    seed = ["discover", "--seed", ADDRESSES["core1"], "--allow", "127.0.0.16/28"]
    snmp = ["--transport", "snmp", "--port", str(snmp_lab), "--max-hops", "1"]
    profile = ["--credentials", "v2", "--credentials-file", str(profiles)]
    quick = ["--timeout", "2", "--retries", "0", "--no-publish"]
    result = CliRunner().invoke(cli, [*seed, *snmp, *profile, *quick])
    assert result.exit_code == 0, result.output
    assert "3 devices in" in result.output and "3 ok" in result.output
    assert "not dialled: 10.99.0.1 (ext-rtr1, seen from core1): outside" in result.output
    assert COMMUNITY not in result.output

    result = CliRunner().invoke(cli, [*seed, "--transport", "snmp", "--no-publish"])
    assert result.exit_code != 0
    assert "--transport snmp needs --credentials NAME --credentials-file FILE" in result.output
    result = CliRunner().invoke(
        cli, [*seed, "--credentials", "v9", "--credentials-file", str(profiles), "--no-publish"]
    )
    assert "no credentials profile 'v9' (defined: v2)" in result.output
