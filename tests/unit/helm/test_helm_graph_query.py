"""The graph engine's query replicas in the chart: their own Deployment, Service, autoscaler and
disruption budget in the reader role, only over Memgraph, while the writer stays one pod."""

from __future__ import annotations

import copy
from typing import Any

import helm_python as helm
import pytest
from support.helm_chart import PRODUCTION, container, load_values, objects, render, workloads

QUERY = {"services": {"graph-engine": {"query": {"enabled": True}}}}


def env_of(dep: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(dep)["env"]}


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_off_by_default() -> None:
    docs = objects({})
    assert "graph-engine-query" not in workloads(docs)
    gw = env_of(workloads(docs)["query-gateway"])
    assert gw["MESHQ_GRAPH_ENGINE_URL"] == "http://mq-meshoptixiq-graph-engine:8001"


@pytest.mark.parametrize("values", [QUERY, load_values(PRODUCTION)], ids=["default", "prod"])
def test_readers_beside_one_writer(values: dict[str, Any]) -> None:
    docs = objects(values)
    deps = workloads(docs)
    writer, reader = deps["graph-engine"], deps["graph-engine-query"]
    assert writer["spec"]["replicas"] == 1 and writer["spec"]["strategy"] == {"type": "Recreate"}
    assert "replicas" not in reader["spec"]  # the autoscaler owns the count
    assert container(reader)["command"] == container(writer)["command"]
    assert container(reader)["image"] == container(writer)["image"]

    w, r = env_of(writer), env_of(reader)
    assert "MESHQ_GRAPH_ENGINE_ROLE" not in w  # the default: writer
    assert r["MESHQ_GRAPH_ENGINE_ROLE"] == "reader"
    assert r["MESHQ_GRAPH_ENGINE_WRITER_URL"] == "http://mq-meshoptixiq-graph-engine:8001"
    assert r["MEMGRAPH_URI"] == w["MEMGRAPH_URI"] and r["MEMGRAPH_URI"].startswith("bolt")
    assert float(r["MESHQ_GRAPH_ENGINE_REFRESH_INTERVAL"]) > 0
    assert "MESHQ_LICENSING_URL" not in r  # a reader gates nothing: it calls only the writer

    # Only the writer holds the volume claim; readers keep nothing on disk.
    claims = [
        v for v in reader["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v
    ]
    assert claims == []

    name = reader["metadata"]["name"]
    hpa = by_kind(docs, "HorizontalPodAutoscaler")[name]
    assert hpa["spec"]["scaleTargetRef"]["name"] == name and hpa["spec"]["minReplicas"] >= 2
    pdb = by_kind(docs, "PodDisruptionBudget")[name]
    assert pdb["spec"]["selector"]["matchLabels"] == reader["spec"]["selector"]["matchLabels"]
    svc = by_kind(docs, "Service")[name]
    assert svc["spec"]["selector"] == reader["spec"]["selector"]["matchLabels"]
    assert (
        svc["spec"]["selector"]
        != by_kind(docs, "Service")[writer["metadata"]["name"]]["spec"]["selector"]
    )  # the writer's Service never sends queries to a reader, nor back

    # The gateway's queries go to the readers; netbox-sync, alerts and soar-dispatcher keep
    # reading from the writer.
    assert env_of(deps["query-gateway"])["MESHQ_GRAPH_ENGINE_URL"] == (
        "http://mq-meshoptixiq-graph-engine-query:8001"
    )
    for component in ("netbox-sync", "alerts", "soar-dispatcher"):
        assert env_of(deps[component])["MESHQ_GRAPH_ENGINE_URL"] == (
            "http://mq-meshoptixiq-graph-engine:8001"
        ), component


def test_readers_need_memgraph() -> None:
    values = copy.deepcopy(QUERY)
    values["memgraph"] = {"uri": ""}
    with pytest.raises(helm.HelmValuesError, match="/memgraph/uri"):
        render(values)


def test_without_memgraph_the_writer_keeps_an_embedded_graph_on_its_volume() -> None:
    deps = workloads(objects({"memgraph": {"uri": ""}}))
    writer = env_of(deps["graph-engine"])
    assert "MEMGRAPH_URI" not in writer and "MEMGRAPH_USER" not in writer
    volumes = {v["name"]: v for v in deps["graph-engine"]["spec"]["template"]["spec"]["volumes"]}
    assert "persistentVolumeClaim" in volumes["data"]
    with pytest.raises(helm.HelmValuesError, match="persistence/enabled"):
        render(
            {
                "memgraph": {"uri": ""},
                "services": {"graph-engine": {"persistence": {"enabled": False}}},
            }
        )


def notes(values: dict[str, Any]) -> str:
    return next(text for path, text in render(values).items() if path.endswith("NOTES.txt"))


def test_notes_say_where_queries_run() -> None:
    assert "graph-engine-query replicas" in notes(QUERY)
    assert "embedded graph" in notes({"memgraph": {"uri": ""}})
    assert "graph-engine-query" not in notes({}) and "embedded graph" not in notes({})
