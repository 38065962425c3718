"""NX-OS ``show version | json`` / ``show interface | json`` and Junos ``show version`` /
``show interfaces`` ``| display json``, read from outputs captured on real devices
(``tests/fixtures/discovery/public-json``, see its PROVENANCE.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from network_discovery.ingest import load_path
from network_discovery.parsers import parse_directory
from network_discovery.parsers._json import JsonOutputError, json_rows

PUBLIC = Path(__file__).resolve().parents[2] / "fixtures" / "discovery" / "public-json"


@pytest.fixture(scope="module")
def snapshot():
    snap, report = parse_directory(PUBLIC)
    assert report.ok, report.summary()
    return snap


def _interfaces(snapshot, device: str) -> dict[str, tuple]:
    return {
        i.name: (i.admin_status, i.oper_status, i.speed_mbps, i.mtu, i.mac, i.description)
        for i in snapshot.interfaces
        if i.device == device
    }


def _addresses(snapshot, device: str) -> set[tuple[str, str]]:
    return {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == device}


def test_device_records(snapshot) -> None:
    devices = {d.hostname: d for d in snapshot.devices}
    spine = devices["nxos-spine1"]
    assert (spine.os_version, spine.model, spine.serial) == (
        "7.3(1)D1(1)",
        "NX-OSv Chassis",  # as printed
        "TM6017D760B",
    )
    assert spine.model_id == "NX-OSv"
    pe1, sw4 = devices["pe1"], devices["sw4"]
    assert (pe1.vendor, pe1.os_version, pe1.model) == ("Juniper", "25.4R1.12", "vmx")
    # a virtual chassis: the first routing engine's, and the {master:0} line is not JSON
    assert (sw4.os_version, sw4.model) == ("17.4R1.16", "vqfx-10000")


def test_nxos_interfaces_ports_and_svis(snapshot) -> None:
    spine = _interfaces(snapshot, "nxos-spine1")
    assert spine["mgmt0"] == ("up", "up", 1000, 1500, "2c:c2:60:17:d7:60", None)
    assert spine["Ethernet2/7"] == ("down", "down", None, 1500, "2c:c2:60:4f:fe:b2", None)
    assert spine["Vlan1"][:2] == ("down", "down") and spine["Vlan1"][2] is None
    assert _addresses(snapshot, "nxos-spine1") == {("mgmt0", "10.0.0.71/24")}
    svis = _interfaces(snapshot, "nxos-svi1")
    assert svis["Vlan120"][:2] == ("up", "up")
    assert svis["Vlan199"][5] == "This is a description"
    assert _addresses(snapshot, "nxos-svi1") == {
        ("Vlan120", "192.168.0.10/24"),
        ("Vlan198", "192.168.0.11/24"),
        ("Vlan199", "192.168.0.11/24"),
    }


def test_junos_interfaces_physical_logical_and_addresses(snapshot) -> None:
    pe1 = _interfaces(snapshot, "pe1")
    assert pe1["ge-0/0/0"] == ("up", "up", 1000, 1514, "aa:c1:ab:02:13:d3", "PE-PE link to pe2")
    assert pe1["ge-0/0/1"][:2] == ("up", "down")
    assert pe1["ge-0/0/1"][5] == "CE-facing interface in CUSTOMERS VRF"
    units = {i.name: i for i in snapshot.interfaces if i.device == "pe1"}
    assert units["ge-0/0/2.16386"].parent == "ge-0/0/2"
    assert units["ge-0/0/0"].mode == "routed"  # unit 0 carries inet
    addresses = _addresses(snapshot, "pe1")
    assert {
        ("ge-0/0/0", "10.0.12.0/31"),
        ("ge-0/0/1", "10.100.1.1/24"),
        ("lo0", "10.255.0.1/32"),  # no destination: a host address
        ("fxp0", "2001:db8::2/64"),
    } <= addresses
    assert not any(a.startswith("0x") for _, a in addresses)  # the tnp family is left out
    sw4 = _interfaces(snapshot, "sw4")
    assert sw4["em7"][5] == "MGMT" and sw4["em1"][3] == 9500
    assert ("em3", "10.1.1.2/30") in _addresses(snapshot, "sw4")


def test_newer_nxos_version_keys(tmp_path: Path) -> None:
    """NX-OS 9 and later print ``nxos_ver_str``; chassis ``Nexus9000 C9300v Chassis``."""
    doc = json.loads((PUBLIC / "nxos-spine1" / "show_version.json").read_text())
    for key in ("kickstart_ver_str", "sys_ver_str"):
        doc.pop(key)
    doc |= {"nxos_ver_str": "9.3(7)", "chassis_id": "Nexus9000 C9300v Chassis"}
    (row,) = json_rows("cisco_nxos", "show version", json.dumps(doc))
    assert (row["os"], row["platform"], row["hostname"]) == ("9.3(7)", "C9300v", "nxos-spine1")


@pytest.mark.parametrize(
    ("platform", "command", "text"),
    [
        ("cisco_nxos", "show version", '{"TABLE_interface": {}}'),
        ("cisco_nxos", "show interface", '{"TABLE_vlanbrief": {}}'),
        ("juniper_junos", "show version", '{"interface-information": []}'),
        ("juniper_junos", "show interfaces", '{"software-information": []}'),
        ("juniper_junos", "show interfaces", "{master:0}"),
    ],
)
def test_other_documents_are_reported(platform: str, command: str, text: str) -> None:
    with pytest.raises(JsonOutputError):
        json_rows(platform, command, text)


def test_meshq_ingest_reads_the_saved_json(tmp_path: Path) -> None:
    shutil.copytree(PUBLIC, tmp_path / "saved")
    snapshot, problems = load_path(tmp_path / "saved")
    assert problems == []
    # every folder is a collected device; nxos-svi1 has no show version, so no version
    assert {d.id for d in snapshot.devices} == {"nxos-spine1", "nxos-svi1", "pe1", "sw4"}
    versions = {d.id: d.os_version for d in snapshot.devices}
    assert versions["nxos-svi1"] is None and versions["pe1"] is not None
    assert {i.device for i in snapshot.interfaces} == {"nxos-spine1", "nxos-svi1", "pe1", "sw4"}
