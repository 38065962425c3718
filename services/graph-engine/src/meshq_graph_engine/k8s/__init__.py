"""Kubernetes on the physical network: a cluster's nodes tied to the graph's devices and
switch ports, and pods and services placed through them (see ``_join``)."""

from meshq_graph_engine.k8s._blast import ALL_PATHS, REDUNDANCY, workload_impact
from meshq_graph_engine.k8s._join import (
    ENDPOINTS_BY_IP,
    ENDPOINTS_BY_MAC,
    GRAPH_QUERIES,
    LINKS,
    GraphFacts,
    NodePlace,
    Port,
    place_nodes,
    wanted,
)

__all__ = [
    "ALL_PATHS",
    "ENDPOINTS_BY_IP",
    "ENDPOINTS_BY_MAC",
    "GRAPH_QUERIES",
    "LINKS",
    "REDUNDANCY",
    "GraphFacts",
    "NodePlace",
    "Port",
    "place_nodes",
    "wanted",
    "workload_impact",
]
