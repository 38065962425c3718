"""Blast radius: what a failed device, link, VLAN or subnet takes down, and what it leaves
without redundancy. See docs/blast-radius.md for the semantics and the tables."""

from __future__ import annotations

from typing import Any

from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.blast._analysis import (
    TOP_LOST_PATHS,
    BlastResult,
    DeviceImpact,
    simulate,
    upstream,
)
from meshq_graph_engine.blast._live import load_topology
from meshq_graph_engine.blast._load import read_topology
from meshq_graph_engine.blast._model import Device, Failure, Link, LinkEnd, Topology
from meshq_graph_engine.blast._scoring import (
    CRITICALITY_WEIGHTS,
    ROLE_WEIGHTS,
    UPSTREAM_ROLES,
    device_weight,
    severity,
)
from meshq_graph_engine.blast._targets import (
    SCENARIOS,
    TargetError,
    device_failure,
    interface_failure,
    resolve,
    subnet_failure,
    vlan_failure,
)
from meshq_graph_engine.blast._whatif import ACTIONS, apply_changes, compare

__all__ = [
    "ACTIONS",
    "CRITICALITY_WEIGHTS",
    "DEFAULT_DEPTH",
    "MAX_DEPTH",
    "ROLE_WEIGHTS",
    "SCENARIOS",
    "TOP_LOST_PATHS",
    "UPSTREAM_ROLES",
    "BlastResult",
    "Device",
    "DeviceImpact",
    "Failure",
    "Link",
    "LinkEnd",
    "TargetError",
    "Topology",
    "apply_changes",
    "compare",
    "device_failure",
    "device_weight",
    "interface_failure",
    "load_topology",
    "read_topology",
    "resolve",
    "run_scenario",
    "severity",
    "simulate",
    "subnet_failure",
    "upstream",
    "vlan_failure",
]

DEFAULT_DEPTH = 3
MAX_DEPTH = 6


async def run_scenario(
    store: GraphStore, engine: Any, scenario: str, target: str, depth: int = DEFAULT_DEPTH
) -> BlastResult:
    """Resolve ``target`` for ``scenario`` on the current graph and simulate its failure."""
    topology = await load_topology(store, engine)
    failure = await resolve(topology, store, scenario, target)
    return simulate(topology, failure, depth)
