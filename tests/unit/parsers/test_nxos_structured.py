"""Cisco NX-OS structured output (``| json``, ``| json native``) for every command read on
NX-OS, checked against what real devices printed: the NX-OS 9.3(4) ``| json native`` captures
of tests/fixtures/real/suzieq and the NX-OS 7 samples of tests/fixtures/real/nxos (see their
PROVENANCE.md). Every value asserted here was read off the raw file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from network_discovery.model import FactKind
from network_discovery.parsers import find_command, parse_directory
from network_discovery.parsers._device import CommandOutput, DeviceFacts, parse_device
from network_discovery.parsers._json import JsonOutputError, json_rows, structured_rows
from network_discovery.parsers._names import resolve_name

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SUZIEQ = FIXTURES / "real" / "suzieq"
LEAF01 = SUZIEQ / "nxos" / "leaf01"
EXIT01 = SUZIEQ / "nxos" / "exit01"
SPINE1 = SUZIEQ / "mixed" / "spine1-nxos"  # its neighbours are IOS, QFX and EOS switches
REAL = FIXTURES / "real" / "nxos"
NX = "cisco_nxos"


def _native(folder: Path, command: str) -> Path:
    return folder / f"{command} | json native.txt"


def _rows(command: str, path: Path) -> list[dict[str, Any]]:
    return json_rows(NX, command, path.read_text())


def _doc(path: Path) -> Any:
    return json.loads(path.read_text())


def _facts(device: str, *paths: Path) -> DeviceFacts:
    """What the product makes of these files alone (no other command to merge with)."""
    facts, report = parse_device(device, NX, {p.name: p for p in paths})
    assert report.errors == [], [str(i) for i in report.errors]
    assert not report.ignored, report.ignored
    return facts


def _one_row(doc: Any, table: str, row: str) -> Any:
    """The same real document with one row, printed as NX-OS prints one row: an object."""
    single = copy.deepcopy(doc)
    rows = single[table][row]
    single[table][row] = rows[0] if isinstance(rows, list) else rows
    return single


# --- which command a saved file holds ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("show interface brief | json native.txt", "show interface brief"),
        ("sh interface br", "show interface brief"),
        ("show interface | json", "show interface"),
        ("show interface status.txt", "show interface status"),
        ("show vlan brief | json native.txt", "show vlan"),
        ("sh vlan br", "show vlan"),
        ("show_vlan_brief.json", "show vlan"),
        ("show ip arp detail vrf all | json native.txt", "show ip arp detail vrf all"),
        ("sh ip arp det vrf all", "show ip arp detail vrf all"),
        ("show ip arp vrf all | json", "show ip arp"),
        ("show ip arp detail.txt", "show ip arp"),
        ("show ip interface vrf all | json native.txt", "show ip interface vrf all"),
        ("show ip interface | json", "show ip interface"),
        ("show ip route vrf all | json native.txt", "show ip route vrf all"),
        ("show ip route vrf evpn-vrf | json native.txt", "show ip route vrf all"),
        ("show ip interface vrf management | json", "show ip interface vrf all"),
        ("show lldp neighbors | json native.txt", "show lldp neighbors"),
        ("show cdp neighbors detail | json", "show cdp neighbors detail"),
    ],
)
def test_saved_names_resolve(name: str, command: str) -> None:
    resolution = resolve_name(NX, name)
    assert resolution.spec is not None and resolution.spec.command == command
    assert find_command(NX, name) is resolution.spec


def test_every_nxos_json_capture_of_the_labs_is_read() -> None:
    """Of the recorded NX-OS files, every command of the matrix is read (not ignored) and
    nothing fails; what is left unread are commands the product does not read at all."""
    read = {
        "show version",
        "show lldp neighbors",
        "show cdp neighbors",
        "show interface brief",
        "show ip interface vrf all",
        "show ip arp detail vrf all",
        "show mac address-table",
        "show vlan brief",
        "show ip route vrf all",
    }
    for lab, hosts in (("nxos", ("leaf01", "exit01", "spine01")), ("mixed", ("spine1-nxos",))):
        _, report = parse_directory(SUZIEQ / lab)
        for host in hosts:
            files = {f"{SUZIEQ / lab / host / c} | json native.txt" for c in read}
            assert files <= set(report.parsed_files), sorted(files - set(report.parsed_files))
            assert not [i for i in report.errors if f"/{host}/" in i.file]


# --- show version ---------------------------------------------------------------------------


def test_version_native() -> None:
    (row,) = _rows("show version", _native(LEAF01, "show version"))
    assert row == {
        "hostname": "leaf01",
        "os": "9.3(4)",
        "platform": "C9300v",
        "chassis": "Nexus9000 C9300v Chassis",
        "serial": "9DOTFRO0QMW",
    }


# --- LLDP ---------------------------------------------------------------------------------


def test_lldp_brief_device_id_is_the_system_name() -> None:
    """NX-OS 9.3 prints the Device ID column as ``chassis_id`` with ``chassis_type`` "Locally
    Assigned" whatever the neighbour sent (the EOS and IOS neighbours of spine1-nxos send
    their MAC as chassis ID): it is the neighbour's name, not its chassis ID."""
    rows = {
        r["local_interface"]: r
        for r in _rows("show lldp neighbors", _native(SPINE1, "show lldp neighbors"))
    }
    assert set(rows) == {"Eth1/1", "Eth1/2", "Eth1/3", "Eth1/4", "Eth1/5", "Eth1/6"}
    eos = rows["Eth1/5"]
    assert (eos["neighbor_name"], eos["chassis_id"], eos["chassis_id_subtype"]) == (
        "leaf5-eos",
        None,
        None,
    )
    assert (eos["neighbor_port_id"], eos["neighbor_port_id_subtype"]) == (
        "Ethernet1",
        "Interface Name",
    )
    assert (eos["mgmt_address"], eos["capabilities"], eos["neighbor_interface"]) == (
        "5.5.5.5",
        "BR",
        None,
    )
    qfx = rows["Eth1/3"]  # Junos sends the SNMP ifIndex as a locally assigned port ID
    assert (qfx["neighbor_name"], qfx["neighbor_port_id"]) == ("leaf3-qfx", "521")
    assert (qfx["neighbor_port_id_subtype"], qfx["mgmt_address"]) == ("Locally Assigned", None)
    assert rows["Eth1/1"]["neighbor_port_id"] == "Gi0/0"


def test_lldp_brief_facts() -> None:
    facts = _facts("leaf01", _native(LEAF01, "show lldp neighbors"))
    found = {
        (n.interface, n.remote_system_name, n.remote_port, n.remote_management_address)
        for n in facts.neighbors
    }
    assert found == {
        ("Ethernet1/1", "spine01", "Ethernet1/1", "10.255.2.119"),
        ("Ethernet1/2", "spine02", "Ethernet1/1", "10.255.2.120"),
        ("Ethernet1/5", "leaf02", "Ethernet1/5", "10.255.2.188"),
        ("Ethernet1/6", "leaf02", "Ethernet1/6", "10.255.2.188"),
    }
    assert all(n.remote_chassis_id is None for n in facts.neighbors)
    assert {n.capabilities for n in facts.neighbors} == {("bridge", "router")}


def test_lldp_brief_one_row_and_a_chassis_id_shown() -> None:
    """One neighbour is an object; a neighbour that sent no system name is shown by its
    chassis ID (the first real row of leaf01, its ID swapped for a MAC)."""
    doc = _one_row(_doc(_native(LEAF01, "show lldp neighbors")), "TABLE_nbor", "ROW_nbor")
    (row,) = json_rows(NX, "show lldp neighbors", json.dumps(doc))
    assert (row["local_interface"], row["neighbor_name"]) == ("Eth1/1", "spine01")
    doc["TABLE_nbor"]["ROW_nbor"] |= {"chassis_type": "Mac Address", "chassis_id": "4401.0101.0101"}
    (row,) = json_rows(NX, "show lldp neighbors", json.dumps(doc))
    assert (row["neighbor_name"], row["chassis_id"], row["chassis_id_subtype"]) == (
        None,
        "4401.0101.0101",
        "Mac Address",
    )


#: ``show lldp neighbors detail | json``: the keys and kinds of value real NX-OS prints (no
#: capture of it under a permissive licence was found; see tests/fixtures/real/nxos).
LLDP_DETAIL = {
    "neigh_hdr": "neigh_hdr",
    "TABLE_nbor_detail": {
        "ROW_nbor_detail": {
            "chassis_type": "Mac Address",
            "chassis_id": "500b.0000.0105",
            "port_type": "Interface Name",
            "port_id": "Ethernet1/5",
            "l_port_id": "Eth1/5",
            "port_desc": "// Connected to leaf-5",
            "sys_name": "spine1-nxos",
            "sys_desc": "Cisco Nexus Operating System (NX-OS) Software 9.3(7a)\nTAC support: http://www.cisco.com/tac",
            "ttl": 120,
            "system_capability": "B, R",
            "enabled_capability": "B, R",
            "mgmt_addr_type": "IPV4",
            "mgmt_addr": "not advertised",
            "mgmt_addr_ipv6_type": "IPV6",
            "mgmt_addr_ipv6": "2001:db8::5",
            "vlan_id": "not advertised",
        }
    },
    "neigh_count": 1,
}


def test_lldp_detail_subtypes_description_and_addresses() -> None:
    (row,) = json_rows(NX, "show lldp neighbors detail", json.dumps(LLDP_DETAIL))
    assert row["chassis_id"] == "500b.0000.0105" and row["chassis_id_subtype"] == "Mac Address"
    assert (row["neighbor_port_id"], row["neighbor_port_id_subtype"]) == (
        "Ethernet1/5",
        "Interface Name",
    )
    assert row["neighbor_interface"] == "// Connected to leaf-5"  # the port description
    assert row["neighbor_description"] == "Cisco Nexus Operating System (NX-OS) Software 9.3(7a)"
    assert row["mgmt_address"] == "2001:db8::5"  # no IPv4 address advertised
    doc = copy.deepcopy(LLDP_DETAIL)
    doc["TABLE_nbor_detail"]["ROW_nbor_detail"] |= {
        "port_desc": "not advertised",
        "mgmt_addr_ipv6": "not advertised",
    }
    (row,) = json_rows(NX, "show lldp neighbors detail", json.dumps(doc))
    assert (row["neighbor_interface"], row["mgmt_address"]) == (None, None)


def test_no_neighbours_is_an_empty_table() -> None:
    for command in ("show lldp neighbors", "show lldp neighbors detail", "show cdp neighbors"):
        assert json_rows(NX, command, '{"neigh_count": 0}') == []


# --- CDP ----------------------------------------------------------------------------------


def test_cdp_brief_native() -> None:
    facts = _facts("spine1-nxos", _native(SPINE1, "show cdp neighbors"))
    found = {
        (n.interface, n.remote_system_name, n.remote_port, n.remote_platform)
        for n in facts.neighbors
    }
    assert found == {
        ("mgmt0", "spine2-nxos", "mgmt0", "N9K-C9300v"),  # device_id "spine2-nxos(9E9J7Y9EK82)"
        ("mgmt0", "leaf2-ios", "GigabitEthernet0/7", "Cisco"),
        ("mgmt0", "leaf1-ios", "GigabitEthernet0/7", "Cisco"),
        ("Ethernet1/1", "leaf1-ios", "GigabitEthernet0/0", "Cisco"),
        ("Ethernet1/2", "leaf2-ios", "GigabitEthernet0/0", "Cisco"),
    }
    caps = {n.remote_system_name: n.capabilities for n in facts.neighbors}
    # the JSON's words, read as the letters of the text brief (R S s, R B)
    assert set(caps["spine2-nxos"]) == {"router", "switch", "supports_stp_dispute"}
    assert set(caps["leaf1-ios"]) == {"router", "source_route_bridge"}


def test_cdp_brief_nxos7_one_capability_string() -> None:
    rows = _rows("show cdp neighbors", REAL / "pyntc-n9k" / "show cdp neighbors.json")
    assert [(r["local_interface"], r["neighbor_name"], r["capabilities"]) for r in rows] == [
        ("mgmt0", "PERIMETER", "I"),
        ("Ethernet1/1", "N9K2.lab.com(SAL1819S6BE)", "s"),
        ("Ethernet1/2", "N9K2.lab.com(SAL1819S6BE)", "s"),
    ]
    facts = _facts("n9k1", REAL / "pyntc-n9k" / "show cdp neighbors.json")
    found = {(n.interface, n.remote_system_name, n.remote_port) for n in facts.neighbors}
    assert ("mgmt0", "PERIMETER", "FastEthernet1/0/9") in found
    assert ("Ethernet1/2", "N9K2.lab.com", "Ethernet1/2") in found


#: ``show cdp neighbors detail | json``: keys and kinds of value as real NX-OS 10 prints them
#: (several management addresses are a list; a neighbour without one says 0.0.0.0).
CDP_DETAIL = {
    "TABLE_cdp_neighbor_detail_info": {
        "ROW_cdp_neighbor_detail_info": [
            {
                "ifindex": "83886080",
                "device_id": "dist-sw02.example.net(9LQR5W39XQ2)",
                "sysname": "dist-sw02",
                "numaddr": "1",
                "v4addr": "10.10.20.178",
                "platform_id": "N9K-C9300v",
                "capability": ["router", "switch", "Supports-STP-Dispute"],
                "intf_id": "mgmt0",
                "port_id": "mgmt0",
                "ttl": "146",
                "version": "Cisco Nexus Operating System (NX-OS) Software, Version 9.2(4)",
                "v4mgmtaddr": ["192.168.2.151", "10.0.0.15"],
            },
            {
                "ifindex": "436207616",
                "device_id": "dist-rtr01.example.net",
                "numaddr": "1",
                "v4addr": "0.0.0.0",
                "platform_id": "cisco CSR1000V",
                "capability": ["router", "IGMP_cnd_filtering"],
                "intf_id": "Ethernet1/1",
                "port_id": "GigabitEthernet1",
                "version": "Cisco IOS Software [Amsterdam], Virtual XE Software\nTechnical Support: http://www.cisco.com/techsupport",
                "num_mgmtaddr": "0",
            },
        ]
    }
}


def test_cdp_detail_rows_and_facts() -> None:
    nxos, ios = json_rows(NX, "show cdp neighbors detail", json.dumps(CDP_DETAIL))
    assert (nxos["chassis_id"], nxos["neighbor_name"]) == (
        "dist-sw02.example.net(9LQR5W39XQ2)",
        "dist-sw02",
    )
    assert nxos["mgmt_address"] == "192.168.2.151"  # the first of the list
    assert ios["mgmt_address"] is None  # 0.0.0.0: none
    assert ios["neighbor_description"] == "Cisco IOS Software [Amsterdam], Virtual XE Software"
    assert ios["capabilities"] == "router IGMP Filtering"  # the words of the text detail
    facts, report = parse_device(
        "leaf", NX, {"show cdp neighbors detail.json": _memory(CDP_DETAIL)}
    )
    assert report.errors == []
    found = {
        (n.interface, n.remote_system_name, n.remote_port, n.remote_management_address)
        for n in facts.neighbors
    }
    assert found == {
        ("mgmt0", "dist-sw02", "mgmt0", "192.168.2.151"),
        ("Ethernet1/1", "dist-rtr01.example.net", "GigabitEthernet1", None),
    }


def _memory(doc: Any) -> CommandOutput:
    return CommandOutput("memory://test", json.dumps(doc))


# --- interfaces ----------------------------------------------------------------------------


def _interfaces(facts: DeviceFacts) -> dict[str, Any]:
    return {i.name: i for i in facts.interfaces}


def test_interface_brief_native_mode_vlan_and_port_channel() -> None:
    found = _interfaces(_facts("leaf01", _native(LEAF01, "show interface brief")))
    member = found["Ethernet1/3"]
    assert (member.mode, member.access_vlan, member.lag) == ("access", 10, "Port-channel3")
    trunk = found["Ethernet1/5"]
    assert (trunk.mode, trunk.native_vlan, trunk.lag, trunk.speed_mbps) == (
        "trunk",
        1,
        "Port-channel1",
        1000,
    )
    routed = found["Ethernet1/1"]
    assert (routed.mode, routed.access_vlan, routed.lag, routed.oper_status) == (
        "routed",
        None,
        None,
        "up",
    )
    idle = found["Ethernet1/7"]  # down, "Link not connected", speed "auto"
    assert (idle.admin_status, idle.oper_status, idle.speed_mbps) == ("up", "down", None)
    channel = found["Port-channel1"]
    assert (channel.mode, channel.speed_mbps, channel.lag) == ("trunk", 1000, None)  # "a-1000"
    assert (found["Vlan1"].admin_status, found["Vlan1"].oper_status) == ("down", "down")
    assert (found["Vlan10"].admin_status, found["Vlan10"].oper_status) == ("up", "up")
    assert (found["mgmt0"].speed_mbps, found["mgmt0"].mtu) == (None, 1500)  # "unknown enum:<65535>"
    assert (found["nve1"].oper_status, found["nve1"].mtu) == ("up", 9216)
    assert "Loopback1" in found
    assert {n for n, i in found.items() if i.lag} == {
        "Ethernet1/3",
        "Ethernet1/4",
        "Ethernet1/5",
        "Ethernet1/6",
    }


def test_interface_brief_native_subinterfaces_and_descriptions() -> None:
    found = _interfaces(_facts("exit01", _native(EXIT01, "show interface brief")))
    sub = found["Ethernet1/3.2"]  # VLAN column: the dot1q tag of a routed sub-interface
    assert (sub.parent, sub.mode, sub.access_vlan, sub.native_vlan) == (
        "Ethernet1/3",
        "routed",
        None,
        None,
    )
    found = _interfaces(_facts("spine1-nxos", _native(SPINE1, "show interface brief")))
    assert found["Loopback100"].description == "# lo100 - Scrapli Demo"
    assert (found["Vlan100"].admin_status, found["Vlan100"].oper_status) == (
        "up",
        "down",
    )  # BD does not exist
    assert found["Ethernet1/20"].access_vlan == 10


def test_interface_brief_text_gives_the_same_kind_of_facts() -> None:
    found = _interfaces(_facts("n9k", REAL / "ntc-n9k" / "show interface brief.txt"))
    member = found["Ethernet1/39"]  # 506  eth access up none 10G(D) 6
    assert (member.mode, member.access_vlan, member.lag, member.speed_mbps) == (
        "access",
        506,
        "Port-channel6",
        10000,
    )
    assert (found["Ethernet1/10"].mode, found["Ethernet1/10"].lag) == ("trunk", "Port-channel19")
    assert (found["Ethernet1/1"].admin_status, found["Ethernet1/1"].oper_status) == ("down", "down")
    assert (found["Port-channel1"].speed_mbps, found["Port-channel1"].mode) == (10000, "trunk")
    assert found["Loopback0"].description == "BGP-Loopback"
    assert (found["Vlan1"].admin_status, found["Vlan1350"].oper_status) == ("down", "up")
    assert found["Ethernet1/35"].access_vlan is None  # VLAN column "monitor"


def test_show_interface_json_mode_and_port_channel() -> None:
    """napalm's NX-OS 7 ``show interface | json`` (tests/fixtures/discovery/public-json): routed
    ports; a member port (the real Ethernet2/1 row with ``eth_bundle``) gets its channel."""
    path = FIXTURES / "discovery" / "public-json" / "nxos-spine1" / "show_interface.json"
    found = _interfaces(_facts("nxos-spine1", path))
    assert (found["Ethernet2/1"].mode, found["Ethernet2/1"].lag) == ("routed", None)
    row = next(
        r for r in _doc(path)["TABLE_interface"]["ROW_interface"] if r["interface"] == "Ethernet2/1"
    )
    doc = {"TABLE_interface": {"ROW_interface": row | {"eth_bundle": "20", "eth_mode": "trunk"}}}
    facts, _ = parse_device("n", NX, {"show interface.json": _memory(doc)})
    member = _interfaces(facts)["Ethernet2/1"]
    assert (member.lag, member.mode) == ("Port-channel20", "trunk")


def test_interface_and_interface_brief_are_not_read_as_each_other() -> None:
    detail = FIXTURES / "discovery" / "public-json" / "nxos-spine1" / "show_interface.json"
    brief = _native(LEAF01, "show interface brief")
    with pytest.raises(JsonOutputError, match="show interface"):
        _rows("show interface brief", detail)
    with pytest.raises(JsonOutputError, match="show interface brief"):
        _rows("show interface", brief)


# --- addresses -----------------------------------------------------------------------------


def _addresses(facts: DeviceFacts) -> set[tuple[str, str, str | None]]:
    return {(a.interface, a.address, a.vrf) for a in facts.ip_addresses}


def test_ip_interface_vrf_all_native() -> None:
    assert _addresses(_facts("leaf01", _native(LEAF01, "show ip interface vrf all"))) == {
        ("Loopback0", "10.0.0.11/32", None),
        ("Loopback1", "10.0.0.201/32", None),
        ("Loopback1", "10.0.0.112/32", None),  # TABLE_secondary_address
        ("mgmt0", "10.255.2.189/24", "management"),
        ("Vlan10", "172.16.1.254/24", "evpn-vrf"),
        ("Vlan30", "172.16.3.254/24", "evpn-vrf"),
    }  # Ethernet1/1-2 are unnumbered (loopback0): no address of their own
    found = _addresses(_facts("exit01", _native(EXIT01, "show ip interface vrf all")))
    assert ("Ethernet1/4", "169.254.127.1/31", "internet-vrf") in found
    assert ("Ethernet1/3.3", "169.254.254.5/30", "evpn-vrf") in found


def test_ip_interface_nxos7_vrf_blocks() -> None:
    path = REAL / "napalm-n9k" / "show ip interface.json"
    assert _addresses(_facts("n9k", path)) == {
        ("Loopback100", "10.0.0.100/24", None),
        ("Loopback101", "192.168.1.100/24", None),
        ("Loopback102", "192.168.2.100/24", None),
        ("Loopback103", "192.168.3.100/24", None),
        ("Ethernet1/1", "172.16.100.1/24", None),
        ("Ethernet2/5", "1.1.1.1/24", None),
    }
    doc = _doc(path)  # each interface has its VRF in the block beside it
    doc["TABLE_vrf"][4]["ROW_vrf"]["vrf-name-out"] = "RED"
    rows = json_rows(NX, "show ip interface", json.dumps(doc))
    assert {(r["interface"], r["vrf"]) for r in rows if r["vrf"] != "default"} == {
        ("Ethernet1/1", "RED")
    }


# --- ARP, MAC, VLANs ------------------------------------------------------------------------


def test_arp_detail_vrf_all_native() -> None:
    rows = _rows("show ip arp detail vrf all", _native(LEAF01, "show ip arp detail vrf all"))
    host = next(r for r in rows if r["ip_address"] == "172.16.1.101")
    assert host == {
        "ip_address": "172.16.1.101",
        "mac_address": "32bb.c5b5.3a20",
        "interface": "Vlan10",
        "physical_interface": "port-channel3",
        "vrf": None,  # the table is called "all"; 9.3(4) prints no VRF per entry
    }
    facts = _facts("leaf01", _native(LEAF01, "show ip arp detail vrf all"))
    assert {(a.ip, a.interface) for a in facts.arp} == {
        ("10.255.2.1", "mgmt0"),
        ("10.255.2.188", "mgmt0"),
        ("10.0.0.21", "Ethernet1/1"),
        ("10.0.0.22", "Ethernet1/2"),
        ("172.16.1.101", "Vlan10"),
        ("172.16.3.102", "Vlan30"),
    }


def test_arp_nxos7_and_detail_vrf_all_text() -> None:
    facts = _facts("n9k", REAL / "napalm-n9k-tables" / "show ip arp.json")
    assert [(a.ip, a.mac, a.interface, a.vrf) for a in facts.arp] == [
        ("10.122.100.3", "18:8b:9d:0b:b3:3f", "Vlan100", None)
    ]
    facts = _facts("n9k", REAL / "ntc-n9k-arp" / "show ip arp detail vrf all.txt")
    vrfs = {a.ip: a.vrf for a in facts.arp}
    assert (vrfs["10.255.0.1"], vrfs["10.233.6.6"], vrfs["172.23.5.8"]) == (
        "management",
        "PRIMARY",
        None,
    )


def test_mac_table_native_keeps_vxlan_ports_as_printed() -> None:
    rows = _rows("show mac address-table", _native(LEAF01, "show mac address-table"))
    by_mac = {r["mac_address"]: r for r in rows}
    assert by_mac["32bb.c5b5.3a20"] == {
        "mac_address": "32bb.c5b5.3a20",
        "ports": "Po3",
        "vlan_id": "10",
        "type": "dynamic",
    }
    assert by_mac["0ab5.b622.5372"]["ports"] == "nve1(10.0.0.134)"
    assert by_mac["4401.0203.1b08"]["type"] == "static"
    facts = _facts("leaf01", _native(LEAF01, "show mac address-table"))
    entry = next(m for m in facts.mac_table if m.mac == "32:bb:c5:b5:3a:20")
    assert (entry.interface, entry.vlan, entry.type) == ("Port-channel3", 10, "dynamic")
    assert not _facts(
        "spine01", _native(SUZIEQ / "nxos" / "spine01", "show mac address-table")
    ).mac_table  # sup-eth1(R)


def test_mac_table_nxos7_one_row() -> None:
    (row,) = _rows(
        "show mac address-table", REAL / "napalm-n9k-tables" / "show mac address-table.json"
    )
    assert row == {
        "mac_address": "5087.89a1.de75",
        "ports": "SUP_INBAND_CFSOE(R)",
        "vlan_id": "0",
        "type": "static",
    }
    assert json_rows(NX, "show mac address-table", '{"header": ["Legend"]}') == []


def test_vlan_brief_both_layouts_and_member_ports() -> None:
    rows = {r["vlan_id"]: r for r in _rows("show vlan", _native(LEAF01, "show vlan brief"))}
    assert {k: r["vlan_name"] for k, r in rows.items()} == {
        "1": "default",
        "10": "VLAN0010",
        "30": "VLAN0030",
        "999": "VLAN0999",
    }
    assert rows["10"]["interfaces"] == [
        "port-channel1",
        "port-channel3",
        "Ethernet1/3",
        "Ethernet1/5",
        "Ethernet1/6",
    ]
    rows = {
        r["vlan_id"]: r for r in _rows("show vlan", REAL / "napalm-n6k" / "show vlan brief.json")
    }
    database = rows["230"]["interfaces"]  # "port-channel1-2,port-channel10-13,...,Ethernet2/1-2"
    assert database[:7] == [
        "port-channel1",
        "port-channel2",
        "port-channel10",
        "port-channel11",
        "port-channel12",
        "port-channel13",
        "port-channel99",
    ]
    assert {"Ethernet1/6", "Ethernet1/10", "Ethernet1/44", "Ethernet2/2"} <= set(database)
    assert len(database) == 7 + 1 + 5 + 5 + 16 + 2
    application = rows["231"]["interfaces"]  # a list of two strings, split after 103/1/13
    assert {"Ethernet103/1/13", "Ethernet103/1/14", "Ethernet111/1/35"} <= set(application)
    facts = _facts("n6k", REAL / "napalm-n6k" / "show vlan brief.json")
    assert {(v.vlan, v.name) for v in facts.vlans} == {(230, "database"), (231, "APPLICATION")}


def test_vlan_table_vlanbrief_layout_and_the_utf_number() -> None:
    """``show vlan`` (and ``show vlan brief`` before NX-OS 7.0(3)) print TABLE_vlanbrief; some
    releases print VLAN 1 as ``vlanshowbr-vlanid`` 16777216, ``-utf`` 1."""
    doc = {
        "TABLE_vlanbrief": {
            "ROW_vlanbrief": {
                "vlanshowbr-vlanid": 16777216,
                "vlanshowbr-vlanid-utf": 1,
                "vlanshowbr-vlanname": "default",
                "vlanshowbr-vlanstate": "active",
                "vlanshowbr-shutstate": "noshutdown",
            }
        },
        "TABLE_mtuinfo": {
            "ROW_mtuinfo": {"vlanshowinfo-vlanid": 1, "vlanshowinfo-media-type": "enet"}
        },
    }
    (row,) = json_rows(NX, "show vlan", json.dumps(doc))
    assert (row["vlan_id"], row["vlan_name"], row["interfaces"]) == ("1", "default", [])


# --- routes --------------------------------------------------------------------------------


def _routes(facts: DeviceFacts) -> dict[tuple[str, str], Any]:
    return {(r.vrf_name, r.prefix): r for r in facts.routes}


def _hops(route: Any) -> list[tuple[str | None, str | None, str | None]]:
    return [(h.address, h.interface, h.vrf) for h in route.next_hops]


def test_routes_vrf_all_native() -> None:
    facts = _facts("leaf01", _native(LEAF01, "show ip route vrf all"))
    assert FactKind.ROUTES in facts.kinds
    routes = _routes(facts)
    ecmp = routes[("default", "10.0.0.12/32")]
    assert (ecmp.protocol, ecmp.distance, ecmp.metric) == ("ospf", 110, 81)
    assert _hops(ecmp) == [("10.0.0.21", "Ethernet1/1", None), ("10.0.0.22", "Ethernet1/2", None)]
    leaked = routes[("evpn-vrf", "0.0.0.0/0")]  # via 10.0.0.221%default
    assert (leaked.protocol, leaked.distance, _hops(leaked)) == (
        "bgp",
        200,
        [("10.0.0.221", None, "default")],
    )
    connected = routes[("evpn-vrf", "172.16.1.0/24")]
    assert (connected.protocol, _hops(connected)) == ("connected", [(None, "Vlan10", None)])
    assert routes[("evpn-vrf", "172.16.1.254/32")].protocol == "local"
    assert routes[("management", "0.0.0.0/0")].protocol == "static"
    discard = _routes(_facts("exit01", _native(EXIT01, "show ip route vrf all")))[
        ("evpn-vrf", "172.16.1.0/24")
    ]
    assert (discard.protocol, discard.next_hops) == ("bgp", ())  # via Null0


def test_routes_keep_best_paths_only() -> None:
    doc = _doc(_native(LEAF01, "show ip route vrf all"))
    prefixes = doc["TABLE_vrf"]["ROW_vrf"][0]["TABLE_addrf"]["ROW_addrf"][0]["TABLE_prefix"][
        "ROW_prefix"
    ]
    ecmp = next(p for p in prefixes if p["ipprefix"] == "10.0.0.12/32")
    ecmp["TABLE_path"]["ROW_path"][1]["ubest"] = "false"
    rows = json_rows(NX, "show ip route vrf all", json.dumps(doc))
    assert [r["nexthop_ip"] for r in rows if r["network"] == "10.0.0.12"] == ["10.0.0.21"]


def test_routes_of_one_vrf() -> None:
    """``show ip route vrf evpn-vrf | json``: the same document with one ROW_vrf (an object),
    here leaf01's evpn-vrf table taken out of its vrf all capture."""
    doc = _doc(_native(LEAF01, "show ip route vrf all"))
    (evpn,) = [v for v in doc["TABLE_vrf"]["ROW_vrf"] if v["vrf-name-out"] == "evpn-vrf"]
    one = {"TABLE_vrf": {"ROW_vrf": evpn}}
    facts, report = parse_device("leaf01", NX, {"show ip route vrf evpn-vrf.json": _memory(one)})
    assert report.errors == []
    routes = _routes(facts)
    assert {vrf for vrf, _ in routes} == {"evpn-vrf"}
    assert _hops(routes[("evpn-vrf", "172.16.2.0/24")]) == [("10.0.0.134", None, "default")]


# --- | xml ---------------------------------------------------------------------------------


def _xml(value: Any, tag: str) -> str:
    if isinstance(value, list):  # a repeated element
        return "".join(_xml(item, tag) for item in value)
    if isinstance(value, dict):
        return f"<{tag}>{''.join(_xml(v, k) for k, v in value.items())}</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def test_xml_output_is_read_by_the_same_adapters() -> None:
    """``| xml`` prints the JSON document as the ``__readonly__`` element (repeated rows and
    capabilities as repeated elements, every value as text): spine1-nxos' CDP brief."""
    doc = _doc(_native(SPINE1, "show cdp neighbors"))
    body = "".join(_xml(v, k) for k, v in doc.items())
    xml = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<nf:rpc-reply xmlns:nf="urn:ietf:params:xml:ns:netconf:base:1.0" '
        'xmlns="http://www.cisco.com/nxos:1.0:cdpd"><nf:data><show><cdp><neighbors>'
        f"<__readonly__>{body}</__readonly__></neighbors></cdp></show></nf:data></nf:rpc-reply>"
        "]]>]]>"
    )
    spec = find_command(NX, "show cdp neighbors")
    assert spec is not None
    from_xml = structured_rows(spec, NX, xml, "xml")
    from_json = json_rows(NX, "show cdp neighbors", json.dumps(doc))
    assert [r["platform"] for r in from_xml][:2] == ["N9K-C9300v", "Cisco"]  # XML text is trimmed
    assert [{**r, "platform": r["platform"].strip()} for r in from_json] == from_xml


# --- documents of another command ------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "other"),
    [
        ("show lldp neighbors", _native(LEAF01, "show cdp neighbors")),
        ("show lldp neighbors detail", _native(LEAF01, "show lldp neighbors")),
        ("show cdp neighbors", _native(LEAF01, "show lldp neighbors")),
        ("show cdp neighbors detail", _native(LEAF01, "show cdp neighbors")),
        ("show vlan", _native(LEAF01, "show mac address-table")),
        ("show mac address-table", _native(LEAF01, "show vlan brief")),
        ("show ip arp", _native(LEAF01, "show ip route vrf all")),
        ("show ip arp detail vrf all", _native(LEAF01, "show ip route vrf all")),
        ("show ip route vrf all", _native(LEAF01, "show ip arp detail vrf all")),
        ("show ip interface vrf all", _native(LEAF01, "show interface brief")),
        ("show interface brief", _native(LEAF01, "show ip interface vrf all")),
        ("show version", _native(LEAF01, "show vlan brief")),
    ],
)
def test_another_commands_document_is_refused(command: str, other: Path) -> None:
    with pytest.raises(JsonOutputError):
        _rows(command, other)
