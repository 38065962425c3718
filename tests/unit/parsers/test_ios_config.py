"""An IOS / IOS-XE running configuration is a source of the facts show output gives: the
device, interfaces, addresses, VLANs, connected and static routes (beside its ACLs).

Configurations and show output are two sources of the same facts, and they agree: on real
routers (tests/fixtures/real/ios/example-network, 13 IOS 15.2 routers; tests/fixtures/real/
ios/configs, IOS 15.2 and IOS-XE 16.4 with VRFs and a port channel), the configuration read
alone gives what show interfaces / show version / show ip route give for the same router.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from network_discovery.model import FactKind, Interface
from network_discovery.parsers import CommandOutput, DeviceFacts, ParseReport, parse_device
from network_discovery.parsers._configs import ios_config
from network_discovery.parsers._context import DeviceContext

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "ios"
LAB = REAL / "example-network"
CONFIGS = REAL / "configs"
CONFIG = "show running-config.txt"
ROUTERS = sorted(d.name for d in LAB.iterdir() if d.is_dir())
SHOW = ("show_interfaces.txt", "show_version.txt")


def _parse(folder: Path, *names: str, hostname: str = "r1") -> tuple[DeviceFacts, ParseReport]:
    facts, report = parse_device(hostname, "cisco_ios", {n: folder / n for n in names})
    assert report.errors == [], report.summary()
    return facts, report


def _addresses(facts: DeviceFacts) -> set[tuple[str, str]]:
    return {(a.interface, a.address) for a in facts.ip_addresses}


def _routes(facts: DeviceFacts, protocols: tuple[str, ...] = ("connected", "static")) -> set:
    """(VRF, prefix, protocol, next hops as (address, interface))."""
    return {
        (
            r.vrf_name,
            r.prefix,
            str(r.protocol),
            tuple((h.address, h.interface) for h in r.next_hops),
        )
        for r in facts.routes
        if r.protocol in protocols
    }


def _called(report: ParseReport) -> list[str]:
    return [i.message for i in report.issues if "calls itself" in i.message]


# --- configurations and show output of the same routers agree --------------------------


@pytest.mark.parametrize("router", ROUTERS)
def test_the_configuration_and_show_output_of_a_router_agree(router: str) -> None:
    folder = LAB / router
    # read under another name, so that each source says which hostname the router has
    config, config_report = _parse(folder, CONFIG, hostname="renamed")
    shown, shown_report = _parse(folder, *SHOW, hostname="renamed")
    assert _called(config_report) == _called(shown_report)
    assert f"the device calls itself {router!r}" in _called(config_report)[0]
    assert _addresses(config) == _addresses(shown)
    by_name = {i.name: i for i in shown.interfaces}
    assert {i.name for i in config.interfaces} == set(by_name)
    for iface in config.interfaces:
        shown_iface = by_name[iface.name]
        assert iface.admin_status == shown_iface.admin_status, iface.name
        for name in ("mtu", "speed_mbps", "description"):
            if getattr(iface, name) is not None:  # configured: what the port reports
                assert getattr(iface, name) == getattr(shown_iface, name), (iface.name, name)
    table, _ = _parse(folder, "show_ip_route.txt")
    derived = _routes(config)
    assert derived and derived <= _routes(table)
    # every interface of these routers is up: the table holds no other connected or
    # static route than those the configuration decides
    assert derived == _routes(table)
    assert {r.origin for r in config.routes} == {"derived"}
    assert {r.origin for r in table.routes} == {"collected"}


def test_show_version_names_the_release_and_the_configuration_the_train() -> None:
    folder = LAB / "as2dept1"
    alone, report = _parse(folder, CONFIG)
    assert alone.record is not None
    assert (alone.record.vendor, alone.record.platform) == ("Cisco", "cisco_ios")
    assert alone.record.os_version is None  # "version 15.2" is the train, not the release
    assert report.devices[0].identified
    both, _ = _parse(folder, CONFIG, "show_version.txt")
    assert both.record is not None and both.record.os_version == "15.2(4)S5"


def test_a_routing_table_the_device_printed_wins_over_the_configuration() -> None:
    folder = LAB / "as1core1"  # ten static routes and a BGP-learned table
    config, _ = _parse(folder, CONFIG)
    table, _ = _parse(folder, "show_ip_route.txt")
    both, _ = _parse(folder, CONFIG, "show_ip_route.txt")
    assert len(_routes(config, ("static",))) == 10
    # the printed routes are all there; the configuration's are kept beside them, marked
    # derived (forwarding uses the printed table; route_disagreements compares the two)
    printed = [r for r in both.routes if r.origin == "collected"]
    assert sorted(r.id for r in printed) == sorted(r.id for r in table.routes)
    derived = {r.id for r in both.routes if r.origin == "derived"}
    assert derived == {r.id for r in config.routes}
    assert all(i.endswith("|derived") for i in derived)
    # the rest of the configuration is still used
    assert _addresses(both) == _addresses(config)
    assert FactKind.FIREWALL in both.kinds


def test_a_vrf_table_printed_alone_also_wins() -> None:
    # only "show ip route vrf *": the printed routes are vrf_100's; the configuration's
    # routes (global ones too) stay marked derived, which forwarding does not use for a
    # device with a printed table
    folder = CONFIGS / "iosxe1"
    both, _ = _parse(folder, CONFIG, "show_ip_route_vrf_all.txt")
    assert {r.vrf_name for r in both.routes if r.origin == "collected"} == {"vrf_100"}
    assert {r.origin for r in both.routes if r.vrf_name == "default"} == {"derived"}


# --- VRFs and port channels (IOS-XE 16.4), ip vrf forwarding (IOS 15.2) ------------------


def test_iosxe_vrfs_and_a_port_channel_agree_with_the_show_output() -> None:
    folder = CONFIGS / "iosxe1"
    config, _ = _parse(folder, CONFIG)
    shown, _ = _parse(folder, *SHOW, "show_ip_route.txt", "show_ip_route_vrf_all.txt")
    assert _addresses(config) == _addresses(shown)
    vrfs = {(a.interface, a.vrf) for a in config.ip_addresses if a.vrf}
    # show interfaces does not print the VRF; the configuration does
    assert vrfs == {("GigabitEthernet4", "vrf_100"), ("Loopback44", "vrf_100")}
    assert _routes(config) == _routes(shown)  # the global table and vrf_100's
    ifaces = {i.name: i for i in config.interfaces}
    assert ifaces["GigabitEthernet4"].vrf == "vrf_100"
    assert [n for n, i in ifaces.items() if i.lag] == ["GigabitEthernet2", "GigabitEthernet3"]
    assert {i.lag for i in ifaces.values() if i.lag} == {"Port-channel23"}
    down = sorted(n for n, i in ifaces.items() if i.admin_status == "down")
    assert down == [f"GigabitEthernet{n}" for n in range(5, 10)]
    assert down == sorted(i.name for i in shown.interfaces if i.admin_status == "down")


def test_ios_ip_vrf_forwarding_agrees_with_the_vrf_tables() -> None:
    config, _ = _parse(CONFIGS / "d-ios", CONFIG)
    shown_folder = REAL / "lab-validation" / "d-ios"
    tables = ("show_ip_route.txt", "show_ip_route_vrf_cust10.txt", "show_ip_route_vrf_cust20.txt")
    shown, _ = _parse(shown_folder, *SHOW, *tables)
    assert {(a.interface, a.vrf) for a in config.ip_addresses if a.vrf} == {
        ("Loopback10", "cust10"),
        ("Loopback20", "cust20"),
    }
    assert _addresses(config) == _addresses(shown)
    assert _routes(config) == _routes(shown)
    assert {r.vrf_name for r in config.routes} == {"default", "cust10", "cust20"}
    gig = next(i for i in config.interfaces if i.name == "GigabitEthernet0/0")
    assert (gig.speed_mbps, gig.admin_status) == (1000, "down")


def test_sub_interfaces_in_a_vrf_from_a_provider_edge() -> None:
    text = (
        CONFIGS / "ntc-subinterfaces" / "cisco_ios_show_running-config_interface.raw"
    ).read_text()
    partials, problems = ios_config(text, DeviceContext("pe1", "cisco_ios"))
    ifaces = {p.key: p.value for p in partials if p.kind is FactKind.INTERFACES}
    assert len(ifaces) == 6
    assert {v["parent"] for v in ifaces.values()} == {"GigabitEthernet2/0/4"}
    assert {v["vrf"] for v in ifaces.values()} == {"CLIENT_VOIP:1234"}  # both syntaxes
    dual = ifaces["GigabitEthernet2/0/4.223478"]
    assert (dual["mtu"], dual["description"]) == (9096, "TEST PASS| 100M")
    addresses = [p.value for p in partials if p.kind is FactKind.IP_ADDRESSES]
    assert len(addresses) == 6 and {a.vrf for a in addresses} == {"CLIENT_VOIP:1234"}
    # the one unreadable line, as printed, is reported with its number; the ACL parser's
    # warnings about lists the excerpt does not hold are kept
    ipv6 = [(n, m) for n, m in problems if "IPv6" in m]
    assert ipv6 == [(60, ipv6[0][1])] and "FE80:A8::2DA::1689/126" in ipv6[0][1]
    assert len(problems) == 5 and [n for n, _ in problems] == sorted(n for n, _ in problems)


# --- switchport, VLANs, secondary addresses and static route forms ----------------------
# No public configuration with these, under a licence that allows copying it, was found:
# the lines below are written here, in the form IOS prints them.

SWITCH = """\
Building configuration...

Current configuration : 2048 bytes
!
version 15.2
hostname access1
!
banner motd ^C
interface Vlan999
 ip address 10.99.99.1 255.255.255.0
^C
vlan 10
 name USERS
!
vlan 20
 name VOICE
!
vlan 30-32
!
vlan internal allocation policy ascending
spanning-tree mode rapid-pvst
!
interface Port-channel1
 description uplink to dist1
 switchport trunk native vlan 99
 switchport trunk allowed vlan 10,20,30-32
 switchport trunk allowed vlan add 99
 switchport mode trunk
!
interface GigabitEthernet1/0/1
 description desk 1
 switchport access vlan 10
 switchport mode access
 switchport voice vlan 20
 spanning-tree portfast
!
interface GigabitEthernet1/0/2
 switchport mode trunk
 channel-group 1 mode active
!
interface GigabitEthernet1/0/3
 no switchport
 ip unnumbered Loopback0
!
interface GigabitEthernet1/0/4
 no ip address
 shutdown
!
interface Loopback0
 ip address 10.255.0.1 255.255.255.255
!
interface Vlan10
 ip address 10.10.0.1 255.255.255.0
 ip address 10.10.1.1 255.255.255.0 secondary
 ipv6 address 2001:DB8:10::1/64
 ipv6 address FE80::1 link-local
!
interface Vlan20
 ip address 10.20.0.1 255.0.255.0
 shutdown
!
ip route 0.0.0.0 0.0.0.0 10.10.0.254
ip route 0.0.0.0 0.0.0.0 10.10.0.253 250
ip route 192.0.2.0 255.255.255.0 Null0 name blackhole tag 66
ip route vrf MGMT 0.0.0.0 0.0.0.0 GigabitEthernet0/0 192.168.0.1 permanent
ip route vrf MGMT 10.0.0.0 255.0.0.0 10.10.0.254 global
ip route 203.0.113.1 255.255.255.0 10.10.0.254
ip route 10.50.0.0 255.255.0.0 Vlan20
ip route vrf LAB 0.0.0.0 0.0.0.0 172.31.0.1
ip route vrf LAB 0.0.0.0 0.0.0.0 Null0 254
ip route vrf LAB 172.16.0.0 255.255.0.0 172.31.0.1
ipv6 route ::/0 2001:DB8:10::FE
!
end
"""


@pytest.fixture(scope="module")
def switch() -> tuple[DeviceFacts, ParseReport]:
    return parse_device("access1", "cisco_ios", {CONFIG: CommandOutput("memory://cfg", SWITCH)})


def _iface(facts: DeviceFacts, name: str) -> Interface:
    return next(i for i in facts.interfaces if i.name == name)


def test_switchport_vlans_and_port_channel_members(switch: Any) -> None:
    facts, _ = switch
    assert {(v.vlan, v.name) for v in facts.vlans} == {
        (10, "USERS"),
        (20, "VOICE"),
        (30, None),
        (31, None),
        (32, None),
    }  # a banner's lines are not configuration: no Vlan999
    assert FactKind.VLANS in facts.kinds
    uplink = _iface(facts, "Port-channel1")
    assert (uplink.mode, uplink.native_vlan, uplink.trunk_vlans) == (
        "trunk",
        99,
        (10, 20, 30, 31, 32, 99),
    )
    assert uplink.description == "uplink to dist1"
    desk = _iface(facts, "GigabitEthernet1/0/1")
    assert (desk.mode, desk.access_vlan, desk.voice_vlan) == ("access", 10, 20)
    member = _iface(facts, "GigabitEthernet1/0/2")
    assert (member.mode, member.lag, member.trunk_vlans) == ("trunk", "Port-channel1", ())
    assert _iface(facts, "GigabitEthernet1/0/3").mode == "routed"
    assert _iface(facts, "GigabitEthernet1/0/4").admin_status == "down"
    assert _iface(facts, "Vlan10").admin_status == "up"
    assert "Vlan999" not in {i.name for i in facts.interfaces}


def test_primary_secondary_and_ipv6_addresses(switch: Any) -> None:
    facts, _ = switch
    assert _addresses(facts) == {
        ("Loopback0", "10.255.0.1/32"),
        ("Vlan10", "10.10.0.1/24"),
        ("Vlan10", "10.10.1.1/24"),
        ("Vlan10", "2001:db8:10::1/64"),
    }  # ip unnumbered, no ip address and a link-local address give none


def test_connected_and_static_routes(switch: Any) -> None:
    facts, _ = switch
    routes = {(r.vrf_name, r.prefix): r for r in facts.routes}
    connected = sorted(p for (_, p), r in routes.items() if r.protocol == "connected")
    # Vlan20 is shut down (and its address unreadable): no connected route
    assert connected == ["10.10.0.0/24", "10.10.1.0/24", "10.255.0.1/32", "2001:db8:10::/64"]
    assert routes[("default", "10.10.1.0/24")].next_hops[0].interface == "Vlan10"
    default = routes[("default", "0.0.0.0/0")]  # the floating route (distance 250) is a backup
    assert (default.distance, [h.address for h in default.next_hops]) == (1, ["10.10.0.254"])
    discard = routes[("default", "192.0.2.0/24")]
    assert (discard.next_hops, discard.tag) == ((), "66")
    mgmt = routes[("MGMT", "0.0.0.0/0")].next_hops[0]
    assert (mgmt.address, mgmt.interface) == ("192.168.0.1", "GigabitEthernet0/0")
    leaked = routes[("MGMT", "10.0.0.0/8")].next_hops[0]
    assert (leaked.address, leaked.vrf) == ("10.10.0.254", "default")
    assert routes[("default", "::/0")].next_hops[0].address == "2001:db8:10::fe"
    # a route the device cannot use is not in its table: out of a shut interface, or to a
    # next hop no connected subnet (nor another usable route) holds; the floating route
    # then stands in, and a discard route resolves nothing
    assert ("default", "10.50.0.0/16") not in routes
    assert ("LAB", "172.16.0.0/16") not in routes
    floating = routes[("LAB", "0.0.0.0/0")]
    assert (floating.next_hops, floating.distance) == ((), 254)
    assert {r.origin for r in facts.routes} == {"derived"}


def test_unreadable_lines_are_reported_and_unknown_ones_are_not(switch: Any) -> None:
    _, report = switch
    lines = SWITCH.splitlines()
    problems = [(i.line, i.message) for i in report.issues if i.line is not None]
    assert [line for line, _ in problems] == [
        lines.index(" ip address 10.20.0.1 255.0.255.0") + 1,
        lines.index("ip route 203.0.113.1 255.255.255.0 10.10.0.254") + 1,
    ]
    assert all(i.severity == "warning" for i in report.issues)


@pytest.mark.parametrize(
    ("lines", "allowed"),
    [
        (["switchport trunk allowed vlan add 10"], ()),  # added to all: still all
        (["switchport trunk allowed vlan none", "switchport trunk allowed vlan add 5-6"], (5, 6)),
        (
            ["switchport trunk allowed vlan 1-10", "switchport trunk allowed vlan remove 2-9"],
            (1, 10),
        ),
        (["switchport trunk allowed vlan except 2-4094"], (1,)),
    ],
)
def test_trunk_allowed_vlan_forms(lines: list[str], allowed: tuple[int, ...]) -> None:
    text = "interface Gi0/1\n switchport mode trunk\n" + "".join(f" {x}\n" for x in lines)
    facts, report = parse_device("sw", "cisco_ios", {CONFIG: CommandOutput("memory://c", text)})
    assert report.issues == [] or all(i.line is None for i in report.issues)
    assert _iface(facts, "GigabitEthernet0/1").trunk_vlans == allowed


def test_a_configuration_without_vlan_blocks_claims_no_vlans() -> None:
    # a switch in VTP server or client mode keeps its VLANs out of the configuration
    facts, _ = _parse(LAB / "as2dept1", CONFIG)
    assert FactKind.VLANS not in facts.kinds
