"""path_analysis and route_lookup on the two-firewall fixture (tests/fixtures/firewall):
allowed by both, denied by the second (naming the rule), no route, a loop, an ECMP fork with
a branch crossing a device without routes, a VRF, IPv6 and the default action."""

from __future__ import annotations

from typing import Any

import pytest
from meshq_graph_engine.catalogue import QueryError
from support.firewall_fixture import Net


def path(rows: list[dict[str, Any]], n: int = 1) -> list[str]:
    return [h["device"] for h in rows[n - 1]["hops"]]


def deciders(row: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["device"], f["name"], f["action"]) for f in row["firewalls"]]


async def test_allowed_by_both_firewalls_over_both_ecmp_branches(net: Net) -> None:
    rows = await net.query(
        "path_analysis", source="10.1.0.10", destination="10.3.0.10", protocol="tcp", port=443
    )
    assert [r["verdict"] for r in rows] == ["allowed", "allowed"]
    assert [r["branch_verdict"] for r in rows] == ["allowed", "allowed"]
    assert path(rows, 1) == ["r1", "fw1", "core1", "spine-a", "fw2"]
    assert path(rows, 2) == ["r1", "fw1", "core1", "spine-b", "fw2"]
    for row in rows:
        assert deciders(row) == [
            ("fw1", "INSIDE_IN line 1", "permit"),
            ("fw2", "allow-web", "permit"),
        ]
    first = rows[0]
    assert first["source_owner"]["kind"] == "endpoint"
    assert first["source_owner"]["gateways"] == ["r1 GigabitEthernet0/0"]
    r1, fw1, core1, spine_a, fw2 = first["hops"]
    assert (r1["reached_by"], r1["method"], r1["route"]["prefix"]) == (
        "gateway",
        "route",
        "0.0.0.0/0",
    )
    assert (r1["next_hop"], r1["egress_interface"]) == ("10.0.12.2", "GigabitEthernet0/1")
    assert (fw1["ingress_interface"], fw1["ingress_zone"]) == ("GigabitEthernet0/0", "inside")
    assert (fw1["egress_interface"], fw1["egress_zone"]) == ("GigabitEthernet0/1", "outside")
    assert fw1["decisions"][0]["text"].startswith("access-list INSIDE_IN extended permit tcp")
    assert fw1["decisions"][0]["position"] == 1
    assert core1["route"]["prefix"] == "10.3.0.0/24" and core1["next_hop"] == "10.0.34.2"
    assert spine_a["method"] == "route"
    assert (fw2["method"], fw2["ingress_zone"], fw2["egress_zone"]) == (
        "connected",
        "transit",
        "servers",
    )
    # the second branch crosses spine-b, which has no routing table: shared subnets
    spine_b = rows[1]["hops"][3]
    assert (spine_b["method"], spine_b["next_hop"]) == ("shared_subnet", "10.0.56.2")
    assert rows[1]["hops"][4]["ingress_interface"] == "ge-0/0/2"


async def test_denied_by_the_second_firewall_names_the_rule(net: Net) -> None:
    rows = await net.query(
        "path_analysis", source="10.1.0.10", destination="10.3.0.10", protocol="tcp", port=22
    )
    assert {r["verdict"] for r in rows} == {"denied"}
    for row in rows:
        assert row["branch_verdict"] == "denied"
        assert deciders(row) == [("fw1", "INSIDE_IN line 2", "permit"), ("fw2", "deny-ssh", "deny")]
        assert row["reason"] == "denied by rule 'deny-ssh' on fw2"
        last = row["firewalls"][-1]
        assert (last["position"], last["rule_set"], last["verdict"]) == (2, "policy", "denied")
        assert "deny-ssh then deny" in last["text"]


async def test_denied_by_the_first_firewall_stops_there(net: Net) -> None:
    rows = await net.query(
        "path_analysis", source="10.1.0.10", destination="10.3.0.10", protocol="udp", port=53
    )
    assert len(rows) == 1 and rows[0]["verdict"] == "denied"
    assert path(rows) == ["r1", "fw1"]  # the disabled udp/53 permit (line 6) is skipped
    assert deciders(rows[0]) == [("fw1", "INSIDE_IN line 7", "deny")]


async def test_the_default_action_decides_when_no_rule_matches(net: Net) -> None:
    rows = await net.query(
        "path_analysis",
        source="2001:db8:1::10",
        destination="2001:db8:3::20",
        protocol="tcp",
        port=443,
    )
    assert rows[0]["verdict"] == "denied"
    fw2 = rows[0]["firewalls"][-1]
    assert (fw2["device"], fw2["name"], fw2["position"], fw2["action"]) == (
        "fw2",
        "(default)",
        None,
        "deny",
    )


async def test_ipv6_path(net: Net) -> None:
    rows = await net.query(
        "path_analysis",
        source="2001:db8:1::10",
        destination="2001:db8:3::10",
        protocol="tcp",
        port=443,
    )
    assert [r["verdict"] for r in rows] == ["allowed"]
    assert path(rows) == ["r1", "fw1", "core1", "spine-a", "fw2"]
    assert deciders(rows[0]) == [
        ("fw1", "INSIDE_IN line 5", "permit"),
        ("fw2", "allow-web", "permit"),
    ]


async def test_no_route(net: Net) -> None:
    rows = await net.query(
        "path_analysis", source="10.1.0.10", destination="10.9.0.5", protocol="tcp", port=443
    )
    assert [r["verdict"] for r in rows] == ["no_path"]
    assert rows[0]["reason"] == "no route to 10.9.0.5 in VRF default on core1"
    assert path(rows) == ["r1", "fw1", "core1"]


async def test_routing_loop_is_caught(net: Net) -> None:
    rows = await net.query(
        "path_analysis", source="10.1.0.10", destination="10.8.0.5", protocol="icmp"
    )
    assert rows[0]["verdict"] == "no_path"
    assert rows[0]["reason"] == "routing loop: back at core1 (default)"
    assert path(rows) == ["r1", "fw1", "core1", "spine-a"]


async def test_vrf_is_respected(net: Net) -> None:
    # the guest VRF on r1 has only its connected subnet: no way to the servers
    rows = await net.query(
        "path_analysis", source="192.168.50.10", destination="10.3.0.10", protocol="tcp", port=443
    )
    assert rows[0]["verdict"] == "no_path"
    assert rows[0]["reason"] == "no route to 10.3.0.10 in VRF guest on r1"
    owner = rows[0]["source_owner"]
    assert (owner["kind"], owner["device"]) == ("unknown", None)
    assert owner["gateways"] == ["r1 GigabitEthernet0/2"]
    assert rows[0]["hops"][0]["vrf"] == "guest"


async def test_a_source_nobody_owns(net: Net) -> None:
    rows = await net.query(
        "path_analysis", source="172.16.0.1", destination="10.3.0.10", protocol="tcp", port=443
    )
    assert rows[0]["verdict"] == "no_path" and rows[0]["hops"] == []
    assert "172.16.0.1" in rows[0]["reason"]


async def test_route_lookup_longest_prefix_ecmp_and_vrf(net: Net) -> None:
    rows = await net.query("route_lookup", device="core1", destination="10.3.0.77")
    assert [(r["prefix"], r["next_hop"], r["interface"], r["next_hop_device"]) for r in rows] == [
        ("10.3.0.0/24", "10.0.34.2", "Ethernet2", "spine-a"),
        ("10.3.0.0/24", "10.0.35.2", "Ethernet3", "spine-b"),
    ]
    assert {r["ecmp"] for r in rows} == {2}
    rows = await net.query("route_lookup", device="r1", destination="10.3.0.10")
    assert [(r["prefix"], r["next_hop_device"]) for r in rows] == [("0.0.0.0/0", "fw1")]
    rows = await net.query("route_lookup", device="r1", destination="10.1.0.99")
    assert [(r["prefix"], r["protocol"], r["interface"]) for r in rows] == [
        ("10.1.0.0/24", "connected", "GigabitEthernet0/0")
    ]
    assert await net.query("route_lookup", device="r1", destination="10.3.0.10", vrf="guest") == []
    rows = await net.query("route_lookup", device="r1", destination="192.168.50.9", vrf="guest")
    assert [(r["prefix"], r["vrf"]) for r in rows] == [("192.168.50.0/24", "guest")]
    rows = await net.query("route_lookup", device="fw1", destination="2001:db8:1::5")
    assert [(r["prefix"], r["next_hop_device"]) for r in rows] == [("2001:db8:1::/48", "r1")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"source": "10.1.0.10", "destination": "10.3.0.10", "protocol": "tcp"}, "port"),
        (
            {"source": "10.1.0.10", "destination": "10.3.0.10", "protocol": "icmp", "port": 1},
            "port",
        ),
        ({"source": "10.1.0.10", "destination": "10.3.0.10", "protocol": "any"}, "protocol"),
        (
            {"source": "10.1.0.0/24", "destination": "10.3.0.10", "protocol": "udp", "port": 53},
            "source",
        ),
        (
            {"source": "10.1.0.10", "destination": "10.3.0.10", "protocol": "tcp", "port": 70000},
            "port",
        ),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    net: Net, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(QueryError) as raised:
        await net.query("path_analysis", **params)
    assert raised.value.status == 422
    assert field in raised.value.detail
