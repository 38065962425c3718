"""The demo network's routing tables and firewall policies answer path questions: the flows
docs/firewall-ingest.md lists, through the real graph engine and path_analysis."""

from __future__ import annotations

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from network_discovery.demo import load_snapshot

FLOWS = [
    # source, destination, protocol, port, verdict, deciding (device, rule) or reason
    ("10.1.10.50", "10.110.0.80", "tcp", 443, "allowed", ("fw-dc-01", "campus-to-web")),
    ("10.1.40.25", "10.110.0.80", "tcp", 22, "allowed", ("fw-dc-01", "admin-ssh")),
    ("10.1.20.30", "93.184.216.34", "tcp", 443, "allowed", ("fw-edge-01", "allow-web-out")),
    ("10.2.10.40", "8.8.8.8", "udp", 53, "allowed", ("fw-edge-01", "allow-dns-out")),
    ("10.1.10.50", "10.130.0.20", "tcp", 5432, "denied", ("fw-dc-01", "campus-to-db-deny")),
    ("10.1.10.50", "10.110.0.80", "tcp", 22, "denied", ("fw-dc-01", "(default)")),
    ("10.1.10.50", "10.110.0.80", "tcp", 23, "denied", ("fw-dc-01", "(default)")),
    ("10.2.10.40", "203.0.113.200", "tcp", 445, "denied", ("fw-edge-01", "block-smb-out")),
    ("10.1.10.50", "10.140.0.5", "tcp", 443, "no_path", None),
]


@pytest.fixture
async def demo(engine: GraphEngine) -> QueryContext:
    await engine.apply_snapshot(load_snapshot())
    return QueryContext(engine.store, engine)


async def test_documented_flows(demo: QueryContext) -> None:
    for source, destination, protocol, port, verdict, decider in FLOWS:
        params = {"source": source, "destination": destination, "protocol": protocol, "port": port}
        rows = (await run_query(REGISTRY, "path_analysis", params, demo)).rows
        assert rows and {r["verdict"] for r in rows} == {verdict}, (params, rows[:1])
        if decider is None:
            assert all("discards" in r["reason"] for r in rows)
            continue
        deciders = {(f["device"], f["name"]) for r in rows for f in r["firewalls"]}
        assert deciders == {decider}, params
    # two distribution switches, two cores each, then a firewall with two next hops
    params = {"source": "10.1.10.50", "destination": "10.110.0.80", "protocol": "tcp", "port": 443}
    assert len((await run_query(REGISTRY, "path_analysis", params, demo)).rows) == 8


async def test_the_guest_https_rule_is_shadowed(demo: QueryContext) -> None:
    rows = (await run_query(REGISTRY, "shadowed_rules", {"device": "fw-edge-01"}, demo)).rows
    assert [(r["name"], r["kind"]) for r in rows] == [("allow-https-guest", "redundant")]
    assert [c["name"] for c in rows[0]["covered_by"]] == ["allow-web-out"]
