"""path_analysis on the real example network (tests/fixtures/real/ios/example-network) read
from the routers' running configurations alone: no show output at all.

The configurations give the interfaces, their addresses, the ACLs, the routes a
configuration decides by itself (connected subnets, static routes) and, worked out over all
thirteen together, the routes OSPF and BGP install (see network_discovery.derive.routing).
The host-to-AS3 flow that test_fw_recursive_paths follows over the routers' printed tables
is followed here over the derived ones.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from network_discovery.model import FactKind, Snapshot
from network_discovery.parsers import parse_directory
from support.firewall_fixture import open_net

LAB = Path(__file__).parents[2] / "fixtures" / "real" / "ios" / "example-network"
CONFIG = "show running-config.txt"
HOST1 = "2.128.0.101"  # behind as2dept1 Gi2/0 (2.128.0.1/24)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    root = tmp_path_factory.mktemp("config-only")
    for router in (d for d in LAB.iterdir() if d.is_dir()):
        (root / router.name).mkdir()
        for name in ("meta.yaml", CONFIG):
            shutil.copy(router / name, root / router.name / name)
    parsed, report = parse_directory(root)
    assert report.errors == []
    return parsed


@pytest.fixture(scope="module")
async def ask(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    net = await open_net(tmp_path_factory.mktemp("campus-config"), snapshot)

    async def query(name: str = "path_analysis", **params: Any) -> list[dict[str, Any]]:
        return await net.query(name, **params)

    yield query
    await net.store.close()


def test_the_configurations_alone_give_interfaces_addresses_and_routes(snapshot) -> None:
    assert len(snapshot.devices) == 13
    for entry in snapshot.scope:
        assert {FactKind.INTERFACES, FactKind.IP_ADDRESSES, FactKind.ROUTES} <= set(entry.facts)
    dept = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "as2dept1"}
    assert {("GigabitEthernet2/0", "2.128.0.1/24"), ("GigabitEthernet3/0", "2.128.1.1/24")} <= dept
    assert {r.origin for r in snapshot.routes} == {"derived"}
    assert {r.protocol for r in snapshot.routes} == {
        "connected",
        "static",
        "ospf",
        "bgp",
        "aggregate",
    }


async def test_a_host_reaches_the_other_subnet_of_its_router(ask) -> None:
    # as2dept1 Gi2/0 applies RESTRICT_HOST_TRAFFIC_IN inbound; its first line permits
    # 2.128.0.0/16 to anywhere, and 2.128.1.0/24 is connected on Gi3/0
    for port in (80, 23):
        rows = await ask(source=HOST1, destination="2.128.1.50", protocol="tcp", port=port)
        assert {r["verdict"] for r in rows} == {"allowed"}
        (row,) = rows
        (hop,) = row["hops"]
        assert (hop["device"], hop["method"], hop["egress_interface"]) == (
            "as2dept1",
            "connected",
            "GigabitEthernet3/0",
        )
        decisions = [(f["device"], f["name"], f["action"]) for f in row["firewalls"]]
        assert ("as2dept1", "RESTRICT_HOST_TRAFFIC_IN seq 10", "permit") in decisions


async def test_telnet_into_the_core_from_a_distribution_router_is_denied(ask) -> None:
    # as2core1 applies blocktelnet inbound on Gi2/0, its link to as2dist1 (2.23.11.0/24):
    # "10 deny tcp any any eq telnet", "20 permit ip any any". 2.12.11.0/24 is connected on
    # its Gi0/0, where as2border1 holds 2.12.11.1 (no ACL on that interface).
    flow = {
        "source": "2.23.11.3",  # as2dist1 Gi0/0
        "destination": "2.12.11.1",
        "protocol": "tcp",
        "start_device": "as2core1",
        "start_interface": "GigabitEthernet2/0",
    }
    denied = await ask(**flow, port=23)
    assert {r["verdict"] for r in denied} == {"denied"}
    assert [r["reason"] for r in denied] == ["denied by rule 'blocktelnet seq 10' on as2core1"]
    allowed = await ask(**flow, port=80)
    assert {r["verdict"] for r in allowed} == {"allowed"}
    (row,) = allowed
    assert [h["device"] for h in row["hops"]] == ["as2core1", "as2border1"]
    assert ("as2core1", "blocktelnet seq 20", "permit") in [
        (f["device"], f["name"], f["action"]) for f in row["firewalls"]
    ]


async def test_a_static_route_is_followed_to_the_next_router(ask) -> None:
    # as1core1: "ip route 192.168.123.7 255.255.255.255 192.168.122.5"; 192.168.122.5 is
    # as2dept1 Gi4/0 on the shared 192.168.122.0/24, and 192.168.123.7 its Loopback123
    rows = await ask(source="192.168.123.1", destination="192.168.123.7", protocol="icmp")
    assert {r["verdict"] for r in rows} == {"allowed"}
    (row,) = rows
    first, last = row["hops"]
    assert (first["device"], first["method"], first["next_hop"]) == (
        "as1core1",
        "route",
        "192.168.122.5",
    )
    assert first["route"]["protocol"] == "static"
    assert (last["device"], last["ingress_interface"]) == ("as2dept1", "GigabitEthernet4/0")


async def test_what_ospf_and_bgp_carry_is_followed_on_configuration_alone(ask) -> None:
    # host1 to AS3: as2dept1 learns 3.0.1.0/24 over eBGP from both distribution routers
    # (maximum-paths 5); they hold it over iBGP with next hop 10.23.21.3 (as3border1's end of
    # the AS2-AS3 link), which OSPF reaches (redistributed connected, E2) through either core
    # router at equal cost. as2core1 forwards it on to as2border2. as2core2 does not: its
    # iBGP peer group applies "route-map filter-bogons in", a route map this configuration
    # never defines, and IOS denies every route through an undefined route map (the
    # lab-validation snapshot iosxe_undefined_route_map shows it on a real router), so
    # as2core2 holds no route to AS3 and the packets the distribution routers send it are
    # dropped there. (The routers' printed tables, test_fw_recursive_paths, show only
    # as2core1: as2core2's OSPF adjacencies were stuck in EXSTART when they were printed.)
    rows = await ask(source=HOST1, destination="3.0.1.2", protocol="tcp", port=80)
    verdicts = {
        tuple(h["device"] for h in r["hops"]): (r["branch_verdict"], r["reason"]) for r in rows
    }
    through_core1 = ("allowed", "delivered to the destination's owner")
    dropped = ("no_path", "no route to 3.0.1.2 in VRF default on as2core2")
    assert verdicts == {
        ("as2dept1", "as2dist1", "as2core1", "as2border2", "as3border1", "as3core1"): through_core1,
        ("as2dept1", "as2dist2", "as2core1", "as2border2", "as3border1", "as3core1"): through_core1,
        ("as2dept1", "as2dist1", "as2core2"): dropped,
        ("as2dept1", "as2dist2", "as2core2"): dropped,
    }
    for row in rows:
        dist = row["hops"][1]
        assert dist["resolved_next_hop"] == "10.23.21.3"
        assert dist["route"]["protocol"] == "bgp"


async def test_telnet_to_as1_goes_nowhere(ask) -> None:
    # through as2core1, its blocktelnet ACL denies it; through as2core2 (no ACL in this
    # configuration), there is no route to AS1 (the undefined route map, above)
    rows = await ask(source=HOST1, destination="1.0.1.1", protocol="tcp", port=23)
    assert rows and {r["verdict"] for r in rows} == {"denied"}
    assert {r["reason"] for r in rows} == {
        "denied by rule 'blocktelnet seq 10' on as2core1",
        "no route to 1.0.1.1 in VRF default on as2core2",
    }


async def test_routes_worked_out_from_a_configuration_say_so(ask) -> None:
    [row] = await ask("route_lookup", device="as1core1", destination="192.168.123.7")
    assert (row["prefix"], row["protocol"], row["origin"]) == (
        "192.168.123.7/32",
        "static",
        "derived",
    )
