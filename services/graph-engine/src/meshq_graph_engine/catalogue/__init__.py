"""The query catalogue: every named question the graph answers."""

from __future__ import annotations

from meshq_graph_engine.catalogue import (
    addressing,
    blast,
    compliance,
    endpoints,
    fabric,
    firewall,
    flows,
    hygiene,
    inventory,
    k8s,
    layer3,
    metrics,
    nccl,
    netbox,
    paths,
    routing,
    topology,
    traces,
    vulns,
)
from meshq_graph_engine.catalogue.base import (
    Query,
    QueryContext,
    QueryError,
    QueryResult,
    Row,
    describe,
    run_query,
)

__all__ = [
    "REGISTRY",
    "Query",
    "QueryContext",
    "QueryError",
    "QueryResult",
    "Row",
    "describe",
    "run_query",
]

REGISTRY: dict[str, Query] = {}
for _module in (
    topology,
    endpoints,
    addressing,
    hygiene,
    inventory,
    routing,
    blast,
    firewall,
    paths,
    traces,
    layer3,
    netbox,
    fabric,
    nccl,
    metrics,
    flows,
    compliance,
    vulns,
    k8s,
):
    for _query in _module.QUERIES:
        if _query.name in REGISTRY:
            raise RuntimeError(f"query {_query.name} is defined twice")
        REGISTRY[_query.name] = _query
