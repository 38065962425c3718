"""Recorded multi-vendor labs (tests/fixtures/real/suzieq) parsed and applied to a fresh graph,
then asked what a user asks: how many devices, which neighbours, where is this address."""

from __future__ import annotations

import shutil
from pathlib import Path

from network_discovery.parsers import parse_directory
from support import real_labs
from support.firewall_fixture import open_net


async def test_summary_neighbours_and_endpoints_of_the_mixed_lab(tmp_path: Path) -> None:
    """NX-OS spines, IOS, QFX and EOS leaves."""
    snapshot, _ = parse_directory(real_labs.LABS / "mixed")
    net = await open_net(tmp_path, snapshot)
    try:
        [summary] = await net.query("summary_stats")
        assert summary["devices"] == len(real_labs.devices("mixed")) == 8
        rows = await net.query("device_neighbors", device="leaf3-qfx")
        assert {r["neighbor"] for r in rows} >= {"spine1-nxos", "spine2-nxos"}
        # a host's address in an IOS leaf's ARP table: where is it?
        found = await net.query("locate_endpoint_by_ip", ip="172.29.151.254")
        assert [r["mac"] for r in found] == ["a4:93:4c:db:f1:21"]
    finally:
        await net.store.close()


async def test_anycast_gateways_are_not_duplicates(tmp_path: Path) -> None:
    """The EOS lab's leaves share their VLAN gateways (ip address virtual) by design."""
    snapshot, _ = parse_directory(real_labs.LABS / "eos")
    shared = {a.ip for a in snapshot.ip_addresses if a.virtual}
    assert "172.16.1.254" in shared
    net = await open_net(tmp_path, snapshot)
    try:
        rows = await net.query("duplicate_ip_addresses")
        assert not {r["ip"] for r in rows} & shared
    finally:
        await net.store.close()


async def test_a_neighbour_whose_port_has_no_name_is_seen_not_linked(tmp_path: Path) -> None:
    """The NX-OS lab without the Junos edge router's own output: the exit switches' brief LLDP
    says only "516"/"517" (a locally assigned id) for its ports. No link to a made-up
    interface: a neighbour seen, with the raw id, at lower confidence."""
    lab = tmp_path / "lab"
    shutil.copytree(real_labs.LABS / "nxos", lab)
    shutil.rmtree(lab / "dcedge01")
    snapshot, _ = parse_directory(lab)
    net = await open_net(tmp_path, snapshot)
    try:
        rows = await net.query("lldp_neighbors", device="exit01")
        seen = [r for r in rows if r["neighbor"] == "dcedge01"]
        assert [
            (r["interface"], r["neighbor_interface"], r["neighbor_port_id"], r["confidence"])
            for r in seen
        ] == [("Ethernet1/4", None, "516", 0.5)]
        linked = await net.query("device_neighbors", device="exit01")
        assert "dcedge01" not in {r["neighbor"] for r in linked}
    finally:
        await net.store.close()
