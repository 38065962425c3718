"""An NX-OS running configuration is a source of the facts show output gives: the device,
interfaces, addresses, VLANs, connected and static routes.

On three real NX-OS 9.2(3) switches (tests/fixtures/real/nxos/configs, from Batfish's lab
validation, beside what the same switches printed) the configuration read alone gives the
interfaces, addresses, admin states and the connected and static routes that show interface
and show ip route vrf all give; where they differ, the tests say why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from network_discovery.model import FactKind, Interface
from network_discovery.parsers import CommandOutput, DeviceFacts, ParseReport, parse_device

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "nxos" / "configs"
CONFIG = "show_running-config.txt"
SHOW = ("show_interface.txt", "show_ip_route_vrf_all.txt", "show_version.txt")
ROUTERS = {
    "D1": CONFIGS / "nxos_static_route" / "D1",
    "nxos1": CONFIGS / "nxos_l3_vlan_no_active_member" / "nxos1",
    "D-NXOS": CONFIGS / "mix_vendor_bgp_vrf" / "D-NXOS",
}
PLATFORM = "cisco_nxos"


def _parse(folder: Path, *names: str, hostname: str = "r1") -> tuple[DeviceFacts, ParseReport]:
    facts, report = parse_device(hostname, PLATFORM, {n: folder / n for n in names})
    assert report.errors == [], report.summary()
    return facts, report


def _text(text: str, hostname: str = "sw1") -> tuple[DeviceFacts, ParseReport]:
    return parse_device(hostname, PLATFORM, {CONFIG: CommandOutput("memory://cfg", text)})


def _addresses(facts: DeviceFacts) -> set[tuple[str, str]]:
    return {(a.interface, a.address) for a in facts.ip_addresses}


def _routes(
    facts: DeviceFacts,
) -> set[tuple[str, str, str, tuple[tuple[str | None, ...], ...], int | None]]:
    """(VRF, prefix, protocol, next hops as (address, interface), distance)."""
    return {
        (
            r.vrf_name,
            r.prefix,
            str(r.protocol),
            tuple((h.address, h.interface) for h in r.next_hops),
            r.distance,
        )
        for r in facts.routes
        if r.protocol in ("connected", "static")
    }


def _iface(facts: DeviceFacts, name: str) -> Interface:
    return next(i for i in facts.interfaces if i.name == name)


# --- the configuration and the show output of the same switch agree ----------------------


@pytest.mark.parametrize("router", sorted(ROUTERS))
def test_the_configuration_and_show_output_of_a_switch_agree(router: str) -> None:
    folder = ROUTERS[router]
    config, report = _parse(folder, CONFIG, hostname="renamed")
    shown, _ = _parse(folder, *SHOW, hostname="renamed")
    assert f"the device calls itself {router!r}" in report.summary()
    assert config.record is not None and shown.record is not None
    assert (config.record.vendor, config.record.platform) == ("Cisco", PLATFORM)
    # NX-OS prints the release in its configuration ("version 9.2(3) Bios:version")
    assert config.record.os_version == shown.record.os_version == "9.2(3)"
    # every interface, Ethernet1/1 to 1/128 printed bare included
    assert {i.name for i in config.interfaces} == {i.name for i in shown.interfaces}
    by_name = {i.name: i for i in shown.interfaces}
    for iface in config.interfaces:
        if router == "nxos1" and iface.name in ("Vlan10", "Vlan2000"):
            continue  # see test_an_svi_whose_vlan_has_no_active_port
        assert iface.admin_status == by_name[iface.name].admin_status, iface.name
    missing = set()
    if router == "nxos1":
        # show interface prints "Description: IBGP connection  Internet Address is
        # 172.16.10.1/24" on one line, and the template reads it all as the description
        missing = {("Vlan2000", "172.16.10.1/24")}
    assert _addresses(config) - _addresses(shown) == missing
    assert _addresses(shown) <= _addresses(config)
    assert {r.origin for r in config.routes} == {"derived"}
    derived, table = _routes(config), _routes(shown)
    if router == "nxos1":
        # the SVIs are up in the configuration, but their VLANs have no port that is up
        # (port-channel1, their only trunk, is shut down): the switch has no connected
        # route for them; the operational state of links is not in a configuration
        assert {(r[1], r[3][0][1]) for r in derived - table} == {
            ("10.10.10.0/24", "Vlan10"),
            ("172.16.10.0/24", "Vlan2000"),
        }
        assert table <= derived
    else:
        assert derived == table


def test_a_static_route_and_the_management_vrf() -> None:
    config, _ = _parse(ROUTERS["D1"], CONFIG)
    static = next(r for r in config.routes if r.protocol == "static")
    assert (static.prefix, static.distance) == ("192.168.123.2/32", 1)
    assert [h.address for h in static.next_hops] == ["10.12.11.2"]
    assert _iface(config, "mgmt0").vrf == "management"  # show interface does not print it
    routed = sorted(i.name for i in config.interfaces if i.mode == "routed")
    assert routed == ["Ethernet1/1", "Ethernet1/11"]
    assert FactKind.ROUTES in config.kinds and FactKind.VLANS in config.kinds


def test_vrf_member_interfaces_and_their_connected_routes() -> None:
    config, _ = _parse(ROUTERS["D-NXOS"], CONFIG)
    assert {(a.interface, a.vrf) for a in config.ip_addresses if a.vrf} == {
        ("Loopback10", "cust10"),
        ("Loopback20", "cust20"),
    }
    assert {r.vrf_name for r in config.routes} == {"default", "cust10", "cust20"}


def test_an_svi_whose_vlan_has_no_active_port() -> None:
    folder = ROUTERS["nxos1"]
    config, _ = _parse(folder, CONFIG)
    shown_text = (folder / "show_interface.txt").read_text()
    assert "Vlan10 is down (VLAN/BD is down)" in shown_text  # not "Administratively down"
    assert "Vlan1 is down (Administratively down)" in shown_text
    # an SVI is down unless "no shutdown": Vlan1 has no line, Vlan10 and Vlan2000 have it
    assert [_iface(config, f"Vlan{n}").admin_status for n in (1, 10, 2000)] == ["down", "up", "up"]
    # the HSRP group's lines under Vlan10 ("ip 10.10.10.3") are not the interface's
    assert _addresses(config) >= {("Vlan10", "10.10.10.1/24")}
    assert ("Vlan10", "10.10.10.3/32") not in _addresses(config)
    channel = _iface(config, "Port-channel1")
    assert (channel.admin_status, channel.mode, channel.trunk_vlans) == (
        "down",
        "trunk",
        (10, 2000),
    )
    members = sorted(i.name for i in config.interfaces if i.lag == "Port-channel1")
    assert members == ["Ethernet1/1", "Ethernet1/2"]
    access = _iface(config, "Ethernet1/3")
    assert (access.admin_status, access.access_vlan) == ("down", 10)
    # "vlan 1,10,2000": one line, three VLANs
    assert sorted(v.vlan for v in config.vlans) == [1, 10, 2000]


SUZIEQ = CONFIGS.parents[1] / "suzieq" / "nxos"
SUZIEQ_SHOW = (
    "show interface brief | json native.txt",
    "show ip interface vrf all | json native.txt",
    "show ip route vrf all | json native.txt",
)


@pytest.mark.parametrize("device", ["spine01", "leaf01", "exit01"])
def test_a_vxlan_fabric_on_nxos_9_3(device: str) -> None:
    # SuzieQ's NX-OS 9.3 lab (vPC, VXLAN EVPN, OSPF underlay): its configurations were saved
    # as "show running-config exclude security" (not read as a command: read here as one)
    folder = SUZIEQ / device
    text = (folder / "show running-config exclude security.txt").read_text()
    config, report = _text(text, hostname=device)
    assert [i.message for i in report.issues if i.line is not None] == []
    shown, _ = _parse(folder, *SUZIEQ_SHOW, hostname=device)
    printed = {i.name: i.admin_status for i in shown.interfaces if i.admin_status}
    assert printed and all(
        i.admin_status == printed[i.name] for i in config.interfaces if i.name in printed
    )
    mine = {(a.interface, a.address, a.vrf) for a in config.ip_addresses}
    theirs = {(a.interface, a.address, a.vrf) for a in shown.ip_addresses}
    # mgmt0 has its address by DHCP ("ip address dhcp"): not in the configuration
    assert {a[0] for a in theirs - mine} == {"mgmt0"}
    # a leaf's Vlan3960 (vPC's backup routing SVI) is configured, and no output lists it
    assert {a[0] for a in mine - theirs} <= {"Vlan3960"}
    routes = {
        (r.vrf_name, r.prefix, str(r.protocol))
        for r in config.routes
        if not r.next_hops or r.next_hops[0].interface != "Vlan3960"
    }
    table = {(r.vrf_name, r.prefix, str(r.protocol)) for r in shown.routes}
    assert routes <= table  # the management VRF's DHCP routes are the table's alone
    assert {r for r in table - routes if r[2] in ("connected", "static")} == {
        ("management", "0.0.0.0/0", "static"),
        ("management", "10.255.2.0/24", "connected"),
    }


# --- the lines NX-OS prints, written here ------------------------------------------------
# Forms the public configurations above do not have, in the layout NX-OS prints them.

SWITCH = """\
!Command: show running-config
!Time: Sun Dec  6 10:00:00 2026

version 9.3(8) Bios:version 05.45
switchname leaf9
feature interface-vlan
feature vrrp

no system default switchport

vlan 1,10-12
vlan 10
  name USERS
vlan 11
  name VOICE

vrf context management
  ip route 0.0.0.0/0 10.0.0.1
vrf context BLUE
  ip route 172.16.0.0/16 192.0.2.1 tag 7
  ip route 172.17.0.0/16 Null0 250
  address-family ipv4 unicast
ip route 10.50.0.0/16 10.1.1.254 name far 20
ip route 10.60.0.0/16 Ethernet1/2 10.1.2.2
ip route 10.70.0.0/16 10.1.1.254 vrf BLUE
ip route 10.80.0.0/16 10.99.99.1
ipv6 route 2001:db8:ff::/48 2001:db8:1::fe

interface Vlan10
  no shutdown
  ip address 10.10.0.1/24
  ip address 10.10.1.1/24 secondary
  vrrp 10
    address 10.10.0.254
    shutdown

interface Vlan11
  ip address 10.11.0.1/24

interface Ethernet1/1
  description uplink
  mtu 9216
  speed 10000
  ip address 10.1.1.1/24
  ipv6 address 2001:db8:1::1/64
  no shutdown

interface Ethernet1/2
  ip address 10.1.2.1/24

interface Ethernet1/3
  switchport
  switchport mode trunk
  switchport trunk native vlan 12
  switchport trunk allowed vlan 10-11
  channel-group 5 mode active

interface Ethernet1/4.100
  encapsulation dot1q 100
  vrf member BLUE
  ip address 192.0.2.2/24
  no shutdown

interface Ethernet1/5
  ip address 10.5.0.1/33
  no shutdown

interface port-channel5
  switchport
  switchport mode trunk

interface loopback0
  ip address 10.255.0.9/32

interface mgmt0
  vrf member management
  ip address 10.0.0.9/24
"""


@pytest.fixture(scope="module")
def switch() -> tuple[DeviceFacts, ParseReport]:
    return _text(SWITCH, hostname="leaf9")


def test_admin_state_defaults_by_kind(switch: tuple[DeviceFacts, ParseReport]) -> None:
    facts, _ = switch
    states = {i.name: i.admin_status for i in facts.interfaces}
    assert states == {
        "Vlan10": "up",  # no shutdown; the VRRP group's own shutdown is not the SVI's
        "Vlan11": "down",  # an SVI is down unless no shutdown
        "Ethernet1/1": "up",
        "Ethernet1/2": "down",  # routed (no system default switchport): down unless said
        "Ethernet1/3": "up",  # a switch port is up
        "Ethernet1/4.100": "up",
        "Ethernet1/5": "up",
        "Port-channel5": "up",
        "Loopback0": "up",
        "mgmt0": "up",
    }
    assert facts.record is not None and facts.record.os_version == "9.3(8)"
    assert _iface(facts, "Ethernet1/2").mode == "routed"  # routed by default here


def test_interfaces_vlans_and_addresses(switch: tuple[DeviceFacts, ParseReport]) -> None:
    facts, _ = switch
    uplink = _iface(facts, "Ethernet1/1")
    assert (uplink.description, uplink.mtu, uplink.speed_mbps) == ("uplink", 9216, 10000)
    trunk = _iface(facts, "Ethernet1/3")
    assert (trunk.mode, trunk.native_vlan, trunk.trunk_vlans, trunk.lag) == (
        "trunk",
        12,
        (10, 11),
        "Port-channel5",
    )
    sub = _iface(facts, "Ethernet1/4.100")
    assert (sub.parent, sub.vrf) == ("Ethernet1/4", "BLUE")
    assert {(v.vlan, v.name) for v in facts.vlans} == {
        (1, None),
        (10, "USERS"),
        (11, "VOICE"),
        (12, None),
    }
    assert _addresses(facts) == {
        ("Vlan10", "10.10.0.1/24"),
        ("Vlan10", "10.10.1.1/24"),
        ("Vlan11", "10.11.0.1/24"),
        ("Ethernet1/1", "10.1.1.1/24"),
        ("Ethernet1/1", "2001:db8:1::1/64"),
        ("Ethernet1/2", "10.1.2.1/24"),
        ("Ethernet1/4.100", "192.0.2.2/24"),
        ("Loopback0", "10.255.0.9/32"),
        ("mgmt0", "10.0.0.9/24"),
    }  # VRRP's virtual address is not the interface's


def test_connected_and_static_routes(switch: tuple[DeviceFacts, ParseReport]) -> None:
    facts, _ = switch
    routes = {(r.vrf_name, r.prefix): r for r in facts.routes}
    connected = sorted(p for (_, p), r in routes.items() if r.protocol == "connected")
    # Vlan11 and Ethernet1/2 are down: no connected route
    assert connected == [
        "10.0.0.0/24",
        "10.1.1.0/24",
        "10.10.0.0/24",
        "10.10.1.0/24",
        "10.255.0.9/32",
        "192.0.2.0/24",
        "2001:db8:1::/64",
    ]
    assert routes[("management", "0.0.0.0/0")].next_hops[0].address == "10.0.0.1"
    blue = routes[("BLUE", "172.16.0.0/16")]
    assert (blue.tag, blue.next_hops[0].address) == ("7", "192.0.2.1")
    assert routes[("BLUE", "172.17.0.0/16")].next_hops == ()  # Null0 drops
    assert routes[("default", "10.50.0.0/16")].distance == 20
    leaked = routes[("default", "10.70.0.0/16")].next_hops[0]
    assert (leaked.address, leaked.vrf) == ("10.1.1.254", "BLUE")
    assert routes[("default", "2001:db8:ff::/48")].next_hops[0].address == "2001:db8:1::fe"
    # out of an interface that is down; to a next hop no connected subnet holds
    assert ("default", "10.60.0.0/16") not in routes
    assert ("default", "10.80.0.0/16") not in routes


def test_an_unreadable_line_is_a_problem_and_the_rest_is_used(
    switch: tuple[DeviceFacts, ParseReport],
) -> None:
    facts, report = switch
    lines = SWITCH.splitlines()
    problems = [(i.line, i.severity) for i in report.issues if i.line is not None]
    assert problems == [(lines.index("  ip address 10.5.0.1/33") + 1, "warning")]
    assert _iface(facts, "Ethernet1/5").admin_status == "up"
    assert report.errors == []
