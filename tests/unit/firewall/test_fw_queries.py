"""The firewall query set on the two-firewall fixture, through the real catalogue and store."""

from __future__ import annotations

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryError
from support.firewall_fixture import Net

FIREWALL = [
    "all_firewall_devices",
    "firewall_rules_by_device",
    "firewall_rules_by_zone_pair",
    "deny_rules_summary",
    "shadowed_rules",
    "filter_line_reachability",
    "path_analysis",
    "route_lookup",
]


def test_every_firewall_query_is_gated_by_firewall_queries() -> None:
    for name in FIREWALL:
        assert REGISTRY[name].feature == "firewall_queries", name
        assert not REGISTRY[name].community and not REGISTRY[name].writes


async def test_all_firewall_devices(net: Net) -> None:
    rows = await net.query("all_firewall_devices")
    assert [
        (
            r["device"],
            r["platform"],
            r["rule_sets"],
            r["rules"],
            r["enabled_rules"],
            r["deny_rules"],
            r["zones"],
        )
        for r in rows
    ] == [
        ("fw1", "cisco_asa", 1, 7, 6, 1, 2),
        ("fw2", "juniper_junos", 1, 7, 7, 3, 2),
    ]


async def test_rules_by_device_in_order_with_binding_zones(net: Net) -> None:
    rows = await net.query("firewall_rules_by_device", device="FW1")
    assert [r["position"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    first = rows[0]
    assert first["rule_set"] == "INSIDE_IN"
    assert first["sources"] == ["10.1.0.0/16"] and first["destinations"] == ["10.3.0.0/24"]
    assert first["services"] == ["tcp dst 443"]
    # an ACL bound in on the inside interface filters traffic from the inside zone
    assert (first["src_zones"], first["dst_zones"]) == (["inside"], [])
    assert rows[5]["enabled"] is False
    assert rows[6]["sources"] == [] and rows[6]["services"] == []  # any
    assert await net.query("firewall_rules_by_device", device="core1") == []


async def test_rules_by_zone_pair(net: Net) -> None:
    rows = await net.query("firewall_rules_by_zone_pair", src_zone="transit", dst_zone="servers")
    assert [(r["device"], r["name"], r["zone_match"]) for r in rows] == [
        ("fw2", "allow-web", "exact"),
        ("fw2", "deny-ssh", "exact"),
        ("fw2", "web-again", "exact"),
        ("fw2", "alt-https-low", "exact"),
        ("fw2", "alt-https-high", "exact"),
        ("fw2", "deny-alt-https", "exact"),
    ]
    rows = await net.query("firewall_rules_by_zone_pair", src_zone="inside", dst_zone="outside")
    assert {r["device"] for r in rows} == {"fw1"} and len(rows) == 7
    assert {r["zone_match"] for r in rows} == {"any"}  # the ACL names no destination zone
    rows = await net.query(
        "firewall_rules_by_zone_pair", src_zone="servers", dst_zone="transit", device="fw2"
    )
    assert [r["name"] for r in rows] == ["deny-servers-out"]


async def test_deny_rules_summary_rows_and_totals(net: Net) -> None:
    rows = await net.query("deny_rules_summary")
    assert [
        (r["hostname"], r["rule_name"], r["action"], r["src_zone"], r["dst_zone"], r["breadth"])
        for r in rows
    ] == [
        ("fw1", "INSIDE_IN line 7", "deny", "inside", "any", "any"),
        ("fw2", "deny-ssh", "deny", "transit", "servers", "wide"),
        ("fw2", "deny-alt-https", "reject", "transit", "servers", "wide"),
        ("fw2", "deny-servers-out", "deny", "servers", "transit", "wide"),
    ]
    fw1, _, reject, out = rows
    assert (fw1["source_any"], fw1["destination_any"], fw1["service_any"]) == (True, True, True)
    assert (fw1["device_deny_rules"], fw1["device_rules"]) == (1, 7)
    assert (out["device_deny_rules"], out["device_rules"]) == (3, 7)
    assert (reject["destination_cidrs"], reject["destination_ipv4_addresses"]) == (1, 256)
    assert (out["source_any"], out["source_ipv4_addresses"]) == (False, 256)
    assert [r["rule_name"] for r in await net.query("deny_rules_summary", device="fw1")] == [
        "INSIDE_IN line 7"
    ]


async def test_shadowed_rules_with_their_covering_rules(net: Net) -> None:
    rows = await net.query("shadowed_rules")
    got = [(r["device"], r["name"], r["kind"], [c["name"] for c in r["covered_by"]]) for r in rows]
    assert got == [
        ("fw1", "INSIDE_IN line 3", "redundant", ["INSIDE_IN line 2"]),
        ("fw2", "web-again", "redundant", ["allow-web"]),
        ("fw2", "deny-alt-https", "conflict", ["alt-https-low", "alt-https-high"]),
    ]
    assert rows[0]["text"].endswith("eq ssh") and rows[0]["position"] == 3
    assert [r["name"] for r in await net.query("shadowed_rules", device="fw2")] == [
        "web-again",
        "deny-alt-https",
    ]


async def test_filter_line_reachability_with_the_smallest_blocking_sets(net: Net) -> None:
    rows = await net.query("filter_line_reachability")
    got = [
        (r["device"], r["filter"], r["position"], r["blocking_positions"], r["different_action"])
        for r in rows
    ]
    assert got == [
        ("fw1", "INSIDE_IN", 3, [2], False),
        ("fw2", "policy", 3, [1], False),
        ("fw2", "policy", 6, [4, 5], True),  # alt-https-low and -high: both needed
    ]
    assert {r["reason"] for r in rows} == {"blocking_lines"}
    first = rows[0]
    assert first["unreachable_line"].endswith("255.255.255.0 eq ssh")
    assert first["blocking_lines"] == [
        "access-list INSIDE_IN extended permit tcp 10.1.0.0 255.255.0.0 10.3.0.0 "
        "255.255.255.0 eq ssh"
    ]
    assert await net.query("filter_line_reachability", device="fw1", filter="nope") == []


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("firewall_rules_by_device", {}, "device"),
        ("firewall_rules_by_device", {"device": "fw1; DROP"}, "device"),
        ("firewall_rules_by_zone_pair", {"src_zone": "inside"}, "dst_zone"),
        ("firewall_rules_by_zone_pair", {"src_zone": "a'b", "dst_zone": "x"}, "src_zone"),
        ("route_lookup", {"device": "r1", "destination": "10.0.0.0/8"}, "destination"),
        ("route_lookup", {"device": "r1", "destination": "10.0.0.1", "vrf": "a b"}, "vrf"),
    ],
)
async def test_bad_parameters(net: Net, name: str, params: dict[str, str], field: str) -> None:
    with pytest.raises(QueryError) as raised:
        await net.query(name, **params)
    assert raised.value.status == 422 and field in raised.value.detail
