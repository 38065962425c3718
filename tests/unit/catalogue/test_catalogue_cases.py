"""Every catalogue query against the fixture network, on every reachable store.

The expected rows are literal data in ``tests/fixtures/graph/expected/<query>.yaml``; each
store must return exactly those rows, so LadybugDB and Memgraph agree row for row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import GraphHolder, load_cases
from jsonschema import Draft202012Validator
from meshq_graph_engine.catalogue import REGISTRY, QueryError, describe, run_query
from support.mcp_guide import GUIDE_TOOLS

CASES = load_cases()
#: The guide's categories (all built now) and the queries beyond its table.
#: (the Alerts queries are the alerts service's, not graph-engine's: tests/integration/alerts;
#: the Synthetic ones the prober's: tests/integration/prober)
SERVED_ELSEWHERE = {"Alerts", "Synthetic"}
NAMES = {
    **{
        category: names
        for category, names in GUIDE_TOOLS.items()
        if category not in SERVED_ELSEWHERE
    },
    "NetBox": {"netbox_inventory", "netbox_drift"},
    "Routing tables": {"route_lookup", "layer3_edges", "route_disagreements"},
    "Firewall hygiene": {"shadowed_rules", "test_filter", "filter_line_reachability"},
    "Paths": {"traceroute", "path_analysis_bulk"},
}
# beyond the guide's table, in its category
NAMES["InfiniBand / GPU"] = NAMES["InfiniBand / GPU"] | {"blast_radius_fabric"}
NAMES["Kubernetes"] = NAMES["Kubernetes"] | {"meshq_k8s_blast_radius"}
FEATURES = {
    "Routing": "bgp_intelligence",
    "NetBox": "netbox_sync",
    "Routing tables": "firewall_queries",
    "Firewall": "firewall_queries",
    "Firewall hygiene": "firewall_queries",
    "Paths": "firewall_queries",
    "InfiniBand / GPU": "nccl_visualization",
    "NCCL / Training": "nccl_visualization",
    "Metrics": "server_metrics",
    "Flows": "flow_analytics",
    "Compliance": "compliance_reporting",
    "Vulnerabilities": "vulnerability_correlation",
    "Kubernetes": "k8s_observability",
}
COMMUNITY = {*NAMES["Topology"], "all_devices", "summary_stats"}


def _case_ids() -> list[Any]:
    return [
        pytest.param(query, case, id=f"{query}[{case['name']}]")
        for query, cases in sorted(CASES.items())
        for case in cases
    ]


@pytest.mark.parametrize(("query", "case"), _case_ids())
async def test_case(graphs: GraphHolder, query: str, case: dict[str, Any]) -> None:
    graph = await graphs.get()
    if REGISTRY[query].writes:
        graphs.dirty = True
    if "error" in case:
        with pytest.raises(QueryError) as raised:
            await run_query(REGISTRY, query, case["params"], graph.ctx)
        assert raised.value.status == case["error"], raised.value.detail
        return
    result = await run_query(REGISTRY, query, case["params"], graph.ctx)
    assert result.rows == case["rows"], f"{graphs.kind}: {query} {case['params']}"


def test_the_registry_holds_exactly_the_catalogue() -> None:
    assert sorted(REGISTRY) == sorted(n for names in NAMES.values() for n in names)
    for category, names in NAMES.items():
        for name in names:
            query = REGISTRY[name]
            assert query.category == category, name
            expected = FEATURES.get(category, "api_access")
            if name == "update_device_metadata":
                expected = "netbox_sync"
            assert query.feature == expected, name
            assert query.community == (name in COMMUNITY), name
            assert query.writes == (name == "update_device_metadata"), name


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_query_publishes_a_json_schema(name: str) -> None:
    described = describe(REGISTRY[name])
    schema = described["parameters"]
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    for field, spec in schema["properties"].items():
        assert spec.get("description") or spec.get("$ref"), f"{name}.{field} has no description"
    assert described["summary"] and described["category"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_query_has_a_case_with_rows_and_one_without(name: str) -> None:
    cases = CASES.get(name, [])
    if REGISTRY[name].source != "graph":
        # its data lives outside the graph: here only the 503 without that store; the rows
        # are tested against the real store (tests/integration/<area>/)
        assert any(c.get("error") == 503 for c in cases), f"{name}: no case without its store"
        return
    assert any(c.get("rows") for c in cases), f"{name}: no case that returns rows"
    empty = [c for c in cases if c.get("rows") == [] or "error" in c]
    assert empty, f"{name}: no case that returns nothing"
    if name == "path_analysis":  # always one row per branch: "no path" is an answer too
        assert any(c.get("rows") and c["rows"][0]["verdict"] == "no_path" for c in cases)
    elif name == "path_analysis_bulk":  # always one row per flow
        assert any("error" in c for c in cases)
    elif not REGISTRY[name].writes:
        assert any(c.get("rows") == [] for c in cases), f"{name}: no case with no rows"


def test_docs_define_every_query() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "queries.md").read_text()
    headings = {line[4:].strip() for line in docs.splitlines() if line.startswith("### ")}
    assert headings == set(REGISTRY)
