"""path_analysis walks every router on a real multi-AS campus (tests/fixtures/real/ios/
example-network: IOS routing tables and configurations as the routers printed them): a BGP
next hop is reached through the IGP, so no router and no ACL on the way is skipped."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from network_discovery.model import Snapshot
from network_discovery.parsers import parse_directory
from support.firewall_fixture import open_net

LAB = Path(__file__).parents[2] / "fixtures" / "real" / "ios" / "example-network"
HOST1 = "2.128.0.101"  # behind as2dept1 Gi2/0


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    parsed, report = parse_directory(LAB)
    assert report.errors == []
    return parsed


@pytest.fixture(scope="module")
async def ask(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    net = await open_net(tmp_path_factory.mktemp("campus"), snapshot)

    async def query(name: str = "path_analysis", **params: Any) -> list[dict[str, Any]]:
        return await net.query(name, **params)

    yield query
    await net.store.close()


def _adjacent_every_hop(snapshot: Snapshot, hops: list[dict[str, Any]]) -> None:
    """Each hop hands the packet to the next over a subnet both are on: the next hop's
    address is the next device's ingress interface address, in the egress interface's subnet."""
    addresses = {(a.device, a.interface): a for a in snapshot.ip_addresses}
    for here, there in itertools.pairwise(hops):
        mine = addresses[(here["device"], here["egress_interface"])]
        theirs = addresses[(there["device"], there["ingress_interface"])]
        # routed: to the next hop's address; connected: straight to the destination's owner
        assert here["next_hop"] in (theirs.ip, None), (here, there)
        network = ipaddress.ip_interface(mine.address).network
        assert ipaddress.ip_address(theirs.ip) in network, (here, there)


async def test_a_bgp_route_is_followed_through_every_igp_router(ask, snapshot) -> None:
    rows = await ask(source=HOST1, destination="3.0.1.2", protocol="tcp", port=80)
    assert {r["verdict"] for r in rows} == {"allowed"}
    paths = sorted([h["device"] for h in r["hops"]] for r in rows)
    assert paths == [
        ["as2dept1", "as2dist1", "as2core1", "as2border2", "as3border1", "as3core1"],
        ["as2dept1", "as2dist2", "as2core1", "as2border2", "as3border1", "as3core1"],
    ]
    for row in rows:
        _adjacent_every_hop(snapshot, row["hops"])
        dist = row["hops"][1]
        # the BGP next hop (AS2-AS3 link) and the adjacent router it is reached through
        assert (dist["resolved_next_hop"], dist["next_hop"]) == ("10.23.21.3", "2.23.11.2") or (
            dist["resolved_next_hop"],
            dist["next_hop"],
        ) == ("10.23.21.3", "2.23.12.2")
        filters = [(f["device"], f["name"], f["action"]) for f in row["firewalls"]]
        assert ("as2core1", "blocktelnet seq 20", "permit") in filters


async def test_telnet_is_denied_by_the_acl_on_the_core_it_crosses(ask, snapshot) -> None:
    rows = await ask(source=HOST1, destination="1.0.1.1", protocol="tcp", port=23)
    assert {r["verdict"] for r in rows} == {"denied"}
    for row in rows:
        assert row["reason"] == "denied by rule 'blocktelnet seq 10' on as2core1"
        assert [h["device"] for h in row["hops"]][-1] == "as2core1"
        _adjacent_every_hop(snapshot, row["hops"])


async def test_a_walk_started_at_a_named_device_and_interface(ask, snapshot) -> None:
    """From as2dist1, the flow arriving on its Gi1/0 (from as2core1's side): only that start."""
    rows = await ask(
        source=HOST1,
        destination="2.128.1.1",
        protocol="tcp",
        port=80,
        start_device="as2dist1",
        start_interface="Gi2/0",
    )
    assert len(rows) == 1 and rows[0]["verdict"] == "allowed"
    first = rows[0]["hops"][0]
    assert (first["device"], first["ingress_interface"], first["reached_by"]) == (
        "as2dist1",
        "GigabitEthernet2/0",
        "start",
    )
    assert rows[0]["source_owner"]["gateways"] == ["as2dist1 GigabitEthernet2/0"]
    _adjacent_every_hop(snapshot, rows[0]["hops"])
    nowhere = await ask(
        source=HOST1, destination="2.128.1.1", protocol="icmp", start_device="as9nowhere"
    )
    assert nowhere[0]["verdict"] == "no_path" and "nothing to start at" in nowhere[0]["reason"]


async def test_start_interface_needs_its_device(ask) -> None:
    from meshq_graph_engine.catalogue import QueryError

    with pytest.raises(QueryError, match="start_device"):
        await ask(source=HOST1, destination="2.128.1.1", protocol="icmp", start_interface="Gi0/0")


def test_a_duplicated_loopback_is_not_a_link() -> None:
    from meshq_graph_engine.firewall.topology import L3Interface, Topology

    topo = Topology(
        [
            L3Interface("r1", "Loopback0", "10.255.0.1", "10.255.0.1/32"),
            L3Interface("r2", "Loopback0", "10.255.0.1", "10.255.0.1/32"),  # the same /32, twice
            L3Interface("r1", "Gi0/0", "10.0.12.1", "10.0.12.0/30"),
            L3Interface("r3", "Gi0/0", "10.0.12.2", "10.0.12.0/30"),
        ]
    )
    assert [n for n, _, _ in topo.adjacent("r1")] == ["r3"]
    assert topo.adjacent("r2") == []


async def test_only_routers_that_filter_packets_are_firewall_devices(ask) -> None:
    """as1border1 and others hold access lists 101-103 that only route-maps and distribute
    lists use; the AS2 edge, core and department routers bind theirs to interfaces."""
    rows = await ask("all_firewall_devices")
    assert [(r["device"], r["packet_filters"]) for r in rows] == [
        ("as2border1", 2),
        ("as2border2", 2),
        ("as2core1", 1),
        ("as2dept1", 1),
    ]


async def test_layer3_edges_of_the_campus(ask, snapshot) -> None:
    """as2dept1's uplinks are /24 segments to the two distribution routers; its loopback
    (2.1.1.2/32) is no segment."""
    rows = await ask("layer3_edges", device="as2dept1")
    edges = {(r["interface"], r["neighbor"], r["neighbor_interface"], r["subnet"]) for r in rows}
    uplinks = {
        ("GigabitEthernet0/0", "as2dist1", "GigabitEthernet2/0", "2.34.101.0/24"),
        ("GigabitEthernet1/0", "as2dist2", "GigabitEthernet2/0", "2.34.201.0/24"),
    }
    assert uplinks <= edges
    # the rest is the lab's shared out-of-band segment on Gi4/0 (192.168.122.0/24)
    assert {e[3] for e in edges - uplinks} == {"192.168.122.0/24"}
    every = await ask("layer3_edges")
    assert all(not r["subnet"].endswith("/32") for r in every)
    # a cable LLDP never saw is still an edge when both ends share a subnet; each one twice
    assert len(every) % 2 == 0 and len(every) >= 2 * 20


async def test_one_filter_one_flow_bound_or_not(ask) -> None:
    """blocktelnet is bound on as2core1; access list 101 on as1border1 only a route-map uses
    ("permit ip host 1.0.1.0 host 255.255.255.0", a prefix written as an extended ACL)."""
    [telnet] = await ask(
        "test_filter",
        device="as2core1",
        filter="blocktelnet",
        source=HOST1,
        destination="1.0.1.1",
        protocol="tcp",
        port=23,
    )
    assert (telnet["verdict"], telnet["position"], telnet["name"]) == (
        "denied",
        1,
        "blocktelnet seq 10",
    )
    assert telnet["text"] == "deny   tcp any any eq telnet" and not telnet["default"]
    [prefix] = await ask(
        "test_filter",
        device="as1border1",
        filter="101",
        source="1.0.1.0",
        destination="255.255.255.0",
        protocol="icmp",
    )
    assert (prefix["verdict"], prefix["default"]) == ("allowed", False)
    [other] = await ask(
        "test_filter",
        device="as1border1",
        filter="101",
        source="1.0.3.0",
        destination="255.255.255.0",
        protocol="icmp",
    )
    assert (other["verdict"], other["default"]) == ("denied", True)  # the implicit deny


async def test_the_printed_tables_win_and_their_disagreements_are_listed(ask) -> None:
    # Each router's table as it printed it is what forwarding uses (see the paths above);
    # the routes its configuration implies, worked out over all thirteen, are kept beside
    # it. They agree everywhere except around as2core2: its OSPF neighbours show every
    # adjacency but the one to as2dist1 (2.23.21.3) stuck in EXSTART (show ip ospf neighbor
    # in the lab), so the printed tables lack the equal-cost paths over its four links that
    # the configurations give.
    [lookup] = await ask("route_lookup", device="as2core2", destination="2.1.1.1")
    assert (lookup["origin"], lookup["next_hop"]) == ("collected", "2.23.21.3")
    rows = await ask("route_disagreements")
    assert rows
    assert {r["device"] for r in rows} <= {
        "as2border1",
        "as2border2",
        "as2core1",
        "as2core2",
        "as2dist1",
        "as2dist2",
    }
    stuck = [
        ipaddress.ip_network(n)
        for n in ("2.12.12.0/24", "2.12.22.0/24", "2.23.21.0/24", "2.23.22.0/24")
    ]
    for row in rows:
        assert row["difference"] == "next_hops", row
        assert row["printed_protocol"] == row["derived_protocol"] == "ospf"
        # the destination lies beyond as2core2 or on its links, or the configurations
        # offer an equal path the router does not take
        assert set(row["derived_next_hops"]) != set(row["printed_next_hops"])
    mine = [r for r in rows if r["device"] == "as2core2"]
    assert mine and all(r["printed_next_hops"] == ["2.23.21.3"] for r in mine)
    assert any(
        ipaddress.ip_address(h) in n for r in mine for h in r["derived_next_hops"] for n in stuck
    )
