"""Firewall policy and routes through the graph engine into an embedded LadybugDB."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meshq_graph_engine.diff import diff, read_projection
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import FirewallRule, Route, Service, Snapshot
from network_discovery.parsers import parse_directory

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "snapshots" / "firewall_policy.json"


def _data() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


async def test_policy_and_routes_are_projected_and_reingest_is_a_noop(
    engine: GraphEngine,
) -> None:
    snapshot = Snapshot.model_validate(_data())
    first = await engine.apply_snapshot(snapshot)
    assert first.added == {
        "devices": 2,
        "interfaces": 4,
        "ip_addresses": 2,
        "subnets": 2,
        "firewall_zones": 4,
        "firewall_rulesets": 2,
        "firewall_rules": 4,
        "firewall_objects": 2,
        "routes": 4,
    }
    again = await engine.apply_snapshot(snapshot)
    assert again.empty and again.added == again.removed == again.updated == {}

    rules = await engine.store.execute(
        "MATCH (d:Device)-[:HAS_RULESET]->(s:FirewallRuleset)-[:HAS_RULE]->(r:FirewallRule) "
        "WHERE d.id = $device RETURN r.position AS position, r.action AS action, "
        "r.services AS services, r.destinations AS destinations, r.hit_count AS hits, "
        "r.src_zones AS src_zones, s.default_action AS fallback ORDER BY position",
        {"device": "edge-fw1"},
    )
    assert rules == [
        {
            "position": 1,
            "action": "permit",
            "services": ["tcp dst 80", "tcp dst 443"],
            "destinations": ["198.51.100.10/31"],
            "hits": 1204,
            "src_zones": ["outside"],
            "fallback": "deny",
        },
        {
            "position": 2,
            "action": "deny",
            "services": [],
            "destinations": [],
            "hits": None,
            "src_zones": ["outside"],
            "fallback": "deny",
        },
    ]
    # Every rule is reachable from its device directly, and services parse back.
    rows = await engine.store.execute(
        "MATCH (d:Device)-[:HAS_FIREWALL_RULE]->(r:FirewallRule) RETURN r.id AS id, "
        "r.services AS services, r.enabled AS enabled"
    )
    assert len(rows) == 4
    disabled = [r for r in rows if not r["enabled"]]
    assert [r["id"] for r in disabled] == ["dc-srx1|rule|security-policies|2"]
    for row in rows:
        assert [str(Service.parse(t)) for t in row["services"]] == row["services"]


async def test_zones_bindings_objects_and_routes_in_the_graph(engine: GraphEngine) -> None:
    await engine.apply_snapshot(Snapshot.model_validate(_data()))
    zones = await engine.store.execute(
        "MATCH (i:Interface)-[:IN_ZONE]->(z:FirewallZone)<-[:HAS_ZONE]-(d:Device) "
        "RETURN d.id AS device, z.name AS zone, i.name AS interface ORDER BY device, zone"
    )
    assert zones == [
        {"device": "dc-srx1", "zone": "trust", "interface": "ge-0/0/1"},
        {"device": "dc-srx1", "zone": "untrust", "interface": "ge-0/0/0"},
        {"device": "edge-fw1", "zone": "inside", "interface": "GigabitEthernet0/1"},
        {"device": "edge-fw1", "zone": "outside", "interface": "GigabitEthernet0/0"},
    ]
    bound = await engine.store.execute(
        "MATCH (s:FirewallRuleset)-[a:APPLIED_TO]->(i:Interface) "
        "RETURN s.id AS ruleset, a.direction AS direction, i.id AS interface"
    )
    assert bound == [
        {
            "ruleset": "edge-fw1|ruleset|OUTSIDE_IN",
            "direction": "in",
            "interface": "edge-fw1|GigabitEthernet0/0",
        }
    ]
    sets = await writer.read_nodes(engine.store, "FirewallRuleset")
    assert sets["dc-srx1|ruleset|security-policies"]["bindings"] == ["transit"]
    assert sets["edge-fw1|ruleset|OUTSIDE_IN"]["bindings"] == ["in GigabitEthernet0/0"]
    objects = await writer.read_nodes(engine.store, "FirewallObject")
    assert objects["edge-fw1|object|service|WEB-PORTS"]["services"] == ["tcp dst 80", "tcp dst 443"]

    routes = await engine.store.execute(
        "MATCH (d:Device)-[:HAS_ROUTE]->(r:Route) WHERE d.id = $device "
        "RETURN r.prefix AS prefix, r.vrf AS vrf, r.protocol AS protocol, "
        "r.next_hops AS next_hops, r.interfaces AS interfaces, r.prefix_length AS length "
        "ORDER BY prefix",
        {"device": "dc-srx1"},
    )
    assert routes == [
        {
            "prefix": "10.20.0.0/16",
            "vrf": None,
            "protocol": "ospf",
            "next_hops": ["10.0.0.5", "10.0.0.9"],
            "interfaces": ["ge-0/0/1", "ge-0/0/1"],
            "length": 16,
        },
        {
            "prefix": "2001:db8:99::/48",
            "vrf": "dmz",
            "protocol": "static",
            "next_hops": [],
            "interfaces": [],
            "length": 48,
        },
    ]
    models = engine.facts.models_of_kind("firewall:rules", FirewallRule)
    assert len(models) == 4
    assert len(engine.facts.models_of_kind("routes", Route)) == 4


async def test_a_policy_change_is_exactly_the_diff(engine: GraphEngine) -> None:
    await engine.apply_snapshot(Snapshot.model_validate(_data()))
    data = _data()
    data["snapshot_id"] = "fw-policy-2"
    data["firewall_rules"] = data["firewall_rules"][:3]
    data["firewall_rules"][2]["action"] = "deny"
    data["routes"] = data["routes"][1:]
    result = await engine.apply_snapshot(Snapshot.model_validate(data))
    assert result.removed == {"firewall_rules": 1, "routes": 1}
    assert result.updated == {"firewall_rules": 1}
    rows = await engine.store.execute(
        "MATCH (r:FirewallRule) WHERE r.device = 'dc-srx1' RETURN r.action AS action"
    )
    assert rows == [{"action": "deny"}]


async def test_a_snapshot_without_the_firewall_kind_leaves_policy_alone(
    engine: GraphEngine,
) -> None:
    await engine.apply_snapshot(Snapshot.model_validate(_data()))
    data = _data()
    data["snapshot_id"] = "interfaces-only"
    data["scope"] = [{"device": "dc-srx1", "facts": ["interfaces"]}]
    data = {k: v for k, v in data.items() if not k.startswith("firewall") and k != "routes"}
    data["devices"] = data["ip_addresses"] = []
    data["interfaces"] = [i for i in data["interfaces"] if i["device"] == "dc-srx1"]
    result = await engine.apply_snapshot(Snapshot.model_validate(data))
    assert result.empty
    assert len(await writer.read_nodes(engine.store, "FirewallRule")) == 4

    # Declaring the kind with no facts removes the device's whole policy, and only its.
    data["snapshot_id"] = "srx-policy-gone"
    data["scope"] = [{"device": "dc-srx1", "facts": ["firewall"]}]
    data["interfaces"] = []
    result = await engine.apply_snapshot(Snapshot.model_validate(data))
    assert result.removed == {
        "firewall_zones": 2,
        "firewall_rulesets": 1,
        "firewall_rules": 2,
    }
    left = await writer.read_nodes(engine.store, "FirewallRule")
    assert all(r["device"] == "edge-fw1" for r in left.values())


async def test_restart_reloads_policy_without_repairs(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    eng = GraphEngine(store)
    await eng.start()
    await eng.apply_snapshot(Snapshot.model_validate(_data()))
    before = eng.projection
    await store.close()

    store = EmbeddedStore(tmp_path / "graph" / "db")
    eng = GraphEngine(store)
    await eng.start()
    try:
        assert eng.projection.nodes["FirewallRule"] == before.nodes["FirewallRule"]
        assert eng.projection.nodes["Route"] == before.nodes["Route"]
        assert diff(await read_projection(store), eng.projection).writes() == 0
    finally:
        await store.close()


async def test_the_parsed_firewall_lab_applies_and_reapplies_as_nothing(
    engine: GraphEngine,
) -> None:
    lab = Path(__file__).resolve().parents[2] / "fixtures" / "firewall" / "lab"
    snapshot, report = parse_directory(lab, snapshot_id="fw-lab")
    assert report.ok
    first = await engine.apply_snapshot(snapshot)
    # 66, and lnx-fw1's nat-table MASQUERADE line since every iptables table is read
    assert first.added["firewall_rules"] == len(snapshot.firewall_rules) == 67
    assert first.added["firewall_rulesets"] == len(snapshot.firewall_rulesets)
    assert (await engine.apply_snapshot(snapshot)).empty
    bound = await engine.store.execute(
        "MATCH (s:FirewallRuleset)-[a:APPLIED_TO]->(i:Interface)<-[:HAS_INTERFACE]-(d:Device) "
        "WHERE d.id = 'hq-fw1' RETURN s.name AS acl, i.name AS interface ORDER BY acl"
    )
    assert bound == [
        {"acl": "DMZ_IN", "interface": "GigabitEthernet1/3"},
        {"acl": "INSIDE_IN", "interface": "GigabitEthernet1/2"},
        {"acl": "OUTSIDE_IN", "interface": "GigabitEthernet1/1"},
    ]
