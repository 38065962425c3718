"""Kubernetes: a cluster's nodes, pods and services placed on the physical network.

The inventories come from ``meshq k8s sync`` (the API, listed and watched, or ``kubectl …
-o json`` files), kept per cluster in ``$MESHQ_DATA_DIR/k8s``; the graph gives the devices,
addresses, MAC tables and links they are joined with (``meshq_graph_engine.k8s``: no join
the evidence does not name). Without an inventory store every query answers 503.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from network_discovery.k8s import ClusterInventory, K8sObjectError, K8sPod
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from meshq_graph_engine.blast import (
    DEFAULT_DEPTH,
    MAX_DEPTH,
    TargetError,
    device_failure,
    load_topology,
    simulate,
)
from meshq_graph_engine.catalogue._common import DeviceFilter, DeviceName, interface_or_any
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, QueryError, Row
from meshq_graph_engine.k8s import (
    ENDPOINTS_BY_IP,
    ENDPOINTS_BY_MAC,
    GRAPH_QUERIES,
    LINKS,
    GraphFacts,
    NodePlace,
    place_nodes,
    wanted,
    workload_impact,
)

__all__ = ["CATEGORY", "FEATURE", "QUERIES", "workload_at"]

FEATURE = "k8s_observability"
CATEGORY = "Kubernetes"
_NOT_CONFIGURED = (
    "Kubernetes inventories are kept in $MESHQ_DATA_DIR/k8s: this graph engine has none; "
    "collect one with 'meshq k8s sync' (see docs/kubernetes.md)"
)
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$")
_LABEL = re.compile(r"^[A-Za-z0-9./_-]{1,253}(=[A-Za-z0-9._-]{0,63})?$")


def _name(value: str) -> str:
    if value and not _NAME.match(value):
        raise ValueError("a Kubernetes name: letters, digits, '.', '_' and '-' (at most 253)")
    return value


def _label(value: str) -> str:
    if value and not _LABEL.match(value):
        raise ValueError("a label as key=value (or a key alone: any value)")
    return value


NameFilter = Annotated[str, AfterValidator(_name)]
LabelFilter = Annotated[str, AfterValidator(_label)]
PortFilter = Annotated[str, AfterValidator(interface_or_any)]


class _ClusterParams(Params):
    cluster: NameFilter = Field("", description="Only this cluster (as synced); empty for all.")


class NodesParams(_ClusterParams):
    node: NameFilter = Field("", description="Only this node; empty for all.")
    switch: DeviceFilter = Field(
        "", description="Only nodes cabled to this switch (device id); empty for any."
    )
    redundancy: Literal["", "redundant", "single", "unknown"] = Field(
        "",
        description="Only nodes whose ports reach this many switches: redundant (two or more), "
        "single (one), unknown (no port known); empty for all.",
    )


class PodsParams(_ClusterParams):
    namespace: NameFilter = Field("", description="Only this namespace; empty for all.")
    node: NameFilter = Field("", description="Only pods on this node; empty for all.")
    label: LabelFilter = Field(
        "", description="Only pods with this label: key=value, or key for any value."
    )
    switch: DeviceFilter = Field(
        "", description="Only pods whose node is cabled to this switch; empty for any."
    )
    port: PortFilter = Field(
        "", description="With switch: only pods whose node is cabled to this port."
    )


class ServicesParams(_ClusterParams):
    namespace: NameFilter = Field("", description="Only this namespace; empty for all.")
    service: NameFilter = Field("", description="Only this service; empty for all.")
    switch: DeviceFilter = Field(
        "", description="Only services with an endpoint behind this switch; empty for any."
    )


class BlastParams(_ClusterParams):
    switch: DeviceName = Field(description="The switch that fails (device id).")
    depth: int = Field(
        DEFAULT_DEPTH,
        ge=1,
        le=MAX_DEPTH,
        description="Hops from the switch within which the devices it cuts off count "
        f"(1 to {MAX_DEPTH}).",
    )


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SwitchPort(_Part):
    switch: str = Field(description="The switch (device id).")
    interface: str
    evidence: str = Field(
        description="What says so: the link's evidence (lldp_both, lldp_one, cdp_…, "
        "netbox_declared, …), mac_table (a node NIC MAC learned there) or arp (a node address "
        "resolved to a MAC learned there)."
    )


class NodeRow(Row):
    cluster: str
    node: str
    addresses: list[str] = Field(description="InternalIP and ExternalIP addresses.")
    macs: list[str] = Field(description="NIC MACs the node publishes (meshoptixiq.io/macs).")
    ready: bool | None
    device: str | None = Field(
        description="The graph's device this node is; null: none or several."
    )
    device_evidence: list[str] = Field(description="address, mac and/or name.")
    device_candidates: list[str] = Field(
        description="The devices the evidence names when it names several (none linked)."
    )
    ports: list[SwitchPort]
    switches: list[str]
    switch_count: int
    redundancy: Literal["redundant", "single", "unknown"] = Field(
        description="redundant: ports on two or more switches; single: one switch; "
        "unknown: no port known."
    )
    pods: int = Field(description="Pods scheduled on the node.")


class PodRow(Row):
    cluster: str
    namespace: str
    pod: str
    node: str | None
    ips: list[str]
    phase: str | None
    host_network: bool
    owner_kind: str | None
    owner_name: str | None
    labels: dict[str, str]
    device: str | None = Field(description="The graph's device its node is, when one.")
    ports: list[SwitchPort] = Field(description="Its node's switch ports.")
    switches: list[str]


class ServiceEndpoint(_Part):
    ip: str
    ready: bool | None
    pod: str | None = Field(description="namespace/name of the pod behind it.")
    node: str | None
    device: str | None
    switches: list[str]


class ServiceRow(Row):
    cluster: str
    namespace: str
    service: str
    type: str
    cluster_ips: list[str]
    ports: list[str] = Field(description="port/protocol (-> target port).")
    selector: dict[str, str]
    endpoints: list[ServiceEndpoint]
    ready_endpoints: int
    nodes: list[str] = Field(description="The nodes its endpoints run on.")
    switches: list[str] = Field(description="The switches those nodes are cabled to.")


class BlastRow(Row):
    kind: Literal["node", "pod", "service"]
    cluster: str
    namespace: str | None
    name: str
    node: str | None = Field(description="The node (a node's own name; null for a service).")
    impact: Literal["loses_all_paths", "loses_redundancy"]
    switches_lost: list[str] = Field(description="Its switches that go down with the failure.")
    switches_left: list[str] = Field(description="Its switches that stay up.")
    endpoints: int | None = Field(description="A service's endpoints; null otherwise.")
    endpoints_cut: int | None = Field(
        description="A service's endpoints on nodes that lose all paths; null otherwise."
    )


def _inventories(ctx: QueryContext, cluster: str) -> list[ClusterInventory]:
    store = getattr(ctx, "k8s", None)
    if store is None:
        raise QueryError(503, "Kubernetes inventory not configured", _NOT_CONFIGURED)
    try:
        found = store.load()
    except (OSError, ValidationError, K8sObjectError) as exc:
        raise QueryError(503, "Kubernetes inventory unreadable", str(exc)[:300]) from None
    return [i for i in found if not cluster or i.cluster == cluster]


def workload_at(ctx: QueryContext, address: str) -> dict[str, str] | None:
    """The pod whose own address ``address`` is (host-network pods share their node's, which
    the graph may hold already), with its node's address: where path analysis locates a flow
    from a pod the graph does not know. None without inventories, or for an address no pod of
    a placed node has."""
    store = getattr(ctx, "k8s", None)
    if store is None:
        return None
    try:
        inventories = store.load()
    except (OSError, ValidationError, K8sObjectError):
        return None  # an unreadable inventory leaves paths as the graph alone gives them
    for inventory in inventories:
        nodes = {n.name: n for n in inventory.nodes}
        for pod in inventory.pods:
            if pod.host_network or address not in pod.ips or pod.node not in nodes:
                continue
            node_ips = nodes[pod.node].ips
            if not node_ips:
                continue
            return {
                "cluster": inventory.cluster,
                "namespace": pod.namespace,
                "pod": pod.name,
                "node": pod.node,
                "node_address": node_ips[0],
            }
    return None


async def _places(
    ctx: QueryContext, inventories: list[ClusterInventory]
) -> dict[tuple[str, str], NodePlace]:
    if not inventories:
        return {}
    rows = {name: await ctx.store.execute(text, {}) for name, text in GRAPH_QUERIES.items()}
    facts = GraphFacts.from_rows(rows)
    keys = wanted(inventories, facts)
    facts.add_places(
        await ctx.store.execute(ENDPOINTS_BY_MAC, {"macs": keys["macs"]}) if keys["macs"] else [],
        await ctx.store.execute(ENDPOINTS_BY_IP, {"ips": keys["ips"]}) if keys["ips"] else [],
        await ctx.store.execute(LINKS, {"ids": keys["ids"]}) if keys["ids"] else [],
    )
    return {(p.cluster, p.node.name): p for p in place_nodes(inventories, facts)}


def _ports(place: NodePlace | None) -> list[dict[str, str]]:
    if place is None:
        return []
    return [
        {"switch": p.switch, "interface": p.interface, "evidence": p.evidence} for p in place.ports
    ]


async def _nodes(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    inventories = _inventories(ctx, params.cluster)
    places = await _places(ctx, inventories)
    pods: dict[tuple[str, str], int] = {}
    for inventory in inventories:
        for pod in inventory.pods:
            if pod.node:
                key = (inventory.cluster, pod.node)
                pods[key] = pods.get(key, 0) + 1
    rows = []
    for (cluster, name), place in sorted(places.items()):
        if params.node and name != params.node:
            continue
        if params.switch and params.switch not in place.switches:
            continue
        if params.redundancy and place.redundancy != params.redundancy:
            continue
        rows.append(
            {
                "cluster": cluster,
                "node": name,
                "addresses": list(place.node.ips),
                "macs": list(place.node.macs),
                "ready": place.node.ready,
                "device": place.device,
                "device_evidence": list(place.evidence),
                "device_candidates": list(place.candidates),
                "ports": _ports(place),
                "switches": list(place.switches),
                "switch_count": len(place.switches),
                "redundancy": place.redundancy,
                "pods": pods.get((cluster, name), 0),
            }
        )
    return rows


def _has_label(pod: K8sPod, label: str) -> bool:
    key, sep, value = label.partition("=")
    return key in pod.labels and (not sep or pod.labels[key] == value)


async def _pods(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    if params.port and not params.switch:
        raise QueryError(
            422,
            "Invalid parameters",
            "port: name the switch too (a port name is only unique on its switch)",
            [{"field": "port", "message": "needs switch"}],
        )
    inventories = _inventories(ctx, params.cluster)
    places = await _places(ctx, inventories)
    rows = []
    for inventory in inventories:
        for pod in inventory.pods:
            if params.namespace and pod.namespace != params.namespace:
                continue
            if params.node and pod.node != params.node:
                continue
            if params.label and not _has_label(pod, params.label):
                continue
            place = places.get((inventory.cluster, pod.node or ""))
            ports = _ports(place)
            if params.switch and not any(
                p["switch"] == params.switch and (not params.port or p["interface"] == params.port)
                for p in ports
            ):
                continue
            rows.append(
                {
                    "cluster": inventory.cluster,
                    "namespace": pod.namespace,
                    "pod": pod.name,
                    "node": pod.node,
                    "ips": list(pod.ips),
                    "phase": pod.phase,
                    "host_network": pod.host_network,
                    "owner_kind": pod.owner_kind,
                    "owner_name": pod.owner_name,
                    "labels": dict(pod.labels),
                    "device": place.device if place else None,
                    "ports": ports,
                    "switches": list(place.switches) if place else [],
                }
            )
    rows.sort(key=lambda r: (r["cluster"], r["namespace"], r["pod"]))
    return rows


async def _services(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    inventories = _inventories(ctx, params.cluster)
    places = await _places(ctx, inventories)
    rows = []
    for inventory in inventories:
        for service in inventory.services:
            if params.namespace and service.namespace != params.namespace:
                continue
            if params.service and service.name != params.service:
                continue
            endpoints: list[dict[str, Any]] = []
            switches: set[str] = set()
            for e in service.endpoints:
                place = places.get((inventory.cluster, e.node or ""))
                if place is not None:
                    switches.update(place.switches)
                endpoints.append(
                    {
                        "ip": e.ip,
                        "ready": e.ready,
                        "pod": f"{e.pod_namespace}/{e.pod}" if e.pod else None,
                        "node": e.node,
                        "device": place.device if place else None,
                        "switches": list(place.switches) if place else [],
                    }
                )
            if params.switch and params.switch not in switches:
                continue
            rows.append(
                {
                    "cluster": inventory.cluster,
                    "namespace": service.namespace,
                    "service": service.name,
                    "type": service.type,
                    "cluster_ips": list(service.cluster_ips),
                    "ports": [
                        f"{p.port}/{p.protocol}" + (f" -> {p.target_port}" if p.target_port else "")
                        for p in service.ports
                    ],
                    "selector": dict(service.selector),
                    "endpoints": endpoints,
                    "ready_endpoints": sum(1 for e in endpoints if e["ready"] is not False),
                    "nodes": sorted({e["node"] for e in endpoints if e["node"]}),
                    "switches": sorted(switches),
                }
            )
    rows.sort(key=lambda r: (r["cluster"], r["namespace"], r["service"]))
    return rows


async def _blast(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    inventories = _inventories(ctx, params.cluster)
    topology = await load_topology(ctx.store, ctx.engine)
    try:
        failure = device_failure(topology, params.switch)
    except TargetError as exc:
        if exc.status == 404:
            return []
        raise QueryError(exc.status, exc.title, exc.detail) from None
    down = set(simulate(topology, failure, params.depth).affected_devices) | {params.switch}
    return workload_impact(inventories, await _places(ctx, inventories), down)


PODS = Query(
    name="meshq_k8s_pods",
    category=CATEGORY,
    summary="Pods with their node and the switch ports that node is cabled to; by "
    "namespace, node, label, switch or switch port.",
    params=PodsParams,
    row=PodRow,
    feature=FEATURE,
    run=_pods,
    source="k8s",
)
SERVICES = Query(
    name="meshq_k8s_services",
    category=CATEGORY,
    summary="Services with their cluster IPs, ports, endpoints (from EndpointSlices) and the "
    "nodes and switches those endpoints run behind.",
    params=ServicesParams,
    row=ServiceRow,
    feature=FEATURE,
    run=_services,
    source="k8s",
)
NODES = Query(
    name="meshq_k8s_nodes",
    category=CATEGORY,
    summary="Nodes with the device each one is in the graph, the switch ports it is cabled "
    "to (and the evidence), and its redundancy: how many distinct switches it reaches.",
    params=NodesParams,
    row=NodeRow,
    feature=FEATURE,
    run=_nodes,
    source="k8s",
)

BLAST = Query(
    name="meshq_k8s_blast_radius",
    category=CATEGORY,
    summary="What a switch's failure does to the clusters: the nodes, pods and services that "
    "lose every path to the network, and those that only lose redundancy.",
    params=BlastParams,
    row=BlastRow,
    feature=FEATURE,
    run=_blast,
    source="k8s",
)

QUERIES = [PODS, SERVICES, NODES, BLAST]
