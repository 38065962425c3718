"""The campus of tests/fixtures/real/ios/batfish-example-live/network read from its configuration
files alone (configs/, hosts/, iptables/), checked against what a well-known
configuration-analysis tool answers on the same files (peer/, see its PROVENANCE.md):
every route of every node, the layer-3 edges, the traces and the duplicated address."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from network_discovery.model import Snapshot
from network_discovery.parsers import parse_directory
from support.firewall_fixture import open_net

FIXTURE = Path(__file__).parents[2] / "fixtures" / "real" / "ios" / "batfish-example-live"
CAMPUS = FIXTURE / "network"
PEER = FIXTURE / "peer"
#: The peer's protocol names in ours (its OSPF route types are the one protocol here).
PROTOCOLS = {"ospfE2": "ospf", "ospfE1": "ospf", "ospfIA": "ospf", "ibgp": "bgp"}


def _peer(name: str) -> Any:
    return json.loads((PEER / name).read_text())


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    parsed, report = parse_directory(CAMPUS)
    assert report.errors == []
    return parsed


@pytest.fixture(scope="module")
async def ask(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    net = await open_net(tmp_path_factory.mktemp("campus-peer"), snapshot)

    async def query(name: str, **params: Any) -> list[dict[str, Any]]:
        return await net.query(name, **params)

    yield query
    await net.store.close()


def test_every_device_of_the_three_folders(snapshot: Snapshot) -> None:
    platforms = {d.hostname: d.platform for d in snapshot.devices}
    assert len(platforms) == 15
    assert platforms["host1"] == platforms["host2"] == "linux"
    assert {p for h, p in platforms.items() if h.startswith("as")} == {"cisco_ios"}
    host1 = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "host1"}
    assert host1 == {("eth0", "2.128.0.101/24")}
    chains = {r.name for r in snapshot.firewall_rulesets if r.device == "host1"}
    assert {"INPUT", "OUTPUT"} <= chains


def _table(rows: list[tuple[str, str, str, int, frozenset[str]]]) -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {}
    hops: dict[tuple[str, str], set[str]] = defaultdict(set)
    for node, network, protocol, metric, hop in rows:
        table[(node, network)] = (protocol, metric)
        hops[(node, network)] |= hop
    return {k: (*v, frozenset(hops[k])) for k, v in table.items()}


def test_every_route_of_every_node_matches_the_peer(snapshot: Snapshot) -> None:
    theirs = []
    for r in _peer("routes.json"):
        if r["protocol"] == "local":  # the /32 of each interface address: not modelled
            continue
        protocol = PROTOCOLS.get(r["protocol"], r["protocol"])
        if r["discard"]:
            hop = "discard"
        elif r["protocol"] == "connected":
            hop = r["next_hop_interface"]
        else:
            hop = r["next_hop_ip"]
        theirs.append((r["node"], r["network"], protocol, r["metric"], frozenset({hop})))
    ours = []
    for route in snapshot.routes:
        assert route.origin == "derived"
        hops = frozenset(h.address or h.interface or "" for h in route.next_hops)
        metric = route.metric or 0
        ours.append((route.device, route.prefix, str(route.protocol), metric, hops or {"discard"}))
    expected, got = _table(theirs), _table(ours)  # type: ignore[arg-type]
    assert len(expected) == 227
    assert got == expected


async def test_layer3_edges_match_the_peer(ask) -> None:
    theirs = {
        frozenset({(e["node1"], e["interface1"]), (e["node2"], e["interface2"])})
        for e in _peer("layer3_edges.json")
    }
    rows = await ask("layer3_edges")
    ours = {
        frozenset({(r["device"], r["interface"]), (r["neighbor"], r["neighbor_interface"])})
        for r in rows
    }
    assert ours == theirs


async def test_the_cabling_file_gives_the_links(ask) -> None:
    # network/batfish/layer1_topology.json: the campus's cabling, 40 edges (each cable
    # listed from both ends); every layer-3 edge runs over one of its cables
    rows = await ask("topology_edges")
    assert len(rows) == 20
    assert {r["evidence"] for r in rows} == {"layer1_declared"}
    cables = {
        frozenset({(r["a_device"], r["a_interface"]), (r["b_device"], r["b_interface"])})
        for r in rows
    }
    for edge in _peer("layer3_edges.json"):
        assert (
            frozenset({(edge["node1"], edge["interface1"]), (edge["node2"], edge["interface2"])})
            in cables
        )


async def test_the_duplicated_loopback_is_reported(ask) -> None:
    theirs = {
        (ip, frozenset((h["hostname"], h["interface"]) for h in holders))
        for ip, holders in _peer("duplicate_ips.json").items()
    }
    rows = await ask("duplicate_ip_addresses")
    holders: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in rows:  # one row per holder
        holders[row["ip"]].add((row["device"], row["interface"]))
    assert {(ip, frozenset(h)) for ip, h in holders.items()} == theirs


@pytest.mark.parametrize(
    ("start", "source", "destination", "verdict"),
    [
        ("as1core1", "1.0.2.3", "2.128.0.101", "denied"),
        ("as1core1", "1.0.1.3", "2.128.0.101", "denied"),
        (None, "2.128.1.101", "1.0.1.1", "allowed"),
    ],
)
async def test_traces_match_the_peer(ask, start, source, destination, verdict) -> None:
    disposition = {"denied": "DENIED_IN", "allowed": "ACCEPTED"}[verdict]
    theirs = {
        tuple(t["hops"])
        for t in _peer("traces.json")
        if t["src"] == source and t["dst"] == destination
    }
    assert theirs and all(
        t["disposition"] == disposition
        for t in _peer("traces.json")
        if t["src"] == source and t["dst"] == destination
    )
    params: dict[str, Any] = {"source": source, "destination": destination, "protocol": "udp"}
    params["port"] = 33434
    if start:
        params["start_device"] = start
    rows = await ask("path_analysis", **params)
    assert {r["verdict"] for r in rows} == {verdict}
    ours = [tuple(h["device"] for h in r["hops"]) for r in rows]
    assert sorted(ours) == sorted(theirs)  # one branch per path, as many as the peer's


async def test_unreachable_filter_lines_match_the_peer(ask) -> None:
    # RESTRICT_HOST_TRAFFIC_OUT is bound nowhere; its second line is still unreachable
    theirs = {
        (
            r["Sources"][0],
            r["Unreachable_Line"],
            r["Unreachable_Line_Action"].lower(),
            tuple(r["Blocking_Lines"]),
            r["Different_Action"],
        )
        for r in _peer("filter_line_reachability.json")
    }
    rows = await ask("filter_line_reachability")
    ours = {
        (
            f"{r['device']}: {r['filter']}",
            r["unreachable_line"],
            r["action"],
            tuple(r["blocking_lines"]),
            r["different_action"],
        )
        for r in rows
    }
    assert {(s, line, "deny" if a == "deny" else a, b, d) for s, line, a, b, d in theirs} == ours


async def test_single_filter_tests_on_the_hosts_match_the_peer(ask) -> None:
    for case in _peer("test_filters.json"):
        chain = case["filter"].removeprefix("filter::")
        [row] = await ask(
            "test_filter",
            device=case["node"],
            filter=chain,
            source=case["src"],
            destination=case["dst"],
            protocol=case["protocol"],
            port=case["dst_port"],
        )
        expected = "allowed" if case["action"] == "PERMIT" else "denied"
        assert (row["verdict"], row["default"]) == (expected, case["line"] == "default"), case


async def test_a_trace_reads_like_a_traceroute(ask) -> None:
    rows = await ask(
        "traceroute", source="2.128.1.101", destination="1.0.1.1", protocol="udp", port=33434
    )
    paths: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        paths[row["path"]].append(row)
    assert len(paths) == 4
    for hops in paths.values():
        assert [h["hop"] for h in hops] == list(range(1, 7))
        assert [h["action"] for h in hops] == ["forwarded"] * 5 + ["delivered"]
        first = hops[0]
        assert (first["device"], first["route"]) == ("host2", "0.0.0.0/0 (static, derived)")
        assert first["filters"] == ["OUTPUT default: permit"]
        dept = hops[1]
        assert dept["filters"] == [
            "RESTRICT_HOST_TRAFFIC_IN line 1 (permit ip 2.128.0.0 0.0.255.255 any): permit"
        ]
        assert hops[-1]["reason"] == "delivered to the destination's owner"


async def test_many_flows_one_verdict_each(ask) -> None:
    common = {"source": "1.0.2.3", "destination": "2.128.0.101", "start_device": "as1core1"}
    rows = await ask(
        "path_analysis_bulk",
        flows=[
            {**common, "protocol": "udp", "port": 33434},
            {**common, "protocol": "udp", "port": 53},
            {**common, "protocol": "tcp", "port": 22},
            {"source": "2.128.0.101", "destination": "1.0.1.1", "protocol": "tcp", "port": 23},
            {"source": "2.128.1.101", "destination": "2.128.0.101", "protocol": "tcp", "port": 22},
        ],
    )
    assert [(r["flow"], r["verdict"]) for r in rows] == [
        (1, "denied"),  # host1 accepts only udp/53 and tcp/22
        (2, "allowed"),
        (3, "allowed"),
        (4, "denied"),  # blocktelnet on the cores
        (5, "denied"),  # host2's OUTPUT drops what it sends to host1
    ]
    assert rows[0]["deciding_rules"][-1] == "host1: INPUT default"
    assert rows[4]["deciding_rules"] == ["host2: OUTPUT line 1"]
