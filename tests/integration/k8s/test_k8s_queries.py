"""The Kubernetes queries on a real graph store (LadybugDB) and a real inventory store: a
small network (``network.yaml``: two leaves, a node seen by LLDP, two devices sharing a
name) and a cluster (``cluster.json``, as ``kubectl get … -o json`` prints it, validated
against the API's schema) whose nodes meet that network every way the joins know, and
some ways they must refuse."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, describe, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.cli._render import render_answer
from network_discovery.k8s import InventoryStore, read_files
from network_discovery.model import Snapshot
from support.k8s_api import validate

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
async def ctx(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QueryContext]:
    base = tmp_path_factory.mktemp("k8s")
    store = EmbeddedStore(base / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(
        Snapshot.model_validate(yaml.safe_load((HERE / "network.yaml").read_text()))
    )
    inventories = InventoryStore(base / "k8s")
    inventories.save(read_files([HERE / "cluster.json"], cluster="lab").inventory)
    yield QueryContext(store, engine, k8s=inventories)
    await store.close()


async def _rows(ctx: QueryContext, name: str, **params: Any) -> list[dict[str, Any]]:
    result = await run_query(REGISTRY, name, params, ctx)
    schema = describe(REGISTRY[name])["row_schema"]
    for row in result.rows:
        Draft202012Validator(schema).validate(row)
    return result.rows


def test_the_cluster_fixture_is_what_the_api_accepts() -> None:
    for item in json.loads((HERE / "cluster.json").read_text())["items"]:
        validate(item)


async def test_nodes_are_placed_only_where_the_evidence_says(ctx: QueryContext) -> None:
    rows = {r["node"]: r for r in await _rows(ctx, "meshq_k8s_nodes")}
    one = rows["k8s-node-1"]
    assert [(p["switch"], p["interface"], p["evidence"]) for p in one["ports"]] == [
        ("leaf-a", "Ethernet1", "mac_table"),
        ("leaf-b", "Ethernet1", "mac_table"),
    ]
    assert (one["redundancy"], one["switch_count"], one["pods"]) == ("redundant", 2, 2)
    two = rows["k8s-node-2"]
    assert [(p["switch"], p["interface"], p["evidence"]) for p in two["ports"]] == [
        ("leaf-a", "Ethernet2", "arp")
    ]
    assert two["redundancy"] == "single" and two["device"] is None
    three = rows["k8s-node-3"]
    assert (three["device"], three["device_evidence"]) == ("k8s-node-3", ["name"])
    assert [(p["switch"], p["interface"], p["evidence"]) for p in three["ports"]] == [
        ("leaf-b", "Ethernet3", "lldp_one")
    ]
    four = rows["node-4"]  # two devices answer to its name: neither is chosen
    assert four["device"] is None
    assert four["device_candidates"] == ["node-4.a.example", "node-4.b.example"]
    assert four["ports"] == [] and four["redundancy"] == "unknown"
    five = rows["k8s-node-5"]
    assert (five["device"], five["device_candidates"], five["redundancy"]) == (
        None,
        [],
        "unknown",
    )


async def test_node_filters(ctx: QueryContext) -> None:
    single = await _rows(ctx, "meshq_k8s_nodes", redundancy="single")
    assert [r["node"] for r in single] == ["k8s-node-2", "k8s-node-3"]
    on_b = await _rows(ctx, "meshq_k8s_nodes", switch="leaf-b")
    assert [r["node"] for r in on_b] == ["k8s-node-1", "k8s-node-3"]
    assert await _rows(ctx, "meshq_k8s_nodes", cluster="elsewhere") == []


async def test_pods_by_switch_port_label_and_namespace(ctx: QueryContext) -> None:
    on_port = await _rows(
        ctx, "meshq_k8s_pods", switch="leaf-a", port="Et2"
    )  # any vendor spelling of the port
    assert [(r["namespace"], r["pod"]) for r in on_port] == [("shop", "web-7d9f-fghij")]
    on_leaf_b = await _rows(ctx, "meshq_k8s_pods", switch="leaf-b")
    assert [r["pod"] for r in on_leaf_b] == ["kube-proxy-x1", "db-0", "web-7d9f-abcde"]
    web = await _rows(ctx, "meshq_k8s_pods", label="app=web")
    assert [r["pod"] for r in web] == ["web-7d9f-abcde", "web-7d9f-fghij"]
    assert [r["pod"] for r in await _rows(ctx, "meshq_k8s_pods", label="tier")] == [
        "web-7d9f-abcde",
        "web-7d9f-fghij",
    ]
    batch = await _rows(ctx, "meshq_k8s_pods", namespace="batch")
    assert batch[0]["node"] == "k8s-node-5" and batch[0]["switches"] == []
    assert batch[0]["owner_kind"] == "Job"
    assert await _rows(ctx, "meshq_k8s_pods", label="app=none") == []


async def test_a_port_needs_its_switch(ctx: QueryContext) -> None:
    with pytest.raises(QueryError) as raised:
        await run_query(REGISTRY, "meshq_k8s_pods", {"port": "Ethernet1"}, ctx)
    assert raised.value.status == 422


async def test_services_with_their_endpoints_and_where_they_run(ctx: QueryContext) -> None:
    rows = {r["service"]: r for r in await _rows(ctx, "meshq_k8s_services")}
    web = rows["web"]
    assert web["cluster_ips"] == ["10.96.10.10"] and web["ports"] == ["80/TCP -> 8080"]
    assert [
        (e["ip"], e["pod"], e["node"], e["ready"], e["switches"]) for e in web["endpoints"]
    ] == [
        ("10.244.1.10", "shop/web-7d9f-abcde", "k8s-node-1", True, ["leaf-a", "leaf-b"]),
        ("10.244.2.10", "shop/web-7d9f-fghij", "k8s-node-2", False, ["leaf-a"]),
    ]
    assert web["ready_endpoints"] == 1
    assert (web["nodes"], web["switches"]) == (["k8s-node-1", "k8s-node-2"], ["leaf-a", "leaf-b"])
    db = rows["db"]
    assert (db["nodes"], db["switches"]) == (["k8s-node-3"], ["leaf-b"])
    behind_a = await _rows(ctx, "meshq_k8s_services", switch="leaf-a")
    assert [r["service"] for r in behind_a] == ["web"]


async def test_a_sync_is_seen_by_the_next_answer(ctx: QueryContext, tmp_path: Path) -> None:
    inventories: InventoryStore = ctx.k8s
    first = await _rows(ctx, "meshq_k8s_nodes", cluster="captures")
    assert first == []
    fixtures = HERE.parents[1] / "fixtures" / "k8s"
    inventories.save(read_files(sorted(fixtures.glob("*.json")), cluster="captures").inventory)
    rows = await _rows(ctx, "meshq_k8s_nodes", cluster="captures")
    assert [(r["node"], r["redundancy"]) for r in rows] == [
        ("m01", "unknown"),
        ("minikube", "unknown"),
    ]


async def test_a_leaf_failure_cuts_some_workloads_and_thins_others(ctx: QueryContext) -> None:
    rows = await _rows(ctx, "meshq_k8s_blast_radius", switch="leaf-b")
    seen = [(r["kind"], r["namespace"], r["name"], r["impact"]) for r in rows]
    assert seen == [
        ("node", None, "k8s-node-3", "loses_all_paths"),
        ("pod", "shop", "db-0", "loses_all_paths"),
        ("service", "shop", "db", "loses_all_paths"),
        ("node", None, "k8s-node-1", "loses_redundancy"),
        ("pod", "kube-system", "kube-proxy-x1", "loses_redundancy"),
        ("pod", "shop", "web-7d9f-abcde", "loses_redundancy"),
        ("service", "shop", "web", "loses_redundancy"),  # one endpoint's node thins
    ]
    node_1 = rows[3]
    assert (node_1["switches_lost"], node_1["switches_left"]) == (["leaf-b"], ["leaf-a"])
    db = rows[2]
    assert (db["endpoints"], db["endpoints_cut"]) == (1, 1)


async def test_a_service_with_one_endpoint_cut_loses_redundancy(ctx: QueryContext) -> None:
    rows = await _rows(ctx, "meshq_k8s_blast_radius", switch="leaf-a")
    web = next(r for r in rows if r["kind"] == "service")
    assert (web["name"], web["impact"], web["endpoints"], web["endpoints_cut"]) == (
        "web",
        "loses_redundancy",
        2,
        1,
    )
    nodes = {r["name"]: r["impact"] for r in rows if r["kind"] == "node"}
    assert nodes == {"k8s-node-2": "loses_all_paths", "k8s-node-1": "loses_redundancy"}
    assert await _rows(ctx, "meshq_k8s_blast_radius", switch="no-such-switch") == []


async def test_path_analysis_starts_a_pods_flow_at_its_node(ctx: QueryContext) -> None:
    """A pod address the graph does not hold: the walk begins where its node's address does
    (the gateways of the node's subnet), the packet keeping the pod's address."""
    flow = {"destination": "10.254.0.100", "protocol": "tcp", "port": 443}
    rows = await _rows(ctx, "path_analysis", source="10.244.2.10", **flow)
    owner = rows[0]["source_owner"]
    assert owner["kind"] == "workload"
    assert owner["workload"] == {
        "cluster": "lab",
        "namespace": "shop",
        "pod": "web-7d9f-fghij",
        "node": "k8s-node-2",
        "node_address": "10.40.0.12",
    }
    assert owner["gateways"] == ["leaf-a Vlan40"]
    assert rows[0]["hops"][0]["device"] == "leaf-a"
    # meshq query's table names the pod
    shown = render_answer(rows, "table", params={"source": "10.244.2.10", **flow})
    assert (
        "Source 10.244.2.10: workload shop/web-7d9f-fghij on node k8s-node-2 "
        "(gateways leaf-a Vlan40)" in shown
    )
    # the graph alone: the pod's address is nowhere
    alone = await run_query(
        REGISTRY,
        "path_analysis",
        {"source": "10.244.2.10", **flow},
        QueryContext(ctx.store, ctx.engine),
    )
    assert alone.rows[0]["source_owner"]["kind"] == "unknown"
    assert alone.rows[0]["reason"] == "no device owns 10.244.2.10 or a subnet containing it"
    assert alone.rows[0]["hops"] == []
    # a host-network pod has its node's address, which the graph places itself
    host = await _rows(ctx, "path_analysis", source="10.40.0.11", **flow)
    assert host[0]["source_owner"]["kind"] != "workload"
    assert host[0]["source_owner"].get("workload") is None
    # an address no pod has stays unknown
    nobody = await _rows(ctx, "path_analysis", source="10.244.9.9", **flow)
    assert nobody[0]["source_owner"]["kind"] == "unknown"
    # a start named by the caller wins over the pod's node
    started = await _rows(ctx, "path_analysis", source="10.244.2.10", start_device="leaf-b", **flow)
    assert started[0]["source_owner"]["kind"] == "unknown"
