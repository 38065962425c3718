"""Junos structured output (``| display json`` and ``| display xml``) for every command read on
Junos, checked against real captures: the SuzieQ vQFX 18.1/19.4 labs
(``tests/fixtures/real/suzieq``), two vMX 18.2 routers (``tests/fixtures/real/junos/vmx``) and
EX/QFX/MX/SRX replies of other releases (``tests/fixtures/real/junos/replies``); see their
PROVENANCE.md. Every value asserted here was read in the raw file."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import pytest
from network_discovery.model import BGPState, FactKind, MacEntryType
from network_discovery.parsers import find_command, parse_device, parse_directory
from network_discovery.parsers._json import JsonOutputError, structured_rows
from network_discovery.parsers._session import split_session

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
SUZIEQ = REAL / "suzieq"
VMX = REAL / "junos" / "vmx"
REPLIES = REAL / "junos" / "replies"
JUNOS = "juniper_junos"
#: The SuzieQ Junos lab's AS numbers, from each device's own configuration in its session.
LAB_ASN = {
    "dcedge01": 65534,
    "exit01": 64520,
    "exit02": 64520,
    "leaf01": 64520,
    "leaf02": 64520,
    "spine01": 64520,
    "spine02": 64520,
}


@cache
def _session(host: str) -> dict[str, str]:
    """The SuzieQ Junos lab's terminal session of ``host``: command (before its pipes) ->
    output."""
    text = (SUZIEQ / "junos" / host / "session.log").read_text()
    return {s.command.split("|")[0].strip(): s.output for s in split_session(text)}


def _rows(command: str, text: str, fmt: str = "json") -> list[dict]:
    spec = find_command(JUNOS, command)
    assert spec is not None, command
    return structured_rows(spec, JUNOS, text, fmt)


def _parse(tmp_path: Path, files: dict[str, str | Path], meta: dict | None = None):
    """One device from outputs named as typed; a Path is copied, a str written."""
    paths = {}
    for name, content in files.items():
        path = tmp_path / name.replace("/", "_")
        if isinstance(content, Path):
            shutil.copy(content, path)
        else:
            path.write_text(content)
        paths[name] = path
    return parse_device("r1", JUNOS, paths, meta)


# --- file names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("show lldp neighbors detail | display json | no-more", "show lldp neighbors interface"),
        ("sh lldp nei det | display xml", "show lldp neighbors interface"),
        ("show lldp neighbors | display json", "show lldp neighbors"),
        ("show interface | display json | no-more", "show interfaces"),
        ("show arp | display json | no-more", "show arp"),
        ("show arp no-resolve | display xml", "show arp no-resolve"),
        ("show ethernet-switching table | display json", "show ethernet-switching table"),
        (
            "show ethernet-switching table detail | display json",
            "show ethernet-switching table detail",
        ),
        ("sh eth table extensive | display xml", "show ethernet-switching table detail"),
        ("show vlans detail | display json |no-more", "show vlans detail"),
        ("show vlans | display xml", "show vlans"),
        ("show bgp summary | display json | no-more", "show bgp summary"),
        ("show route | display json | no-more", "show route"),
        ("show system information | display json | no-more", "show system information"),
        ("show chassis hardware | display json| no-more", "show chassis hardware"),
    ],
)
def test_saved_names_resolve_to_the_command(name: str, command: str) -> None:
    spec = find_command(JUNOS, name)
    assert spec is not None and spec.command == command and spec.json is not None


def test_text_of_a_command_read_as_json_only_is_a_warning(tmp_path: Path) -> None:
    """``show arp`` text has a host-name column the no-resolve template does not read."""
    facts, report = _parse(
        tmp_path,
        {"show arp.txt": "MAC Address       Address         Name      Interface     Flags\n"},
    )
    assert not report.errors and facts.arp == []
    assert any("as JSON only" in issue.message for issue in report.warnings)


# --- LLDP --------------------------------------------------------------------------------


def test_lldp_detail_json_local_port_is_the_interface_not_its_snmp_index() -> None:
    rows = _rows("show lldp neighbors detail", _session("leaf01")["show lldp neighbors detail"])
    first = rows[0]
    assert {k: first[k] for k in first if k != "neighbor_description"} == {
        "local_interface": "xe-0/0/0",  # lldp-local-port-id is 519 here: its SNMP index
        "parent_interface": "-",
        "chassis_id": "02:05:86:71:2e:00",
        "chassis_id_subtype": "Mac address",
        "neighbor_port_id": "517",  # spine01's ifIndex of xe-0/0/0
        "neighbor_port_id_subtype": "Locally assigned",
        "neighbor_interface": "xe-0/0/0",
        "neighbor_name": "spine01",
        "capabilities": "Bridge Router",
        "supported_capabilities": "Bridge Router",
        "mgmt_address": [],
    }
    assert first["neighbor_description"][0].startswith(
        "Juniper Networks, Inc. vqfx-10000 Ethernet Switch, kernel JUNOS 19.4R1.10"
    )
    assert [r["local_interface"] for r in rows] == ["xe-0/0/0", "xe-0/0/1"]


def test_lldp_detail_json_names_the_far_port_and_management_address(tmp_path: Path) -> None:
    name = "show_lldp_neighbors_detail_display_json_no-more.json"
    facts, report = _parse(tmp_path, {name: SUZIEQ / "eos" / "dcedge01" / name})
    assert report.errors == []
    n = {o.interface: o for o in facts.neighbors}
    assert set(n) == {"xe-0/0/0", "xe-0/0/1"}
    exit01 = n["xe-0/0/0"]
    assert (exit01.remote_system_name, exit01.remote_port) == ("exit01", "Ethernet4")
    assert exit01.remote_chassis_id == "44:38:39:33:d8:43"
    assert exit01.remote_management_address == "10.0.0.31"
    assert exit01.capabilities == ("bridge", "router")


def test_lldp_detail_json_keeps_the_first_line_of_a_multiline_description(tmp_path: Path) -> None:
    """The NX-OS lab's Junos edge router sees two NX-OS exits."""
    name = "show lldp neighbors detail | display json | no-more.txt"
    facts, report = _parse(tmp_path, {name: SUZIEQ / "nxos" / "dcedge01" / name})
    assert report.errors == []
    n = {o.remote_system_name: o for o in facts.neighbors}
    assert set(n) == {"exit01", "exit02"}
    assert n["exit01"].remote_description == "Cisco Nexus Operating System (NX-OS) Software 9.3(4)"
    assert (n["exit01"].interface, n["exit01"].remote_port) == ("xe-0/0/0", "Ethernet1/4")
    assert n["exit01"].remote_management_address == "10.255.2.253"


def test_lldp_detail_xml_of_older_releases(tmp_path: Path) -> None:
    qfx = _rows(
        "show lldp neighbors detail", (REPLIES / "lldp-detail_qfx10008.xml").read_text(), "xml"
    )
    assert len(qfx) == 1
    assert (
        qfx[0]["local_interface"],
        qfx[0]["neighbor_port_id"],
        qfx[0]["neighbor_interface"],
    ) == (
        "ge-2/0/0",  # lldp-local-port-id is 667
        "549",
        "ge-3/3/1",
    )
    assert qfx[0]["neighbor_port_id_subtype"] == "Locally assigned"
    assert qfx[0]["mgmt_address"] == ["10.16.134.14"]
    facts, report = _parse(
        tmp_path,
        {
            "show lldp neighbors detail | display xml.xml": REPLIES / "lldp-detail_arista-peer.xml",
        },
    )
    assert report.errors == []
    (arista,) = facts.neighbors
    assert (arista.interface, arista.remote_system_name, arista.remote_port) == (
        "xe-0/1/0",  # printed xe-0/1/0.0: unit 0 is the port
        "core05.tpe01",
        "Ethernet3/2/1",
    )
    assert arista.remote_port_description == "Po1:sw21.tpe01:xe-0/1/0"
    assert arista.capabilities == ("bridge",)  # enabled, not the supported ones
    assert arista.remote_management_address == "199.27.130.35"
    assert arista.remote_description == (
        "Arista Networks EOS version 4.14.8M running on an Arista Networks DCS-7504"
    )


def test_lldp_detail_without_a_port_id() -> None:
    """An SRX branch seeing a Meraki MX64 that sends no port id, only a description."""
    (row,) = _rows(
        "show lldp neighbors detail", (REPLIES / "lldp-detail_no-port-id.xml").read_text(), "xml"
    )
    assert row["local_interface"] == "fe-0/0/2.0"
    assert row["neighbor_port_id"] is None
    assert row["neighbor_port_id_subtype"] == "Interface alias"
    assert row["neighbor_interface"] == "lan port 0"
    assert row["neighbor_name"] == "Meraki MX64"


def test_lldp_brief_json_local_port_id_is_the_interface(tmp_path: Path) -> None:
    name = "show lldp neighbors | display json | no-more.txt"
    facts, report = _parse(tmp_path, {name: SUZIEQ / "mixed" / "leaf3-qfx" / name})
    assert report.errors == []
    n = {o.interface: o for o in facts.neighbors}
    assert (n["xe-0/0/0"].remote_system_name, n["xe-0/0/0"].remote_port) == (
        "spine1-nxos",
        "Ethernet1/3",
    )
    assert n["xe-0/0/1"].remote_chassis_id == "50:0c:00:00:01:03"


def test_lldp_brief_xml_older_entries_name_the_local_interface() -> None:
    rows = _rows("show lldp neighbors", (REPLIES / "lldp-brief.xml").read_text(), "xml")
    assert [r["local_interface"] for r in rows] == ["xe-4/3/6", "me0.0", "ge-0/0/0.0", "xe-0/1/0.0"]
    assert (rows[0]["neighbor_port_id"], rows[0]["neighbor_interface"]) == (
        "Ethernet1",
        "Ethernet1 interface",
    )
    assert rows[1]["neighbor_port_id_subtype"] is None  # not printed for that entry


def test_lldp_brief_vmx_parent_interfaces() -> None:
    name = "show lldp neighbors | display json | no-more.txt"
    rows = _rows("show lldp neighbors", (VMX / "crp-dis-sw01" / name).read_text())
    by_port = {r["local_interface"]: r for r in rows}
    assert len(by_port) == 5
    member = by_port["ge-0/0/2"]
    assert (member["parent_interface"], member["neighbor_name"]) == ("ae1", "TOR1CRP-DGW-RT01")
    assert (member["neighbor_port_id"], member["neighbor_port_id_subtype"]) == (
        "526",
        "Locally assigned",
    )
    firewall = by_port["ge-0/0/0"]
    assert (firewall["parent_interface"], firewall["neighbor_name"]) == ("-", "TOR1CRP-SEC-FW01")
    assert (firewall["neighbor_port_id"], firewall["neighbor_port_id_subtype"]) == (
        "ethernet1/1",
        "Interface name",
    )


# --- interfaces --------------------------------------------------------------------------


def test_interfaces_json_units_addresses_and_snmp_index(tmp_path: Path) -> None:
    text = _session("leaf01")["show interface"]
    rows = {r["interface"]: r for r in _rows("show interfaces", text)}
    assert rows["xe-0/0/0"]["snmp_index"] == "519"  # what leaf01 sends as its LLDP port id
    assert rows["irb.10"]["snmp_index"] == "511"
    assert (rows["irb.10"]["destination"], rows["irb.10"]["local"]) == (
        ["172.16.1/24"],
        ["172.16.1.254"],
    )
    assert rows["vtep.32769"]["flags"] == "Up"
    facts, report = _parse(tmp_path, {"show interface | display json | no-more": text})
    assert report.errors == []
    addresses = {(a.interface, a.address) for a in facts.ip_addresses}
    assert {
        ("irb.10", "172.16.1.254/24"),
        ("irb.30", "172.16.3.254/24"),
        ("em0", "10.255.5.184/24"),
        ("lo0", "10.0.0.11/32"),  # no destination: a host address
        ("lo0", "fe80::205:860f:fc71:ad00/128"),  # inet6
        ("lo0.999", "10.0.0.101/32"),
    } <= addresses
    ports = {i.name: i for i in facts.interfaces}
    assert (ports["xe-0/0/0"].speed_mbps, ports["xe-0/0/0"].mtu) == (10000, 9214)
    assert ports["irb.10"].parent == "irb" and ports["irb.10"].mode == "routed"
    assert ports["vme"].oper_status == "down"


def test_interfaces_xml_of_an_mx(tmp_path: Path) -> None:
    xml = (REPLIES / "interfaces_mx.xml").read_text()
    rows = {r["interface"]: r for r in _rows("show interfaces", xml, "xml")}
    assert rows["ge-5/0/0.0"]["flags"] == "Down"  # iff-down
    assert rows["ge-5/0/0"]["snmp_index"] == "523"
    facts, report = _parse(
        tmp_path, {"show interfaces | display xml.xml": REPLIES / "interfaces_mx.xml"}
    )
    assert report.errors == []
    addresses = {(a.interface, a.address) for a in facts.ip_addresses}
    assert addresses == {
        ("fxp0", "128.141.254.37/28"),
        ("igb0.0", "10.0.0.4/8"),
        ("igb0.0", "128.0.0.1/2"),
        ("igb0.0", "128.0.0.4/2"),
        ("igb0.0", "fe80::200:1ff:fe00:4/64"),
        ("igb0.0", "fec0::a:0:0:4/64"),
        ("lo0.16384", "127.0.0.1/32"),
    }  # the tnp family's 0x4 is no address
    ge = {i.name: i for i in facts.interfaces}["ge-5/0/0"]
    assert (ge.speed_mbps, ge.mac) == (1000, "20:d8:0b:71:2e:72")


def test_interface_addresses_with_their_prefix_length_in_ifa_local() -> None:
    """``show interfaces terse``'s layout: ``172.17.19.1/24`` with no destination."""
    rows = _rows("show interfaces", (REPLIES / "interfaces-terse_irb.xml").read_text(), "xml")
    irb = next(r for r in rows if r["interface"] == "irb.17")
    assert irb["destination"] == ["172.17.17.1/32", "172.17.19.1/24", "2400::1/64", "fe80::1/128"]
    assert irb["local"] == ["172.17.17.1", "172.17.19.1", "2400::1", "fe80::1"]
    assert irb["flags"] == "Up"  # from oper-status: the terse form prints no flags


# --- ARP ---------------------------------------------------------------------------------


def test_arp_json_logical_interface_first(tmp_path: Path) -> None:
    text = _session("leaf01")["show arp"]
    facts, report = _parse(tmp_path, {"show arp | display json | no-more": text})
    assert report.errors == []
    arp = {a.ip: (a.mac, a.interface) for a in facts.arp}
    assert len(arp) == 7
    assert arp["172.16.1.101"] == ("28:b7:ad:3c:81:d0", "irb.10")  # "irb.10 [xe-0/0/2.0]"
    assert arp["10.255.5.1"] == ("52:54:00:52:09:f3", "em0")
    assert arp["10.0.0.21"] == ("02:05:86:71:2e:03", "xe-0/0/0")


def test_arp_no_resolve_json_and_xml(tmp_path: Path) -> None:
    name = "show arp no-resolve | display json | no-more.txt"
    rows = _rows("show arp no-resolve", (VMX / "tor1crp-dgw-rt01" / name).read_text())
    assert len(rows) == 8
    assert {r["ip_address"]: r["interface"] for r in rows}["172.16.10.11"] == "irb.100"
    xml_rows = _rows("show arp no-resolve", (REPLIES / "arp.xml").read_text(), "xml")
    assert [(r["ip_address"], r["interface"], r["flags"]) for r in xml_rows] == [
        ("172.17.17.1", "em1.0", "none"),
        ("172.17.17.3", "ae7.10", "none"),
        ("172.17.17.2", "ae7.637", "permanent"),
    ]


# --- MAC table and VLANs -----------------------------------------------------------------


def test_mac_table_detail_json_with_remote_vtep_entries(tmp_path: Path) -> None:
    session = _session("leaf01")
    rows = _rows(
        "show ethernet-switching table detail", session["show ethernet-switching table detail"]
    )
    assert [
        (r["mac_address"], r["vlan_id"], r["logical_interface"], r["mac_flag"]) for r in rows
    ] == [
        ("28:b7:ad:3c:81:d0", "10", "xe-0/0/2.0", "D"),
        ("28:b7:ad:82:67:e5", "30", "xe-0/0/3.0", "D"),
        ("28:b7:ad:88:ae:71", "30", "vtep.32769", "DR"),  # ctrl_dyn,rcvd_from_remote
    ]
    facts, report = _parse(
        tmp_path,
        {
            "show ethernet-switching table detail | display json": session[
                "show ethernet-switching table detail"
            ],
            "show vlans detail | display json |no-more": session["show vlans detail"],
        },
    )
    assert report.errors == []
    macs = {m.mac: (m.vlan, m.interface, m.type) for m in facts.mac_table}
    assert macs["28:b7:ad:88:ae:71"] == (30, "vtep.32769", MacEntryType.DYNAMIC)
    assert macs["28:b7:ad:3c:81:d0"] == (10, "xe-0/0/2", MacEntryType.DYNAMIC)
    assert {(v.vlan, v.name) for v in facts.vlans} == {
        (1, "default"),
        (10, "Vlan10"),
        (30, "Vlan30"),
    }


def test_an_empty_mac_table_is_claimed_with_no_entries(tmp_path: Path) -> None:
    text = _session("spine01")["show ethernet-switching table detail"]
    assert json.loads(text) == {"l2ng-l2ald-rtb-macdb": [{}]}
    facts, report = _parse(tmp_path, {"show ethernet-switching table detail | display json": text})
    assert report.errors == [] and FactKind.MAC_TABLE in facts.kinds and facts.mac_table == []


def test_mac_table_legacy_ex_xml_leaves_flood_entries_out(tmp_path: Path) -> None:
    xml = REPLIES / "ethernet-switching-table_legacy.xml"
    facts, report = _parse(tmp_path, {"show ethernet-switching table | display xml.xml": xml})
    assert report.errors == []
    assert {(m.mac, m.vlan, m.interface, m.type) for m in facts.mac_table} == {
        ("ec:13:db:2d:35:da", 1, "ge-0/0/0", MacEntryType.DYNAMIC),  # Learn
        ("88:5b:dd:3f:3f:80", 9, "ge-0/0/0", MacEntryType.DYNAMIC),
    }  # the "*" flood entry of VLAN default is not a MAC


def test_mac_table_els_brief_layout(tmp_path: Path) -> None:
    """The brief ELS layout: per routing instance, ``l2ng-mac-entry`` rows naming the VLAN;
    its tag comes from the VLAN table, as for the text. (Layout only: the MAC, VLAN and port
    are those of leaf01's detail capture.)"""
    entry = {
        "l2ng-l2-mac-vlan-name": [{"data": "Vlan10"}],
        "l2ng-l2-mac-address": [{"data": "28:b7:ad:3c:81:d0"}],
        "l2ng-l2-mac-flags": [{"data": "D"}],
        "l2ng-l2-mac-age": [{"data": "-"}],
        "l2ng-l2-mac-logical-interface": [{"data": "xe-0/0/2.0"}],
    }
    group = {
        "attributes": {"junos:style": "brief-rtb"},
        "l2ng-l2-mac-routing-instance": [{"data": "default-switch"}],
        "l2ng-mac-entry": [entry],
    }
    doc = {"l2ng-l2ald-rtb-macdb": [{"l2ng-l2ald-mac-entry-vlan": [group]}]}
    facts, report = _parse(
        tmp_path,
        {
            "show ethernet-switching table | display json": json.dumps(doc),
            "show vlans detail | display json": _session("leaf01")["show vlans detail"],
        },
    )
    assert report.errors == []
    (mac,) = facts.mac_table
    assert (mac.vlan, mac.interface, mac.type) == (10, "xe-0/0/2", MacEntryType.DYNAMIC)


def test_vlans_detail_json_and_legacy_xml() -> None:
    rows = _rows("show vlans detail", _session("leaf01")["show vlans detail"])
    vlan10 = next(r for r in rows if r["vlan_name"] == "Vlan10")
    assert (vlan10["tag"], vlan10["routing_instance"], vlan10["interfaces"]) == (
        "10",
        "default-switch",
        ["xe-0/0/2.0*"],
    )
    legacy = _rows("show vlans", (REPLIES / "vlans_legacy.xml").read_text(), "xml")
    assert [(r["vlan_name"], r["tag"]) for r in legacy] == [
        ("VLAN10", "10"),
        ("VLAN2", "2"),
        ("VLAN300", "300"),
        ("VLAN4000", "4000"),
        ("default", None),  # printed as tag 0: untagged
    ]
    assert legacy[0]["interfaces"] == ["ge-0/0/1.0*", "ge-0/0/2.0", "ge-0/0/3.0"]


# --- BGP ---------------------------------------------------------------------------------


def test_bgp_summary_json_peers_vrfs_prefixes_uptime(tmp_path: Path) -> None:
    text = _session("exit01")["show bgp summary"]
    facts, report = _parse(
        tmp_path, {"show bgp summary | display json | no-more": text}, {"bgp_asn": 64520}
    )
    assert report.errors == []
    peers = {p.remote_address: p for p in facts.bgp_peers}
    assert len(peers) == 6
    evpn = peers["10.0.0.22"]
    assert (evpn.vrf, evpn.remote_asn, evpn.local_asn, evpn.state) == (
        None,
        64520,
        64520,
        BGPState.ESTABLISHED,
    )
    assert evpn.prefixes_received == 24  # 0 + 12 + 0 + 12 over its four tables
    assert evpn.uptime_seconds == 4531  # "1:15:31"
    assert peers["10.0.0.21"].uptime_seconds == 36  # printed "36": junos:seconds says so
    # peers of a routing instance feed only its tables
    assert (peers["169.254.127.0"].vrf, peers["169.254.127.0"].remote_asn) == (
        "internet-vrf",
        65534,
    )
    assert peers["169.254.254.6"].vrf == "evpn-vrf"
    assert peers["169.254.254.2"].vrf is None  # inet.0


def test_bgp_summary_vmx_descriptions_and_vrfs() -> None:
    snapshot, report = parse_directory(VMX)
    assert report.ok, report.summary()
    peers = {(p.vrf, p.remote_address): p for p in snapshot.bgp_peers}
    assert set(peers) == {
        ("VRF-A", "10.0.10.1"),
        ("VRF-A", "10.0.10.3"),
        ("VRF-B", "10.0.20.1"),
        ("VRF-B", "10.0.20.3"),
    }
    firewall = peers[("VRF-A", "10.0.10.1")]
    assert (firewall.description, firewall.uptime_seconds) == ("TOR1CRP-SEC-FW01", 350366)
    assert firewall.local_asn == 65000  # from meta.yaml: Junos does not print it
    # "BGP is not running": no peers, and the device claims that
    assert FactKind.BGP in snapshot.scope_map()["crp-dis-sw01"]


def test_bgp_summary_xml_states_and_ipv6_peers(tmp_path: Path) -> None:
    xml = REPLIES / "bgp-summary_vrf.xml"
    facts, report = _parse(
        tmp_path, {"show bgp summary | display xml.xml": xml}, {"bgp_asn": 13335}
    )
    assert report.errors == []
    states = {p.remote_address: p.state for p in facts.bgp_peers}
    assert states == {
        "10.2.1.253": BGPState.ESTABLISHED,
        "10.2.1.254": BGPState.ESTABLISHED,
        "192.168.0.0": BGPState.ESTABLISHED,
        "192.169.1.0": BGPState.ACTIVE,
        "192.169.1.2": BGPState.IDLE,
        "2a01:280:100::1": BGPState.IDLE,
    }
    both = next(p for p in facts.bgp_peers if p.remote_address == "192.168.0.0")
    assert (both.vrf, both.prefixes_received, both.remote_asn) == ("frontend", 3, 20000)


def test_bgp_not_running_is_no_peers_and_other_output_is_an_error() -> None:
    assert _rows("show bgp summary", '{"output": [{"data": "BGP is not running"}]}') == []
    with pytest.raises(JsonOutputError):
        _rows("show bgp summary", '{"output": [{"data": "error: syntax error"}]}')


# --- routes ------------------------------------------------------------------------------


def test_route_json_tables_protocols_and_next_hops(tmp_path: Path) -> None:
    facts, report = _parse(
        tmp_path, {"show route | display json | no-more": _session("leaf01")["show route"]}
    )
    assert report.errors == []
    routes = {(r.vrf, r.prefix, r.protocol): r for r in facts.routes}
    ospf = routes[(None, "10.0.0.12/32", "ospf")]
    assert (ospf.distance, ospf.metric) == (10, 2)
    assert [(h.address, h.interface) for h in ospf.next_hops] == [
        ("10.0.0.21", "xe-0/0/0"),
        ("10.0.0.22", "xe-0/0/1"),
    ]
    assert [h.interface for h in routes[("evpn-vrf", "172.16.1.0/24", "connected")].next_hops] == [
        "irb.10"
    ]
    assert [h.interface for h in routes[(None, "10.255.5.184/32", "local")].next_hops] == ["em0"]
    assert (
        routes[(None, "0.0.0.0/0", "other")].next_hops[0].address == "10.255.5.1"
    )  # Access-internal
    # EVPN and MPLS destinations are no IP prefixes; multicast receive routes have no next hop
    assert not any(r.prefix.startswith("ff02") for r in facts.routes)


def test_route_json_rows_keep_the_active_tags_as_printed() -> None:
    rows = _rows("show route", _session("exit01")["show route"])
    host = [
        (r["protocol"], r["active"])
        for r in rows
        if r["prefix"] == "10.0.0.21/32" and r["table"] == "inet.0"
    ]
    assert host == [("OSPF", "@"), ("Direct", "#")]  # routing use only, forwarding use only
    multicast = next(r for r in rows if r["prefix"] == "224.0.0.5/32")
    assert multicast["hop"] == ["MultiRecv"]


def test_route_json_vrfs_of_a_vmx() -> None:
    snapshot, _ = parse_directory(VMX)
    routes = {
        (r.vrf, r.prefix, r.protocol): r for r in snapshot.routes if r.device == "tor1crp-dgw-rt01"
    }
    default = routes[("VRF-A", "0.0.0.0/0", "bgp")]
    assert [(h.address, h.interface) for h in default.next_hops] == [("10.0.10.1", "ae1.10")]
    assert routes[(None, "0.0.0.0/0", "static")].next_hops[0].address == "172.26.147.254"
    assert ("VRF-B", "172.16.20.0/24", "connected") in routes


def test_route_detail_xml_prefix_and_length_apart() -> None:
    rows = _rows("show route", (REPLIES / "route-detail_mx.xml").read_text(), "xml")
    assert {r["prefix"] for r in rows} == {"1.0.4.0/24"}
    assert rows[0]["active"] == "*"
    assert rows[0]["hop"] == ["to 192.168.0.1 via ae10.0", "to 192.168.0.3 via xe-2/3/2.0"]


# --- identity ----------------------------------------------------------------------------


def test_system_information_json(tmp_path: Path) -> None:
    text = _session("leaf01")["show system information"]
    facts, report = _parse(tmp_path, {"show system information | display json | no-more": text})
    assert report.errors == []
    record = facts.record
    assert record is not None
    assert (record.model, record.os_version, record.serial, record.vendor) == (
        "vqfx-10000",
        "19.4R1.10",
        "66124662877",
        "Juniper",
    )


def test_system_information_of_a_cluster_is_the_first_nodes() -> None:
    """Layout only: leaf01's block as a chassis cluster prints it, per node."""
    block = json.loads(_session("leaf01")["show system information"])["system-information"]
    item = {"re-name": [{"data": "node0"}], "system-information": block}
    doc = {"multi-routing-engine-results": [{"multi-routing-engine-item": [item]}]}
    (row,) = _rows("show system information", json.dumps(doc))
    assert (row["hostname"], row["model"]) == ("leaf01", "vqfx-10000")


def test_chassis_hardware_json_and_xml(tmp_path: Path) -> None:
    qfx = _rows("show chassis hardware", (REPLIES / "chassis-hardware_qfx5120.json").read_text())
    assert qfx == [{"model": "JNP48Y8C-CHAS", "serial_number": "XH3119430089"}]
    facts, report = _parse(
        tmp_path, {"show chassis hardware | display xml.xml": REPLIES / "chassis-hardware_vsrx.xml"}
    )
    assert report.errors == []
    assert facts.record is not None
    assert (facts.record.model, facts.record.serial) == ("FIREFLY-PERIMETER", "aaf5fe5f9b88")


def test_version_xml_of_a_release_without_junos_version() -> None:
    (row,) = _rows("show version", (REPLIES / "version_vsrx.xml").read_text(), "xml")
    assert row == {
        "hostname": "firefly",
        "junos_version": "12.1X46-D15.3",
        "model": "firefly-perimeter",
    }


def test_vmx_devices_from_system_information_and_chassis_hardware() -> None:
    snapshot, _ = parse_directory(VMX)
    devices = {d.id: d for d in snapshot.devices}
    rt01 = devices["tor1crp-dgw-rt01"]
    assert (rt01.os_version, rt01.serial) == ("18.2R1.9", "VM611B595318")
    assert rt01.model in ("VMX", "vmx")  # chassis hardware and system information, as printed
    assert devices["crp-dis-sw01"].serial == "VM60E8243DDB"


# --- the labs as a whole, and documents of other commands ------------------------------------


def test_the_suzieq_junos_lab_reads_every_command_of_the_matrix(tmp_path: Path) -> None:
    root = tmp_path / "junos"
    for host, asn in LAB_ASN.items():
        shutil.copytree(SUZIEQ / "junos" / host, root / host)
        (root / host / "meta.yaml").write_text(f"platform: juniper_junos\nbgp_asn: {asn}\n")
    snapshot, report = parse_directory(root)
    assert report.errors == [], report.summary()
    read = {command for _, command, fmt in report.read if fmt == "json"}
    assert read == {
        "show arp",
        "show interfaces",
        "show lldp neighbors interface",  # as "show lldp neighbors detail"
        "show ethernet-switching table detail",
        "show vlans detail",
        "show bgp summary",
        "show route",
        "show system information",
    }
    scope = snapshot.scope_map()
    wanted = {
        FactKind.DEVICE,
        FactKind.INTERFACES,
        FactKind.IP_ADDRESSES,
        FactKind.LLDP,
        FactKind.ARP,
        FactKind.MAC_TABLE,
        FactKind.VLANS,
        FactKind.BGP,
        FactKind.ROUTES,
    }
    assert all(wanted <= set(scope[host]) for host in LAB_ASN)
    links = {(n.device, n.interface, n.remote_system_name) for n in snapshot.neighbors}
    assert ("leaf01", "xe-0/0/0", "spine01") in links and ("spine01", "xe-0/0/0", "leaf01") in links
    assert len(snapshot.bgp_peers) == 2 + 6 + 6 + 2 + 2 + 4 + 4


def test_mixed_lab_qfx_18_1(tmp_path: Path) -> None:
    shutil.copytree(SUZIEQ / "mixed" / "leaf4-qfx", tmp_path / "leaf4-qfx")
    snapshot, report = parse_directory(tmp_path)
    assert report.errors == [], report.summary()
    (device,) = snapshot.devices
    assert (device.os_version, device.model) == ("18.1R3-S2.5", "vqfx-10000")
    assert FactKind.BGP in snapshot.scope_map()["leaf4-qfx"]  # BGP is not running there


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("show lldp neighbors detail", '{"arp-table-information": [{}]}'),
        ("show lldp neighbors", '{"interface-information": [{}]}'),
        ("show arp", '{"lldp-neighbors-information": [{}]}'),
        ("show ethernet-switching table detail", '{"route-information": [{}]}'),
        ("show vlans detail", '{"l2ng-l2ald-rtb-macdb": [{}]}'),
        ("show bgp summary", '{"route-information": [{}]}'),
        ("show route", '{"bgp-information": [{}]}'),
        ("show system information", '{"software-information": [{}]}'),
        ("show chassis hardware", '{"system-information": [{}]}'),
        ("show chassis hardware", "{master:0}"),
    ],
)
def test_documents_of_other_commands_are_reported(command: str, text: str) -> None:
    with pytest.raises(JsonOutputError):
        _rows(command, text)


def test_a_master_banner_after_the_json_is_not_part_of_it() -> None:
    text = _session("leaf01")["show arp"].rstrip() + "\n\n{master:0}\n"
    assert len(_rows("show arp", text)) == 7
