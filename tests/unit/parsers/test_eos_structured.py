"""Arista EOS structured output (``| json``, eAPI) for every command read on EOS, against real
captures: SuzieQ's recorded vEOS labs (tests/fixtures/real/suzieq), Batfish's lab validation
(tests/fixtures/real/eos/lab-validation: text and JSON of the same command on the same router)
and NAPALM's EOS test data (tests/fixtures/real/eos/napalm). Every value asserted here was read
off the raw output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from network_discovery.model import FactKind
from network_discovery.parsers import find_command, parse_directory
from network_discovery.parsers._device import parse_device
from network_discovery.parsers._json import JsonOutputError, json_rows

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "real"
SUZIEQ = FIXTURES / "suzieq"
LAB = FIXTURES / "eos" / "lab-validation"
NAPALM = FIXTURES / "eos" / "napalm"
EOS_HOSTS = ("exit01", "exit02", "leaf01", "leaf02", "leaf03", "leaf04", "spine01", "spine02")


def _by_name(items, device: str, key: str = "name") -> dict:
    return {getattr(i, key): i for i in items if i.device == device}


def _hops(route) -> list[tuple[str | None, str | None]]:
    return [(h.address, h.interface) for h in route.next_hops]


# --- SuzieQ's vEOS 4.23 lab: every file the poller saved as eAPI JSON -----------------------


@pytest.fixture(scope="module")
def suzieq():
    root = SUZIEQ / "eos"
    snapshot, report = parse_directory(root)
    return snapshot, report


def test_every_command_of_the_lab_is_read_as_json(suzieq) -> None:
    _, report = suzieq
    eos_errors = [i for i in report.errors if i.device in EOS_HOSTS]
    assert eos_errors == []
    read = {(Path(where).parent.name, command, fmt) for where, command, fmt in report.read}
    for host in EOS_HOSTS:
        assert {(c, f) for h, c, f in read if h == host} == {
            ("show version", "json"),
            ("show interfaces", "json"),
            ("show ip arp", "json"),  # show_arp_vrf_all.json
            ("show ip route vrf all", "json"),
            ("show lldp neighbors detail", "json"),
            ("show mac address-table", "json"),  # show_mac-address-table_unicast.json
            ("show vlan", "json"),  # show_vlan_brief.json
        }, host


def test_show_interfaces_json(suzieq) -> None:
    snapshot, _ = suzieq
    leaf01 = _by_name(snapshot.interfaces, "leaf01")
    mgmt = leaf01["Management1"]
    assert (mgmt.admin_status, mgmt.oper_status, mgmt.mtu, mgmt.speed_mbps, mgmt.mac) == (
        "up",
        "up",
        1500,
        1000,  # bandwidth 1000000000 bit/s
        "44:38:39:01:02:01",
    )
    # "interfaceMembership": "Member of Port-Channel3"
    assert leaf01["Ethernet3"].lag == "Port-channel3"
    assert leaf01["Ethernet5"].lag == leaf01["Ethernet6"].lag == "Port-channel1"
    assert leaf01["Vxlan1"].mtu is None  # EOS prints 0
    assert leaf01["Loopback0"].speed_mbps is None and leaf01["Loopback0"].mtu == 65535
    addresses = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "leaf01"}
    assert addresses == {
        ("Management1", "10.255.2.184/24"),
        ("Loopback0", "10.0.0.11/32"),
        ("Loopback1", "10.0.0.112/32"),
        ("Vlan4094", "169.254.1.0/31"),
        # "ip address virtual": the anycast gateway, the SVI's only address
        ("Vlan10", "172.16.1.254/24"),
        ("Vlan30", "172.16.3.254/24"),
        # Ethernet1/2 are unnumbered: they show Loopback0's 10.0.0.11/32, which is not theirs
    }
    shared = {a.address for a in snapshot.ip_addresses if a.device == "leaf01" and a.virtual}
    assert shared == {"172.16.1.254/24", "172.16.3.254/24"}  # never reported as duplicates
    exit01 = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "exit01"}
    assert ("Ethernet3.3", "169.254.254.5/30") in exit01  # a sub-interface


def test_arp_of_every_vrf(suzieq) -> None:
    snapshot, _ = suzieq
    arp = {(a.vrf, a.ip): (a.mac, a.interface) for a in snapshot.arp if a.device == "leaf01"}
    # "Vlan10, Port-Channel3": the routed interface the address is on, then the MAC's port
    assert arp[("evpn-vrf", "172.16.1.101")] == ("66:49:0d:d4:d8:63", "Vlan10")
    assert arp[("evpn-vrf", "172.16.3.202")] == ("d2:74:8c:66:e7:e2", "Vlan30")  # via Vxlan1
    assert arp[(None, "169.254.1.1")] == ("44:38:39:99:c7:9e", "Vlan4094")
    assert arp[(None, "10.0.0.21")] == ("44:38:39:ba:d2:34", "Ethernet1")
    assert len(arp) == 7
    exit01 = {(a.vrf, a.ip) for a in snapshot.arp if a.device == "exit01"}
    assert {("internet-vrf", "169.254.254.10"), ("evpn-vrf", "169.254.254.6")} <= exit01


def test_routes_of_every_vrf(suzieq) -> None:
    snapshot, _ = suzieq
    routes = {(r.vrf_name, r.prefix): r for r in snapshot.routes if r.device == "leaf01"}
    ospf = routes[("default", "10.0.0.13/32")]
    assert (ospf.protocol, ospf.distance, ospf.metric) == ("ospf", 110, 30)
    assert _hops(ospf) == [("10.0.0.21", "Ethernet1"), ("10.0.0.22", "Ethernet2")]
    static = routes[("default", "192.168.0.179/32")]
    assert (static.protocol, _hops(static)) == ("static", [("10.255.2.1", "Management1")])
    connected = routes[("evpn-vrf", "172.16.1.0/24")]
    assert (connected.protocol, _hops(connected)) == ("connected", [(None, "Vlan10")])
    # EVPN: the next hop is the remote VTEP; two vias to one VTEP (an MLAG pair's two router
    # MACs) are one next hop
    evpn = routes[("evpn-vrf", "10.0.0.200/32")]
    assert (evpn.protocol, evpn.distance) == ("bgp", 200)
    assert _hops(evpn) == [("10.0.0.31", None), ("10.0.0.32", None)]
    assert _hops(routes[("evpn-vrf", "172.16.2.201/32")]) == [("10.0.0.134", None)]
    exit01 = {(r.vrf_name, r.prefix): r for r in snapshot.routes if r.device == "exit01"}
    aggregate = exit01[("evpn-vrf", "172.16.1.0/24")]  # bgpAggregate, routeAction drop
    assert (aggregate.protocol, aggregate.next_hops) == ("aggregate", ())
    # a connected route whose via names 0.0.0.0 as its gateway: no gateway
    assert _hops(exit01[("evpn-vrf", "169.254.254.4/30")]) == [(None, "Ethernet3.3")]


def test_lldp_detail_with_subtypes_and_capabilities(suzieq) -> None:
    snapshot, _ = suzieq
    leaf01 = _by_name(snapshot.neighbors, "leaf01", "interface")
    spine = leaf01["Ethernet1"]
    assert (spine.remote_system_name, spine.remote_port, spine.remote_management_address) == (
        "spine01",
        "Ethernet1",
        "10.0.0.21",
    )
    assert spine.capabilities == ("bridge", "router")
    text = (SUZIEQ / "eos" / "exit01" / "show_lldp_neighbors_detail.json").read_text()
    rows = {
        r["local_interface"]: r for r in json_rows("arista_eos", "show lldp neighbors detail", text)
    }
    # the Junos edge router sends its ifIndex as a locally assigned id, the name as description
    edge = rows["Ethernet4"]
    assert (edge["neighbor_name"], edge["neighbor_port_id"], edge["neighbor_interface"]) == (
        "dcedge01",
        "516",
        "xe-0/0/0",
    )
    assert (edge["neighbor_port_id_subtype"], edge["chassis_id_subtype"]) == ("local", "macAddress")
    assert rows["Ethernet1"]["neighbor_port_id_subtype"] == "interfaceName"
    assert edge["neighbor_description"].startswith("Juniper Networks, Inc. vqfx-10000")


def test_mac_table_vlans_and_version(suzieq) -> None:
    snapshot, _ = suzieq
    macs = {(m.mac, m.vlan): m for m in snapshot.mac_table if m.device == "leaf01"}
    host = macs[("66:49:0d:d4:d8:63", 10)]
    assert (host.interface, host.type) == ("Port-channel3", "dynamic")
    assert macs[("44:38:39:99:c7:9e", 10)].type == "static"  # the MLAG peer's router MAC
    assert macs[("d2:74:8c:66:e7:e2", 30)].interface == "Vxlan1"
    assert len(macs) == 11
    vlans = {v.vlan: v.name for v in snapshot.vlans if v.device == "leaf01"}
    assert vlans == {
        1: "default",
        10: "VLAN0010",
        30: "VLAN0030",
        1006: "VLAN1006",
        4094: "VLAN4094",
    }
    leaf01 = {d.id: d for d in snapshot.devices}["leaf01"]
    assert (leaf01.model, leaf01.os_version, leaf01.chassis_id) == (
        "vEOS",  # modelName as printed
        "4.23.5M",
        "44:38:39:e3:19:2e",
    )


def test_mixed_lab_files_named_as_typed() -> None:
    """``show interfaces| json.txt``, ``show arp vrf all| json.txt``: the EOS leaves of the
    mixed lab, LLDP neighbours that are NX-OS spines (``interfaceId_v2``, a port
    description)."""
    snapshot, report = parse_directory(SUZIEQ / "mixed")
    assert [i for i in report.errors if i.device in ("leaf5-eos", "leaf6-eos")] == []
    leaf5 = _by_name(snapshot.neighbors, "leaf5-eos", "interface")
    spine = leaf5["Ethernet1"]
    assert (spine.remote_system_name, spine.remote_port, spine.remote_port_description) == (
        "spine1-nxos",
        "Ethernet1/5",
        "// Connected to leaf-5",
    )
    # the NX-OS system description is three lines; the text templates keep the first
    assert spine.remote_description == "Cisco Nexus Operating System (NX-OS) Software 9.3(7a)"
    addresses = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "leaf5-eos"}
    assert addresses == {
        ("Management1", "172.29.151.7/24"),
        ("Loopback0", "5.5.5.5/32"),
        ("Ethernet1", "10.1.5.2/30"),
        ("Ethernet2", "10.2.5.2/30"),
    }
    arp = {(a.ip, a.interface) for a in snapshot.arp if a.device == "leaf5-eos"}
    assert ("10.1.5.1", "Ethernet1") in arp and ("172.29.151.254", "Management1") in arp


# --- text and JSON of the same command on the same router --------------------------------


@pytest.fixture(scope="module")
def both():
    from_text, text_report = parse_directory(LAB / "text")
    from_json, json_report = parse_directory(LAB / "json")
    return from_text, text_report, from_json, json_report


def _interfaces(snapshot, device: str) -> dict[str, tuple]:
    return {
        i.name: (i.admin_status, i.oper_status, i.mtu, i.description, i.mac, i.speed_mbps)
        for i in snapshot.interfaces
        if i.device == device
    }


def _routes(snapshot, device: str) -> dict[tuple, tuple]:
    return {
        (r.vrf_name, r.prefix): (r.protocol, r.distance, r.metric, tuple(_hops(r)))
        for r in snapshot.routes
        if r.device == device
    }


@pytest.mark.parametrize("device", ["np02", "d-aristaeos"])
def test_text_and_json_give_the_same_interfaces_addresses_routes(both, device) -> None:
    from_text, _, from_json, json_report = both
    assert json_report.errors == []
    text_ifs, json_ifs = _interfaces(from_text, device), _interfaces(from_json, device)
    assert text_ifs and json_ifs == text_ifs
    assert {a.id for a in from_json.ip_addresses if a.device == device} == {
        a.id for a in from_text.ip_addresses if a.device == device
    }
    assert _routes(from_json, device) == _routes(from_text, device)


def test_the_values_both_forms_agree_on(both) -> None:
    from_text, _, from_json, _ = both
    for snapshot in (from_text, from_json):
        np02 = _interfaces(snapshot, "np02")
        assert np02["Ethernet1"] == ("up", "up", 1500, "TO--->NP01", "0c:fd:eb:f6:25:8d", None)
        # the text prints "BW 1000000 kbit" for Management1 only; JSON 1000000000 bit/s
        assert np02["Management1"][2:] == (1500, "MGMT", "0c:fd:eb:7e:b9:00", 1000)
        assert np02["Ethernet4"][2] == 9214  # "Ethernet MTU 9214 bytes", a bridged port
        addresses = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "np02"}
        assert addresses == {
            ("Ethernet1", "10.12.12.2/30"),
            ("Ethernet3", "192.168.2.1/30"),
            ("Loopback0", "10.2.2.2/32"),
            ("Management1", "10.150.0.188/16"),
        }
        routes = _routes(snapshot, "np02")
        # O E2 10.203.0.0/16 [110/1] via 192.168.2.2, Ethernet3
        assert routes[("default", "10.203.0.0/16")] == (
            "ospf",
            110,
            1,
            (("192.168.2.2", "Ethernet3"),),
        )
        # S 10.203.0.0/24 is directly connected, Null0: a discard route
        assert routes[("default", "10.203.0.0/24")] == ("static", None, None, ())
        assert routes[("default", "10.2.2.2/32")] == (
            "connected",
            None,
            None,
            ((None, "Loopback0"),),
        )
        # A B 10.203.0.0/16 is directly connected, Null0
        assert _routes(snapshot, "np01")[("default", "10.203.0.0/16")] == (
            "aggregate",
            None,
            None,
            (),
        )
        vrf = _routes(snapshot, "d-aristaeos")
        assert vrf[("cust10", "1.1.4.10/32")] == ("connected", None, None, ((None, "Loopback10"),))
        assert vrf[("cust20", "1.1.4.20/32")] == ("connected", None, None, ((None, "Loopback20"),))
        # S 172.17.252.0/24 is directly connected, Ethernet1
        assert vrf[("default", "172.17.252.0/24")] == ("static", None, None, ((None, "Ethernet1"),))
        assert vrf[("default", "10.10.10.0/24")] == ("bgp", 200, 0, (("10.10.30.1", "Ethernet1"),))


def test_show_version_text_and_json(both) -> None:
    from_text, text_report, from_json, _ = both
    devices_text = {d.id: d for d in from_text.devices}
    devices_json = {d.id: d for d in from_json.devices}
    for snapshot in (devices_text, devices_json):
        record = snapshot["d-aristaeos"]  # "Arista vEOS" / "modelName": "vEOS"
        assert (record.model, record.os_version, record.chassis_id) == (
            "vEOS",
            "4.21.1.1F",
            "0c:ef:e6:2a:ff:73",
        )
    # np02's text starts with a bare "vEOS" line (no "Arista"): our template reads it as the
    # model, as the JSON's modelName says
    assert text_report.errors == []
    for devices in (devices_text, devices_json):
        assert (devices["np02"].model, devices["np02"].os_version) == ("vEOS", "4.23.0.1F")


# --- JSON only: an EVPN leaf ----------------------------------------------------------------


def test_evpn_leaf_virtual_addresses_members_and_tunnel_routes() -> None:
    snapshot, report = parse_directory(LAB / "evpn")
    assert report.ok, report.summary()
    ifs = _by_name(snapshot.interfaces, "dc1-leaf2a")
    assert ifs["Ethernet3"].lag == ifs["Ethernet4"].lag == "Port-channel3"
    assert ifs["Ethernet3"].description == "MLAG_PEER_DC1-LEAF2B_Ethernet3"
    # notconnect / lowerLayerDown: enabled, not up
    po7 = ifs["Port-channel7"]
    assert (po7.admin_status, po7.oper_status, po7.mtu) == ("up", "down", None)
    assert ifs["Management1"].speed_mbps == 1000 and ifs["Vlan110"].speed_mbps is None
    addresses = {(a.interface, a.address) for a in snapshot.ip_addresses}
    assert {
        ("Vlan110", "10.1.10.1/24"),  # ip address virtual
        ("Vlan3000", "10.255.251.2/31"),  # one /31 in four VRFs, on four SVIs
        ("Vlan3003", "10.255.251.2/31"),
        ("Ethernet1", "172.31.255.5/31"),
        ("Loopback1", "192.168.254.4/32"),
    } <= addresses
    assert len(addresses) == 24
    routes = {(r.vrf_name, r.prefix): r for r in snapshot.routes}
    assert _hops(routes[("Tenant_A_DB_Zone", "10.255.4.7/32")]) == [("192.168.254.6", None)]
    ecmp = routes[("default", "192.168.255.8/32")]
    assert (ecmp.protocol, ecmp.distance) == ("bgp", 20)
    assert _hops(ecmp) == [("172.31.255.4", "Ethernet1"), ("172.31.255.6", "Ethernet2")]
    assert _hops(routes[("MGMT", "0.0.0.0/0")]) == [("192.168.2.1", "Management1")]
    assert {vrf for vrf, _ in routes} == {
        "default",
        "MGMT",
        "Tenant_A_OP_Zone",
        "Tenant_A_WEB_Zone",
        "Tenant_A_APP_Zone",
        "Tenant_A_DB_Zone",
    }


# --- NAPALM's EOS documents ----------------------------------------------------------------


def _device(**files: Path):
    facts, report = parse_device("sw1", "arista_eos", files)
    assert report.errors == [], report.summary()
    return facts


def test_show_ip_interface_every_address_with_its_vrf() -> None:
    facts = _device(
        **{"show_ip_interface.json": NAPALM / "ip-interface-vrf" / "show_ip_interface.json"}
    )
    assert {(a.interface, a.address, a.vrf) for a in facts.ip_addresses} == {
        ("Vlan100", "192.168.233.1/24", None),
        ("Vlan100", "192.168.234.1/24", None),  # secondaryIpsOrderedList
        ("Vlan100", "192.168.235.1/24", None),
        ("Ethernet36", "172.17.17.66/25", "TESTVRF"),
    }
    # addresses only: show ip interface lists the routed interfaces, not every port
    assert facts.kinds == {FactKind.DEVICE, FactKind.IP_ADDRESSES}


def test_show_ip_interface_names_the_vrf_show_interfaces_does_not(tmp_path: Path) -> None:
    """The same address from both: the one that names its VRF is kept."""
    doc = json.loads((NAPALM / "ip-interface-vrf" / "show_ip_interface.json").read_text())
    interfaces = {
        "interfaces": {
            name: {**body, "interfaceAddress": [body["interfaceAddress"]]}
            for name, body in doc["interfaces"].items()
        }
    }
    (tmp_path / "show_interfaces.json").write_text(json.dumps(interfaces))
    facts = _device(
        **{
            "show_interfaces.json": tmp_path / "show_interfaces.json",
            "show ip interface | json": NAPALM / "ip-interface-vrf" / "show_ip_interface.json",
        }
    )
    vrfs = {(a.interface, a.address): a.vrf for a in facts.ip_addresses}
    assert vrfs[("Ethernet36", "172.17.17.66/25")] == "TESTVRF"
    assert len(vrfs) == 4


def test_secondary_addresses_do_not_clobber_the_interface(tmp_path: Path) -> None:
    """``show interfaces`` with a primary and two secondaries (NAPALM's Vlan100 block in the
    list that ``show interfaces`` prints): one interface record, with its status and MTU, and
    three addresses."""
    doc = json.loads((NAPALM / "ip-interface-vrf" / "show_ip_interface.json").read_text())
    vlan100 = doc["interfaces"]["Vlan100"]
    (tmp_path / "show_interfaces.json").write_text(
        json.dumps(
            {
                "interfaces": {
                    "Vlan100": {**vlan100, "interfaceAddress": [vlan100["interfaceAddress"]]}
                }
            }
        )
    )
    facts = _device(**{"show_interfaces.json": tmp_path / "show_interfaces.json"})
    (vlan,) = facts.interfaces
    assert (vlan.name, vlan.admin_status, vlan.oper_status, vlan.mtu) == (
        "Vlan100",
        "up",
        "up",
        1500,
    )
    assert sorted(a.address for a in facts.ip_addresses) == [
        "192.168.233.1/24",
        "192.168.234.1/24",
        "192.168.235.1/24",
    ]


def test_show_interfaces_ipv6_global_unicast() -> None:
    facts = _device(**{"show_interfaces.json": NAPALM / "interfaces-ipv6" / "show_interfaces.json"})
    assert {a.address for a in facts.ip_addresses} == {"172.17.17.1/32", "2400:ca13::1/128"}


def test_lldp_brief_and_flat_arp() -> None:
    facts = _device(
        **{
            "show_lldp_neighbors.json": NAPALM / "lldp-brief" / "show_lldp_neighbors.json",
            "show_ip_arp.json": NAPALM / "arp-flat" / "show_arp.json",
        }
    )
    neighbours = {(n.interface, n.remote_system_name, n.remote_port) for n in facts.neighbors}
    assert neighbours == {
        ("Ethernet1", "precise64", "0800.274f.332d"),
        ("Ethernet2", "precise64", "0800.27ca.c5be"),
    }
    # the one address on two ports: one ARP fact, the first as printed
    assert [(a.ip, a.mac, a.interface, a.vrf) for a in facts.arp] == [
        ("172.17.17.1", "dc:38:e1:11:97:cf", "Ethernet45", None)
    ]


# --- status words, names, wrong documents ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "protocol", "expected"),
    [
        ("connected", "up", ("up", "up")),
        ("notconnect", "lowerLayerDown", ("up", "down")),
        ("notconnect", "notPresent", ("up", "down")),
        ("errdisabled", "down", ("up", "down")),
        ("disabled", "down", ("down", "down")),  # "is administratively down"
    ],
)
def test_interface_status_words(tmp_path: Path, status: str, protocol: str, expected) -> None:
    """np02's Ethernet1 record with EOS's other ``interfaceStatus`` / ``lineProtocolStatus``
    values (the captures here are all connected or notconnect)."""
    doc = json.loads((LAB / "json" / "np02" / "show_interfaces_|_json.json").read_text())
    record = {
        **doc["interfaces"]["Ethernet1"],
        "interfaceStatus": status,
        "lineProtocolStatus": protocol,
    }
    (tmp_path / "show_interfaces.json").write_text(
        json.dumps({"interfaces": {"Ethernet1": record}})
    )
    (interface,) = _device(**{"show_interfaces.json": tmp_path / "show_interfaces.json"}).interfaces
    assert (interface.admin_status, interface.oper_status) == expected


def test_interfaces_status_port_channel_member() -> None:
    """``show interfaces status | json`` names a member port's aggregate in
    ``vlanInformation.vlanExplanation`` (the text's Vlan column: ``in Po21``)."""
    member = {
        "vlanInformation": {"vlanExplanation": "in Po21", "interfaceForwardingModel": "dataLink"},
        "bandwidth": 10000000000,
        "interfaceType": "10GBASE-SR",
        "description": "BTB_OG-7",
        "duplex": "duplexFull",
        "linkStatus": "connected",
        "lineProtocolStatus": "up",
    }
    access = {**member, "vlanInformation": {"interfaceMode": "bridged", "vlanId": 44}}
    text = json.dumps({"interfaceStatuses": {"Ethernet21": member, "Ethernet8": access}})
    rows = {r["port"]: r for r in json_rows("arista_eos", "show interfaces status", text)}
    assert rows["Ethernet21"]["vlan_id"] == "in Po21" and rows["Ethernet21"]["speed"] == "10000M"
    assert rows["Ethernet8"]["vlan_id"] == "44"


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("show_arp_vrf_all", "show ip arp"),
        ("show arp vrf all| json", "show ip arp"),
        ("show ip arp vrf all | json", "show ip arp"),
        ("show_arp", "show ip arp"),
        ("show_mac-address-table_unicast", "show mac address-table"),
        ("show mac address-table unicast | json", "show mac address-table"),
        ("show_mac-address-table", "show mac address-table"),
        ("show_vlan_brief", "show vlan"),
        ("show vlan brief| json", "show vlan"),
        ("show_ip_interface", "show ip interface"),
        ("show ip int | json", "show ip interface"),
        ("show ip interface vrf all | json", "show ip interface"),
        ("show_ip_interface_brief", "show ip interface brief"),
        ("show lldp neighbors | json", "show lldp neighbors"),
        ("show_interfaces_|_json", "show interfaces"),
        ("sh ip route vrf all | json", "show ip route vrf all"),
    ],
)
def test_file_names(name: str, command: str) -> None:
    spec = find_command("arista_eos", name)
    assert spec is not None and spec.command == command


def test_show_ip_interface_text_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "show_ip_interface.txt").write_text("Ethernet1 is up, line protocol is up\n")
    _, report = parse_device(
        "sw1", "arista_eos", {"show_ip_interface.txt": tmp_path / "show_ip_interface.txt"}
    )
    assert any("as JSON only" in m for _, m in report.ignored)


_DOCS = {
    "interfaces": SUZIEQ / "eos" / "leaf01" / "show_interfaces.json",
    "vlans": SUZIEQ / "eos" / "leaf01" / "show_vlan_brief.json",
    "routes": SUZIEQ / "eos" / "leaf01" / "show_ip_route_vrf_all.json",
    "lldp": SUZIEQ / "eos" / "leaf01" / "show_lldp_neighbors_detail.json",
    "version": SUZIEQ / "eos" / "leaf01" / "show_version.json",
}


@pytest.mark.parametrize(
    ("command", "other"),
    [
        ("show version", "interfaces"),
        ("show interfaces", "vlans"),
        ("show ip interface", "routes"),
        ("show ip interface brief", "version"),
        ("show interfaces status", "interfaces"),
        ("show ip arp", "routes"),
        ("show ip route vrf all", "interfaces"),
        ("show lldp neighbors detail", "vlans"),
        ("show lldp neighbors", "lldp"),  # the detail document: lldpNeighbors is an object
        ("show mac address-table", "vlans"),
        ("show vlan", "lldp"),
    ],
)
def test_another_commands_document_is_reported(command: str, other: str) -> None:
    with pytest.raises(JsonOutputError):
        json_rows("arista_eos", command, _DOCS[other].read_text())


def test_missing_optional_keys_are_tolerated() -> None:
    """Entries trimmed to their names still read (older releases leave keys out)."""
    assert json_rows("arista_eos", "show interfaces", '{"interfaces": {"Ethernet1": {}}}') == [
        {
            "interface": "Ethernet1",
            "link_status": None,
            "protocol_status": None,
            "description": None,
            "mtu": None,
            "mac_address": None,
            "bandwidth": None,
            "ip_address": None,
            "lag": None,
            "virtual_addresses": [],
        }
    ]
    route = '{"vrfs": {"default": {"routes": {"10.0.0.0/8": {}}}}}'
    (row,) = json_rows("arista_eos", "show ip route", route)
    assert (row["network"], row["prefix_length"], row["next_hop"]) == ("10.0.0.0", "8", [])
    empty = '{"vrfs": {"default": {"ipV4Neighbors": []}, "RED": {"ipV4Neighbors": []}}}'
    assert json_rows("arista_eos", "show ip arp", empty) == []
    lldp = '{"lldpNeighbors": {"Ethernet1": {"lldpNeighborInfo": [{"systemName": "x"}]}}}'
    (row,) = json_rows("arista_eos", "show lldp neighbors detail", lldp)
    assert row["neighbor_port_id"] is None and row["capabilities"] is None


def test_saved_with_the_json_next_to_the_text_the_json_wins(tmp_path: Path) -> None:
    root = tmp_path / "lab"
    shutil.copytree(LAB / "text" / "np02", root / "np02")
    for file in (LAB / "json" / "np02").glob("*.json"):
        shutil.copy(file, root / "np02")
    snapshot, report = parse_directory(root)
    assert {fmt for _, _, fmt in report.read} == {"json"}
    assert {d.id: d.os_version for d in snapshot.devices}["np02"] == "4.23.0.1F"
