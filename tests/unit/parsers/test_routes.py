"""Routing tables per platform: show ip route (IOS, NX-OS, EOS, every VRF) and Junos show route."""

from __future__ import annotations

from pathlib import Path

import pytest
from network_discovery.model import FactKind, Route
from network_discovery.parsers import find_command
from network_discovery.parsers._device import parse_device

ROUTES = Path(__file__).resolve().parents[2] / "fixtures" / "routes"


def _routes(platform: str, **files: str) -> dict[tuple[str, str], Route]:
    facts, report = parse_device("r1", platform, {k: ROUTES / v for k, v in files.items()})
    assert report.ok, report.summary()
    assert FactKind.ROUTES in facts.kinds
    return {(r.vrf_name, r.prefix): r for r in facts.routes}


def _hops(route: Route) -> list[tuple[str | None, str | None]]:
    return [(h.address, h.interface) for h in route.next_hops]


def test_ios_global_table_with_inherited_masks_and_ecmp() -> None:
    routes = _routes("cisco_ios", **{"show_ip_route.txt": "cisco_ios_show_ip_route.txt"})
    ecmp = routes[("default", "1.1.1.1/32")]  # mask from the "is subnetted" line
    assert (ecmp.protocol, ecmp.distance, ecmp.metric) == ("static", 1, 0)
    assert _hops(ecmp) == [("212.0.0.1", None), ("192.168.0.1", None)]
    assert routes[("default", "4.4.0.0/16")].protocol == "ospf"
    assert routes[("default", "5.5.5.0/24")].protocol == "eigrp"
    assert routes[("default", "172.16.1.0/26")].protocol == "isis"
    connected = routes[("default", "10.0.1.0/24")]
    assert connected.protocol == "connected" and _hops(connected) == [(None, "Serial0/0")]
    assert _hops(routes[("default", "2.2.2.0/24")]) == [(None, "FastEthernet0/0.100")]


def test_ios_vrf_table() -> None:
    routes = _routes(
        "cisco_ios", **{"show_ip_route_vrf_all.txt": "cisco_ios_show_ip_route_vrf.txt"}
    )
    assert {vrf for vrf, _ in routes} == {"TRI"}
    default = routes[("TRI", "0.0.0.0/0")]
    assert (default.protocol, default.distance, _hops(default)) == (
        "bgp",
        200,
        [("10.10.254.3", None)],
    )
    assert routes[("TRI", "10.10.0.0/18")].next_hops == ()  # Null0: a discard route
    assert routes[("TRI", "10.10.5.1/32")].protocol == "local"
    leaked = routes[("TRI", "10.20.0.0/16")].next_hops[0]
    assert (leaked.address, leaked.vrf) == ("10.10.254.10", "AMB")
    assert _hops(routes[("TRI", "10.12.1.0/27")]) == [
        ("192.168.12.5", None),
        ("192.168.12.1", None),
    ]
    assert routes[("TRI", "50.1.1.1/32")].protocol == "connected"


def test_nxos_every_vrf() -> None:
    routes = _routes(
        "cisco_nxos", **{"show_ip_route_vrf_all.txt": "cisco_nxos_show_ip_route_vrf_all.txt"}
    )
    ospf = routes[("default", "2.2.2.2/32")]
    assert (ospf.protocol, ospf.distance, ospf.metric) == ("ospf", 110, 3)
    assert _hops(ospf) == [("10.10.30.2", "Ethernet2/2"), ("10.10.40.2", "Ethernet2/4")]
    mgmt = routes[("default", "0.0.0.0/0")].next_hops[0]
    assert (mgmt.address, mgmt.vrf) == ("10.1.100.1", "management")
    connected = routes[("default", "10.10.10.0/24")]
    assert connected.protocol == "connected" and _hops(connected) == [(None, "Vlan5")]
    assert routes[("default", "10.71.0.0/21")].next_hops == ()  # via Null0
    assert routes[("default", "10.0.255.1/32")].protocol == "eigrp"
    assert len(routes[("default", "10.0.255.1/32")].next_hops) == 3


def test_eos_every_vrf() -> None:
    routes = _routes(
        "arista_eos", **{"show_ip_route_vrf_all.txt": "arista_eos_show_ip_route_vrf_all.txt"}
    )
    assert {vrf for vrf, _ in routes} == {"default", "RED"}
    ebgp = routes[("RED", "10.1.31.100/32")]
    assert (ebgp.protocol, ebgp.distance) == ("bgp", 200)
    assert _hops(ebgp) == [("192.168.17.5", "Ethernet18")]
    loop = routes[("default", "10.1.31.102/32")]
    assert loop.protocol == "connected" and _hops(loop) == [(None, "Loopback100")]


def test_junos_show_route() -> None:
    routes = _routes("juniper_junos", **{"show_route.txt": "juniper_junos_show_route.txt"})
    default = routes[("default", "0.0.0.0/0")]  # the active static, not the BGP backup
    assert (default.protocol, default.distance) == ("static", 5)
    assert _hops(default) == [("203.0.113.1", "ge-0/0/0")]
    ospf = routes[("default", "10.20.0.0/16")]
    assert (ospf.protocol, ospf.distance, ospf.metric) == ("ospf", 10, 20)
    assert _hops(ospf) == [("10.0.0.1", "ge-0/0/1"), ("10.0.0.5", "ge-0/0/2")]
    assert _hops(routes[("default", "10.0.0.0/30")]) == [(None, "ge-0/0/1")]
    assert routes[("default", "10.0.0.2/32")].protocol == "local"
    assert routes[("default", "10.99.0.0/16")].next_hops == ()  # discard
    assert routes[("default", "192.0.2.0/24")].next_hops == ()  # reject
    assert ("default", "172.16.0.0/12") not in routes  # inactive
    assert ("default", "224.0.0.5/32") not in routes  # multicast receive
    assert ("default", "10.255.0.1/32") not in routes  # inet.3
    vrf = routes[("CUST-A", "10.60.0.0/16")]
    assert _hops(vrf) == [("10.50.0.254", "ge-0/0/3.100")]
    v6 = routes[("default", "2001:db8:ffff:ffff:ffff:ffff:ffff:0/112")]
    assert v6.protocol == "ospf" and v6.version == 6
    assert routes[("default", "::/0")].next_hops[0].address == "2001:db8::1"


def test_both_files_merge_into_one_table() -> None:
    routes = _routes(
        "cisco_nxos",
        **{
            "show_ip_route.txt": "cisco_nxos_show_ip_route_vrf_all.txt",
            "show_ip_route_vrf_all.txt": "cisco_nxos_show_ip_route_vrf_all.txt",
        },
    )
    assert len(routes[("default", "2.2.2.2/32")].next_hops) == 2  # not doubled


@pytest.mark.parametrize(
    ("platform", "stem"),
    [
        ("cisco_ios", "show_ip_route"),
        ("cisco_ios", "show_ip_route_vrf_all"),
        ("cisco_ios", "show_ip_route_vrf_*"),
        ("cisco_nxos", "show_ip_route_vrf_all"),
        ("arista_eos", "show_ip_route_vrf_all"),
        ("juniper_junos", "show_route"),
    ],
)
def test_route_file_names(platform: str, stem: str) -> None:
    assert find_command(platform, stem).kinds == (FactKind.ROUTES,)
