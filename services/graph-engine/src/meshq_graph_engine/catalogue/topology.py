"""Topology: which devices are cabled to which, and over what evidence."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any, Literal

from network_discovery.model import LinkEvidence
from pydantic import Field

from meshq_graph_engine.answers.kept import LinkRows, kept
from meshq_graph_engine.catalogue._common import (
    DeviceFilter,
    DeviceName,
    InterfaceParam,
    SiteFilter,
    ordered,
)
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row

__all__ = ["MAX_DEPTH", "QUERIES"]

#: The deepest neighbourhood topology_neighborhood walks.
MAX_DEPTH = 6

_LINK_FROM_DEVICE = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface)-[l:CONNECTED_TO]-(j:Interface)"
    "<-[:HAS_INTERFACE]-(n:Device) "
)
_LINK_COLUMNS = (
    "RETURN d.id AS device, i.name AS interface, n.id AS neighbor, "
    "j.name AS neighbor_interface, n.managed AS neighbor_managed, n.role AS neighbor_role, "
    "l.evidence AS evidence, l.confidence AS confidence "
    "ORDER BY interface, neighbor, neighbor_interface"
)


class DeviceNeighborsParams(Params):
    device: DeviceName


class InterfaceNeighborsParams(Params):
    device: DeviceName
    interface: InterfaceParam


class TopologyEdgesParams(Params):
    site: SiteFilter
    min_confidence: float = Field(
        0.0, ge=0.0, le=1.0, description="Leave out links with a lower confidence (0 to 1)."
    )


class NeighborhoodParams(Params):
    device: DeviceName
    depth: int = Field(
        2, ge=1, le=MAX_DEPTH, description=f"Hops to walk from the device (1 to {MAX_DEPTH})."
    )


class LldpNeighborsParams(Params):
    device: DeviceFilter
    protocol: Literal["any", "lldp", "cdp"] = Field(
        "any", description="Only links seen by this neighbour protocol."
    )


_Confidence = Annotated[float, Field(ge=0.0, le=1.0, description="How sure the link is, 0 to 1.")]


class LinkRow(Row):
    """One link seen from ``device``: its port, the neighbour and the neighbour's port."""

    device: str
    interface: str
    neighbor: str = Field(description="The device at the far end (its id).")
    neighbor_interface: str
    neighbor_managed: bool = Field(description="Whether the neighbour was collected.")
    neighbor_role: str | None
    evidence: LinkEvidence
    confidence: _Confidence


class EdgeRow(Row):
    a_device: str
    a_interface: str
    b_device: str
    b_interface: str
    evidence: LinkEvidence
    confidence: _Confidence


class NeighborhoodRow(Row):
    device: str
    hops: int = Field(ge=0, description="Links between this device and the centre (0 for it).")
    via: str | None = Field(description="The device one hop nearer the centre; null for it.")
    managed: bool
    role: str | None
    site: str | None


class LldpNeighborRow(Row):
    device: str
    interface: str
    neighbor: str
    neighbor_interface: str | None = Field(
        description="The neighbour's port; null when the entry does not name it (see "
        "neighbor_port_id): a neighbour seen, not a link."
    )
    neighbor_port_id: str | None = Field(
        description="The port id as the neighbour sent it, when it names no port (a locally "
        "assigned id such as an ifIndex)."
    )
    neighbor_managed: bool
    evidence: LinkEvidence
    confidence: _Confidence
    protocol: Literal["lldp", "cdp"]
    both_ends: bool = Field(description="Whether both ends of the link report it.")


DEVICE_NEIGHBORS = Query(
    name="device_neighbors",
    category="Topology",
    summary="The devices cabled to one device: one row per link, with both ports.",
    params=DeviceNeighborsParams,
    row=LinkRow,
    community=True,
    cypher=_LINK_FROM_DEVICE + "WHERE d.id = $device " + _LINK_COLUMNS,
)

INTERFACE_NEIGHBORS = Query(
    name="interface_neighbors",
    category="Topology",
    summary="What is at the far end of one interface's link.",
    params=InterfaceNeighborsParams,
    row=LinkRow,
    community=True,
    cypher=_LINK_FROM_DEVICE + "WHERE d.id = $device AND i.name = $interface " + _LINK_COLUMNS,
)


def _kept_edges(ctx: QueryContext, params: Any) -> list[dict[str, Any]] | None:
    """The links from the rows the writer keeps (None on a replica, or while they cannot be
    vouched for: the store is read then)."""
    links = kept(ctx.engine, LinkRows)
    return None if links is None else links.answer(params.site, params.min_confidence)


TOPOLOGY_EDGES = Query(
    name="topology_edges",
    category="Topology",
    summary="Every link once, as device and port at each end, with evidence and confidence.",
    params=TopologyEdgesParams,
    row=EdgeRow,
    community=True,
    cypher=(
        "MATCH (a:Device)-[:HAS_INTERFACE]->(ia:Interface)-[l:CONNECTED_TO]->(ib:Interface)"
        "<-[:HAS_INTERFACE]-(b:Device) "
        "WHERE ($site = '' OR a.site = $site OR b.site = $site) "
        "AND l.confidence >= $min_confidence "
        "RETURN a.id AS a_device, ia.name AS a_interface, b.id AS b_device, "
        "ib.name AS b_interface, l.evidence AS evidence, l.confidence AS confidence "
        "ORDER BY a_device, a_interface, b_device, b_interface"
    ),
    kept=_kept_edges,
)

_HOP = (
    "MATCH (a:Device)-[:HAS_INTERFACE]->(:Interface)-[:CONNECTED_TO]-(:Interface)"
    "<-[:HAS_INTERFACE]-(b:Device) WHERE a.id IN $frontier "
    "RETURN DISTINCT a.id AS src, b.id AS dst"
)
_DEVICES = (
    "MATCH (d:Device) WHERE d.id IN $ids "
    "RETURN d.id AS device, d.managed AS managed, d.role AS role, d.site AS site"
)


async def _neighborhood(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    """Breadth-first from the device, one query per hop over the frontier only."""
    centre = await ctx.store.execute(_DEVICES, {"ids": [params.device]})
    if not centre:
        return []
    hops: dict[str, int] = {params.device: 0}
    via: dict[str, str | None] = {params.device: None}
    frontier = [params.device]
    for depth in range(1, params.depth + 1):
        if not frontier:
            break
        parents: dict[str, set[str]] = defaultdict(set)
        for edge in await ctx.store.execute(_HOP, {"frontier": frontier}):
            if edge["dst"] not in hops:
                parents[edge["dst"]].add(edge["src"])
        for device, sources in parents.items():
            hops[device], via[device] = depth, min(sources)
        frontier = sorted(parents)
    found = centre + await ctx.store.execute(_DEVICES, {"ids": sorted(set(hops) - {params.device})})
    rows = [{**row, "hops": hops[row["device"]], "via": via[row["device"]]} for row in found]
    columns = ("device", "hops", "via", "managed", "role", "site")
    return ordered(({c: row[c] for c in columns} for row in rows), "hops", "device")


TOPOLOGY_NEIGHBORHOOD = Query(
    name="topology_neighborhood",
    category="Topology",
    summary="Every device within N hops of a device, with its distance and the hop before it.",
    params=NeighborhoodParams,
    row=NeighborhoodRow,
    community=True,
    run=_neighborhood,
)


_SIGHTINGS = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface)-[s:SEES]->(n:Device) "
    "WHERE d.managed = true AND ($device = '' OR d.id = $device) "
    "RETURN d.id AS device, i.name AS interface, n.id AS neighbor, n.managed AS neighbor_managed, "
    "s.protocol AS protocol, s.port_id AS port_id, s.confidence AS confidence"
)


async def _lldp_neighbors(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    out = []
    for row in await ctx.store.execute(_LLDP_LINKS, {"device": params.device}):
        protocol, _, ends = str(row["evidence"]).partition("_")
        if protocol not in ("lldp", "cdp") or params.protocol not in ("any", protocol):
            continue
        out.append(
            {**row, "neighbor_port_id": None, "protocol": protocol, "both_ends": ends == "both"}
        )
    for row in await ctx.store.execute(_SIGHTINGS, {"device": params.device}):
        if params.protocol not in ("any", row["protocol"]):
            continue
        out.append(
            {
                "device": row["device"],
                "interface": row["interface"],
                "neighbor": row["neighbor"],
                "neighbor_interface": None,
                "neighbor_port_id": row["port_id"],
                "neighbor_managed": bool(row["neighbor_managed"]),
                "evidence": f"{row['protocol']}_one",
                "confidence": row["confidence"],
                "protocol": row["protocol"],
                "both_ends": False,
            }
        )
    return ordered(out, "device", "interface", "neighbor", "neighbor_interface")


_LLDP_LINKS = (
    _LINK_FROM_DEVICE + "WHERE d.managed = true AND ($device = '' OR d.id = $device) "
    "RETURN d.id AS device, i.name AS interface, n.id AS neighbor, "
    "j.name AS neighbor_interface, n.managed AS neighbor_managed, "
    "l.evidence AS evidence, l.confidence AS confidence"
)

LLDP_NEIGHBORS = Query(
    name="lldp_neighbors",
    category="Topology",
    summary="Neighbour-protocol view: links seen by LLDP or CDP from each collected device, and "
    "neighbours seen on a port whose own port the entry does not name (lower confidence).",
    params=LldpNeighborsParams,
    row=LldpNeighborRow,
    community=True,
    run=_lldp_neighbors,
)

QUERIES = [
    DEVICE_NEIGHBORS,
    INTERFACE_NEIGHBORS,
    TOPOLOGY_EDGES,
    TOPOLOGY_NEIGHBORHOOD,
    LLDP_NEIGHBORS,
]
