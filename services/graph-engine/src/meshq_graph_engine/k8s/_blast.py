"""What a switch's failure does to a cluster: the nodes, pods and services that lose every
path to the network, and those that only lose redundancy.

The switches that go down are the failed one and every device the blast radius finds
*affected* (every upstream path ran through the failure: ``meshq_graph_engine.blast``). A
node loses all paths when every switch it is cabled to is down, and redundancy when some
are and others are not. A node with no known port is not listed: nothing says what it
loses. Its pods share its fate. A service loses all paths when every endpoint runs on a node
that loses all paths, and redundancy when at least one endpoint is cut, or sits on a node
that loses redundancy, while others still serve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from network_discovery.k8s import ClusterInventory

from meshq_graph_engine.k8s._join import NodePlace

__all__ = ["ALL_PATHS", "REDUNDANCY", "workload_impact"]

ALL_PATHS = "loses_all_paths"
REDUNDANCY = "loses_redundancy"


def _row(
    kind: str,
    cluster: str,
    namespace: str | None,
    name: str,
    node: str | None,
    impact: str,
    lost: Iterable[str],
    left: Iterable[str],
    endpoints: int | None = None,
    cut: int | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "cluster": cluster,
        "namespace": namespace,
        "name": name,
        "node": node,
        "impact": impact,
        "switches_lost": sorted(lost),
        "switches_left": sorted(left),
        "endpoints": endpoints,
        "endpoints_cut": cut,
    }


def workload_impact(
    inventories: Iterable[ClusterInventory],
    places: Mapping[tuple[str, str], NodePlace],
    down: set[str],
) -> list[dict[str, Any]]:
    """One row per node, pod and service the loss of ``down`` reaches."""
    rows: list[dict[str, Any]] = []
    fate: dict[tuple[str, str], str] = {}
    for (cluster, name), place in sorted(places.items()):
        lost = set(place.switches) & down
        if not lost:
            continue
        left = set(place.switches) - down
        impact = REDUNDANCY if left else ALL_PATHS
        fate[(cluster, name)] = impact
        rows.append(_row("node", cluster, None, name, name, impact, lost, left))
    for inventory in inventories:
        cluster = inventory.cluster
        for pod in inventory.pods:
            impact_of = fate.get((cluster, pod.node or ""))
            if impact_of is None:
                continue
            place = places[(cluster, pod.node or "")]
            lost = set(place.switches) & down
            rows.append(
                _row(
                    "pod",
                    cluster,
                    pod.namespace,
                    pod.name,
                    pod.node,
                    impact_of,
                    lost,
                    set(place.switches) - down,
                )
            )
        for service in inventory.services:
            fates = [fate.get((cluster, e.node or "")) for e in service.endpoints]
            cut = sum(1 for f in fates if f == ALL_PATHS)
            if not any(fates):
                continue
            impact = ALL_PATHS if cut == len(fates) else REDUNDANCY
            switches = {
                s
                for e in service.endpoints
                if (found := places.get((cluster, e.node or ""))) is not None
                for s in found.switches
            }
            rows.append(
                _row(
                    "service",
                    cluster,
                    service.namespace,
                    service.name,
                    None,
                    impact,
                    switches & down,
                    switches - down,
                    len(fates),
                    cut,
                )
            )
    order = {"node": 0, "pod": 1, "service": 2}
    rows.sort(
        key=lambda r: (
            r["impact"] != ALL_PATHS,
            order[r["kind"]],
            r["cluster"],
            r["namespace"] or "",
            r["name"],
        )
    )
    return rows
