"""An EOS running configuration is a source of the facts show output gives: the device,
interfaces, addresses (anycast gateway ones marked virtual), VLANs, connected and static
routes.

On four real vEOS / cEOS switches (tests/fixtures/real/eos/configs, from Batfish's lab
validation; what the same switches printed is in tests/fixtures/real/eos/lab-validation and
beside the cEOS one) the configuration read alone gives the addresses, admin states and the
connected and static routes that show interfaces and show ip route vrf all give; where they
differ, the tests say why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from network_discovery.model import FactKind, Interface
from network_discovery.parsers import CommandOutput, DeviceFacts, ParseReport, parse_device

EOS = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "eos"
CONFIGS = EOS / "configs"
SHOWN = EOS / "lab-validation"
CONFIG = "show_running-config.txt"
PLATFORM = "arista_eos"
#: router -> its configuration's folder, and (folder, files) of what it printed
ROUTERS: dict[str, tuple[Path, list[Path]]] = {
    "np02": (
        CONFIGS / "eos_ospf_bgp" / "np02",
        [
            SHOWN / "text" / "np02" / "show_interfaces.txt",
            SHOWN / "text" / "np02" / "show_ip_route_vrf_all.txt",
            SHOWN / "json" / "np02" / "show_version_|_json.json",
        ],
    ),
    "D-AristaEOS": (
        CONFIGS / "mix_vendor_bgp_vrf" / "D-AristaEOS",
        [
            SHOWN / "text" / "D-AristaEOS" / "show_interfaces.txt",
            SHOWN / "text" / "D-AristaEOS" / "show_ip_route_vrf_all.txt",
            SHOWN / "json" / "D-AristaEOS" / "show_version_|_json.json",
        ],
    ),
    "DC1-LEAF2A": (
        CONFIGS / "eos_evpn_l3_design_guide" / "DC1-LEAF2A",
        [
            SHOWN / "evpn" / "DC1-LEAF2A" / name
            for name in (
                "show_interfaces_|_json.txt",
                "show_ip_route_vrf_all_|_json.txt",
                "show_version_|_json.txt",
            )
        ],
    ),
    "r1": (
        CONFIGS / "eos_switchport_order" / "r1",
        [
            CONFIGS / "eos_switchport_order" / "r1" / name
            for name in (
                "show_interfaces_|_json.txt",
                "show_ip_route_vrf_all_|_json.txt",
                "show_version_|_json.txt",
            )
        ],
    ),
}


def _config(router: str, hostname: str = "renamed") -> tuple[DeviceFacts, ParseReport]:
    folder, _ = ROUTERS[router]
    facts, report = parse_device(hostname, PLATFORM, {CONFIG: folder / CONFIG})
    assert report.errors == [], report.summary()
    return facts, report


def _shown(router: str) -> DeviceFacts:
    _, files = ROUTERS[router]
    facts, report = parse_device("renamed", PLATFORM, {f.name: f for f in files})
    assert report.errors == [], report.summary()
    return facts


def _text(text: str) -> tuple[DeviceFacts, ParseReport]:
    return parse_device("sw1", PLATFORM, {CONFIG: CommandOutput("memory://cfg", text)})


def _addresses(facts: DeviceFacts) -> set[tuple[str, str, bool]]:
    return {(a.interface, a.address, a.virtual) for a in facts.ip_addresses}


def _routes(facts: DeviceFacts) -> dict[tuple[str, str, str], tuple[tuple[str | None, ...], ...]]:
    """(VRF, prefix, protocol) -> next hops: (address, interface) of a connected route, the
    address alone of a static one (EOS prints the interface it resolved the gateway to)."""
    out = {}
    for r in facts.routes:
        if r.protocol not in ("connected", "static") or r.version != 4:
            continue
        hops = tuple(
            (h.address, h.interface) if r.protocol == "connected" else (h.address,)
            for h in r.next_hops
            if r.protocol == "connected" or h.address
        )
        out[(r.vrf_name, r.prefix, str(r.protocol))] = hops
    return out


def _iface(facts: DeviceFacts, name: str) -> Interface:
    return next(i for i in facts.interfaces if i.name == name)


# --- the configuration and the show output of the same switch agree ----------------------


@pytest.mark.parametrize("router", sorted(ROUTERS))
def test_the_configuration_and_show_output_of_a_switch_agree(router: str) -> None:
    config, report = _config(router)
    shown = _shown(router)
    assert f"the device calls itself {router!r}" in report.summary()
    assert config.record is not None and shown.record is not None
    assert (config.record.vendor, config.record.platform) == ("Arista", PLATFORM)
    # the configuration's first comment: "! device: np02 (vEOS, EOS-4.23.0.1F)"
    assert config.record.model == shown.record.model
    assert shown.record.os_version is not None and config.record.os_version is not None
    assert shown.record.os_version.startswith(config.record.os_version)  # cEOS adds a build
    # addresses (show interfaces does not name their VRF; the configuration does)
    assert _addresses(config) == _addresses(shown)
    by_name = {i.name: i for i in shown.interfaces}
    assert {i.name for i in config.interfaces} <= set(by_name)
    for iface in config.interfaces:
        assert iface.admin_status == by_name[iface.name].admin_status == "up", iface.name
    derived, table = _routes(config), _routes(shown)
    if router == "D-AristaEOS":
        # "ip route 172.17.211.0/24 10.10.10.6": 10.10.10.6 is reached over a BGP route, which
        # a configuration does not know; the switch resolved it (via 10.10.30.1)
        assert set(table) - set(derived) == {("default", "172.17.211.0/24", "static")}
        del table[("default", "172.17.211.0/24", "static")]
    assert derived == table
    distances = {(r.vrf_name, r.prefix): r.distance for r in shown.routes if r.protocol == "static"}
    for route in config.routes:  # where the table prints the distance, it is the configured one
        if distances.get((route.vrf_name, route.prefix)) is not None:
            assert route.distance == distances[(route.vrf_name, route.prefix)]


def test_anycast_gateways_vrfs_port_channels_and_vlans() -> None:
    config, _ = _config("DC1-LEAF2A")
    gateways = sorted(a.interface for a in config.ip_addresses if a.virtual)
    assert gateways == [f"Vlan{n}" for n in (110, 111, 120, 121, 130, 131, 140, 141)]
    vrfs = {a.interface: a.vrf for a in config.ip_addresses}
    assert (vrfs["Vlan110"], vrfs["Management1"], vrfs["Loopback0"]) == (
        "Tenant_A_OP_Zone",
        "MGMT",
        None,
    )
    # one /31 in four VRFs: four connected routes
    shared = {r.vrf_name for r in config.routes if r.prefix == "10.255.251.2/31"}
    assert shared == {"default", *(f"Tenant_A_{z}_Zone" for z in ("OP", "WEB", "APP", "DB"))}
    peer = _iface(config, "Port-channel3")
    assert (peer.mode, peer.trunk_vlans) == ("trunk", tuple(range(2, 4095)))
    assert _iface(config, "Port-channel10").access_vlan == 110
    members = sorted(i.name for i in config.interfaces if i.lag == "Port-channel7")
    assert members == ["Ethernet7", "Ethernet8"]
    assert len(config.vlans) == 15
    assert {(v.vlan, v.name) for v in config.vlans} >= {
        (110, "Tenant_A_OP_Zone_1"),
        (4094, "MLAG_PEER"),
    }
    assert FactKind.VLANS in config.kinds


def test_static_route_distances_and_an_ipv6_management_address() -> None:
    config, _ = _config("D-AristaEOS")
    statics = {r.prefix: r for r in config.routes if r.protocol == "static"}
    # of three routes to 172.17.252.0/24 (distances 1, 2 and 4) the first is used
    chosen = statics["172.17.252.0/24"]
    assert (chosen.distance, [h.interface for h in chosen.next_hops]) == (1, ["Ethernet1"])
    assert _iface(config, "Ethernet1").speed_mbps == 100  # "speed 100full"
    ceos, _ = _config("r1")
    assert ("Management0", "3fff:172:20:20::3/64", False) in _addresses(ceos)
    # show ip route prints the IPv4 table only; the configuration's IPv6 subnet is derived
    assert "3fff:172:20:20::/64" in {r.prefix for r in ceos.routes}


# --- lines EOS prints, written here ------------------------------------------------------

SWITCH = """\
! Command: show running-config
! device: leaf7 (DCS-7050SX3-48YC8, EOS-4.28.3M)
!
hostname leaf7
!
vlan 10,20-21
!
vlan 30
   name SERVERS
!
vrf instance BLUE
!
interface Ethernet1
   description uplink
   mtu 9214
   speed forced 10000full
   no switchport
   ip address 10.1.1.1/31
!
interface Ethernet2
   switchport mode trunk
   switchport trunk native vlan 10
   switchport trunk allowed vlan 10,20-21
!
interface Ethernet3
   shutdown
   no switchport
   vrf forwarding BLUE
   ip address 10.3.3.1/24
!
interface Ethernet4
   no switchport
   ip address 10.4.4.1/24
   ip address 10.4.5.1/24 secondary
!
interface Vlan30
   vrf BLUE
   ip address virtual 10.30.0.1/24
!
interface Vlan31
   ip address virtual 10.31.0.1/33
!
ip route 0.0.0.0/0 10.1.1.0
ip route 10.9.0.0/16 10.1.1.0 200
ip route 10.9.0.0/16 10.4.4.254 5
ip route vrf BLUE 0.0.0.0/0 egress-vrf default 10.1.1.0
ip route vrf BLUE 10.40.0.0/16 Ethernet3
ip route 10.50.0.0/16 nexthop-group NHG1
ip route 10.60.0.0/16 Null0 tag 9 name sink
!
ip routing
ip routing vrf BLUE
!
end
"""


@pytest.fixture(scope="module")
def switch() -> tuple[DeviceFacts, ParseReport]:
    return _text(SWITCH)


def test_written_lines(switch: tuple[DeviceFacts, ParseReport]) -> None:
    facts, report = switch
    assert facts.record is not None
    assert (facts.record.model, facts.record.os_version) == ("DCS-7050SX3-48YC8", "4.28.3M")
    uplink = _iface(facts, "Ethernet1")
    assert (uplink.description, uplink.mtu, uplink.speed_mbps, uplink.mode) == (
        "uplink",
        9214,
        10000,
        "routed",
    )
    trunk = _iface(facts, "Ethernet2")
    assert (trunk.native_vlan, trunk.trunk_vlans) == (10, (10, 20, 21))
    assert _iface(facts, "Ethernet3").vrf == "BLUE"  # vrf forwarding, as before EOS 4.23
    assert {(v.vlan, v.name) for v in facts.vlans} == {
        (10, None),
        (20, None),
        (21, None),
        (30, "SERVERS"),
    }
    assert _addresses(facts) == {
        ("Ethernet1", "10.1.1.1/31", False),
        ("Ethernet3", "10.3.3.1/24", False),
        ("Ethernet4", "10.4.4.1/24", False),
        ("Ethernet4", "10.4.5.1/24", False),
        ("Vlan30", "10.30.0.1/24", True),
    }
    routes = {(r.vrf_name, r.prefix, str(r.protocol)): r for r in facts.routes}
    assert ("BLUE", "10.3.3.0/24", "connected") not in routes  # Ethernet3 is shut down
    assert routes[("default", "10.9.0.0/16", "static")].distance == 5
    leaked = routes[("BLUE", "0.0.0.0/0", "static")].next_hops[0]
    assert (leaked.address, leaked.vrf) == ("10.1.1.0", "default")
    assert ("BLUE", "10.40.0.0/16", "static") not in routes  # out of a shut interface
    assert ("default", "10.50.0.0/16", "static") not in routes  # the group's hops are elsewhere
    sink = routes[("default", "10.60.0.0/16", "static")]
    assert (sink.next_hops, sink.tag) == ((), "9")
    lines = SWITCH.splitlines()
    problems = [i.line for i in report.issues if i.line is not None]
    assert problems == [lines.index("   ip address virtual 10.31.0.1/33") + 1]
