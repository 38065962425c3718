"""Blast radius: what a failed device, link, VLAN or subnet takes down, and what it leaves
without redundancy. See docs/blast-radius.md for the semantics and the tables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.blast._analysis import (
    TOP_LOST_PATHS,
    BlastResult,
    DeviceImpact,
    simulate,
    upstream,
)
from meshq_graph_engine.blast._live import live_topology, load_topology
from meshq_graph_engine.blast._load import read_topology
from meshq_graph_engine.blast._model import Device, Failure, Link, LinkEnd, Topology
from meshq_graph_engine.blast._scoring import (
    CRITICALITY_WEIGHTS,
    ROLE_WEIGHTS,
    UPSTREAM_ROLES,
    device_weight,
    severity,
)
from meshq_graph_engine.blast._segments import (
    Segments,
    live_segments,
    load_segments,
    read_segments,
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
    "Segments",
    "TargetError",
    "Topology",
    "apply_changes",
    "compare",
    "device_failure",
    "device_weight",
    "interface_failure",
    "load_segments",
    "load_topology",
    "read_segments",
    "read_topology",
    "resolve",
    "run_scenario",
    "severity",
    "simulate",
    "subnet_failure",
    "upstream",
    "vlan_failure",
    "warm_up",
]

DEFAULT_DEPTH = 3
MAX_DEPTH = 6


async def run_scenario(
    store: GraphStore, engine: Any, scenario: str, target: str, depth: int = DEFAULT_DEPTH
) -> BlastResult:
    """Resolve ``target`` for ``scenario`` on the current graph and simulate its failure."""
    topology = await load_topology(store, engine)
    failure = await resolve(topology, store, scenario, target, engine)
    return simulate(topology, failure, depth)


def warm_up(store: GraphStore, engine: Any) -> Callable[[], Awaitable[None]]:
    """Read the topology and the segment lookups in the background now (at start-up, once the
    graph is loaded) and after each change, so that the blast-radius queries and
    chaos-simulate find them current. Returns what stops it. Writer only (an engine that
    tells of its changes)."""
    views = (live_topology(store, engine), live_segments(store, engine))
    for view in views:
        view.keep_warm(engine)

    async def stop() -> None:
        for view in views:
            await view.stop_warm()

    return stop
